// A server process in a lab namespace (the wire's peer): started, awaited until its port is
// bound, stopped with SIGTERM (SIGKILL after 2 s). Used by the iperf3 and sockperf servers.
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { UserError } from '../errors.ts';

export interface RunningPeerServer {
  pid: number;
  port: number;
  /** SIGTERM, then SIGKILL after 2 s; idempotent. */
  stop(): Promise<void>;
  exited: Promise<void>;
}

/** Whether something in NETNS has PORT bound (ss; tcp: listening, udp: bound). */
export async function portBound(netns: string, protocol: 'udp' | 'tcp', port: number): Promise<boolean> {
  const r = await execa('ip', ['netns', 'exec', netns, 'ss', protocol === 'tcp' ? '-Htln' : '-Huln', `sport = :${port}`], { reject: false });
  return r.exitCode === 0 && r.stdout.trim() !== '';
}

/**
 * Run `command` inside NETNS and resolve once PORT is bound; a server that exits or is not bound
 * after 5 s is killed and reported (a UserError naming `name` and what it printed).
 */
export async function startPeerServer(o: { netns: string; name: string; command: string[]; protocol: 'udp' | 'tcp'; port: number; cleanStderr?: (s: string) => string }): Promise<RunningPeerServer> {
  const proc: ResultPromise = execa('ip', ['netns', 'exec', o.netns, ...o.command], { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', buffer: false });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = proc.then(() => undefined);
  const deadline = Date.now() + 5000;
  while (!(await portBound(o.netns, o.protocol, o.port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      await exited;
      const said = (o.cleanStderr ? o.cleanStderr(stderr) : stderr).trim();
      throw new UserError(`the ${o.name} server did not start in ${o.netns}: ${said || 'not listening after 5 s'}`, { hint: 'the peer tap must hold the bind address (createWirePeer)' });
    }
    await sleep(20);
  }
  let stopping: Promise<void> | null = null;
  return {
    pid: proc.pid!,
    port: o.port,
    exited,
    stop() {
      stopping ??= (async () => {
        if (proc.exitCode === null) proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(t);
      })();
      return stopping;
    },
  };
}
