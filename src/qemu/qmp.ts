// QEMU's machine protocol (QMP) over a unix socket: enough of it to pause and resume a VM.
// `stop` halts the vCPUs and QEMU's virtual clock, so a paused guest takes no host CPU and its
// clock does not see the pause; `cont` resumes it. QEMU is started with
// `-qmp unix:PATH,server=on,wait=off` (qmpArgs). One command at a time; events are skipped.
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.ts';

export const qmpArgs = (socketPath: string): string[] => ['-qmp', `unix:${socketPath},server=on,wait=off`];

export interface Qmp {
  /** Run one command; resolves with its `return`, rejects with QEMU's error. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown>;
  close(): void;
}

/** Connect (retrying while QEMU creates the socket, up to timeoutMs) and negotiate capabilities. */
export async function connectQmp(socketPath: string, timeoutMs = 20_000): Promise<Qmp> {
  const t0 = Date.now();
  let sock: Socket | null = null;
  let lastError = '';
  while (!sock) {
    try {
      sock = await new Promise<Socket>((res, rej) => {
        const s = connect(socketPath);
        s.once('connect', () => res(s));
        s.once('error', rej);
      });
    } catch (e) {
      lastError = (e as Error).message;
      if (Date.now() - t0 > timeoutMs) throw new UserError(`cannot reach QEMU's monitor at ${socketPath}: ${lastError}`);
      await sleep(100);
    }
  }
  const s = sock;
  let buffer = '';
  const waiting: Array<{ resolve: (v: unknown) => void; reject: (e: Error) => void }> = [];
  let greeted: (() => void) | null = null;
  const greeting = new Promise<void>((r) => { greeted = r; });
  let closedError: Error | null = null;
  const failAll = (e: Error): void => { closedError = e; for (const w of waiting.splice(0)) w.reject(e); };
  s.on('data', (b) => {
    buffer += b.toString('utf8');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try { msg = JSON.parse(line) as Record<string, unknown>; } catch { continue; }
      if ('QMP' in msg) { greeted?.(); continue; }
      if ('event' in msg) continue;
      const w = waiting.shift();
      if (!w) continue;
      if ('error' in msg) w.reject(new Error(`QMP: ${JSON.stringify(msg.error)}`));
      else w.resolve(msg.return);
    }
  });
  s.on('error', (e) => failAll(e));
  s.on('close', () => failAll(new Error('QMP: the monitor socket closed (QEMU exited)')));
  const execute = (command: string, args?: Record<string, unknown>): Promise<unknown> => {
    if (closedError) return Promise.reject(closedError);
    return new Promise((resolve, reject) => {
      waiting.push({ resolve, reject });
      s.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    });
  };
  const timer = new AbortController();
  const ok = await Promise.race([greeting.then(() => true), sleep(timeoutMs, false, { signal: timer.signal }).catch(() => false)]);
  timer.abort();
  if (!ok) { s.destroy(); throw new UserError(`QEMU's monitor at ${socketPath} sent no greeting within ${timeoutMs / 1000} s`); }
  await execute('qmp_capabilities');
  return { execute, close: () => s.destroy() };
}
