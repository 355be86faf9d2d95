// Driver of the C sink (sink/tunbench-sink): started inside the lab namespace, it attaches
// to the tap's queue(s) and reads; SIGUSR1 asks for a snapshot line, SIGTERM for the final one.
// A snapshot that does not come within SNAPSHOT_TIMEOUT_MS is asked for once more before the
// trial fails (a transient stall: the reader pinned on a CPU a flood keeps busy); its
// timestamp (CLOCK_MONOTONIC, as process.hrtime) tells a late answer to an earlier request
// from the one asked for. A sink that ignores SIGTERM is killed by execa after
// STOP_TIMEOUT_MS (forceKillAfterDelay).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { UserError } from '../../errors.ts';
import { assertLabNamespace } from '../../lab/lab.ts';
import type { SinkOptions } from '../../profile/schema.ts';
import type { ConsumerReport } from '../../types.ts';

/** How long a snapshot may take before it is asked for again (once). */
export const SNAPSHOT_TIMEOUT_MS = 2000;
/** How long the sink may take to exit after SIGTERM before execa kills it. */
export const STOP_TIMEOUT_MS = 3000;

export function sinkBinaryPath(): string {
  return resolve(fileURLToPath(new URL('../../../sink/tunbench-sink', import.meta.url)));
}

export interface SinkSnapshot {
  tNs: number;
  packets: number;
  bytes: number;
  perQueue: number[];
}

export interface RunningSink {
  pid: number;
  snapshot(): Promise<SinkSnapshot>;
  stop(): Promise<ConsumerReport>;
  exited: Promise<void>;
}

export interface StartSinkOptions {
  netns: string;
  dev: string;
  queues: number;
  options: SinkOptions;
  /** Resolved CPU for queue 0 (queue i on cpu + i), or null for no pinning. */
  cpu: number | null;
  /** tap.steering 'cpu': the sink attaches a steering program, queue = sending CPU % queues. */
  steerCpu?: boolean;
  binary?: string;
}

interface SinkLine {
  event: 'ready' | 'snapshot' | 'final';
  pid?: number;
  t_ns?: number;
  seconds?: number;
  packets?: number;
  bytes?: number;
  perQueue?: number[];
}

export function sinkArgs(o: StartSinkOptions): string[] {
  const s = o.options;
  const args = ['--dev', o.dev, '--queues', String(o.queues), '--mode', s.mode, '--batch', String(s.batch), '--delay-ns', String(s.delayNs), '--cpu', String(o.cpu ?? -1)];
  if (o.queues > 1) args.push('--multi-queue');
  if (o.steerCpu) args.push('--steer-cpu');
  return args;
}

export async function startSink(o: StartSinkOptions): Promise<RunningSink> {
  assertLabNamespace(o.netns);
  const binary = o.binary ?? sinkBinaryPath();
  if (!existsSync(binary)) throw new UserError(`the sink consumer is not built (${binary} missing)`, { hint: 'run the set-up step: bash scripts/setup.sh (or make -C sink)' });
  const command = ['ip', 'netns', 'exec', o.netns, binary, ...sinkArgs(o)];
  const proc = execa(command[0]!, command.slice(1), { reject: false, stdin: 'ignore', stderr: 'pipe', buffer: false, forceKillAfterDelay: STOP_TIMEOUT_MS });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  // Each waiter takes the first line it accepts; lines nobody waits for are dropped.
  const waiting: Array<(l: SinkLine) => boolean> = [];
  let final: SinkLine | null = null;
  const lines = createInterface({ input: proc.stdout! });
  lines.on('line', (text) => {
    let l: SinkLine;
    try {
      l = JSON.parse(text) as SinkLine;
    } catch {
      return;
    }
    if (l.event === 'final') final = l;
    const i = waiting.findIndex((w) => w(l));
    if (i >= 0) waiting.splice(i, 1);
  });
  const exited = proc.then(() => undefined);
  /** The next line `accept` takes; rejects after timeoutMs (error.timedOut) or when the sink exits. */
  const nextLine = (what: string, timeoutMs: number, accept: (l: SinkLine) => boolean = () => true) =>
    new Promise<SinkLine>((resolveLine, reject) => {
      const waiter = (l: SinkLine) => {
        if (!accept(l)) return false;
        clearTimeout(timer);
        resolveLine(l);
        return true;
      };
      const timer = setTimeout(() => {
        const i = waiting.indexOf(waiter);
        if (i >= 0) waiting.splice(i, 1);
        reject(Object.assign(new Error(`the sink did not answer (${what}) within ${timeoutMs} ms${stderr ? `: ${stderr.trim()}` : ''}`), { timedOut: true }));
      }, timeoutMs);
      waiting.push(waiter);
      void exited.then(() => {
        clearTimeout(timer);
        if (final && what === 'final') resolveLine(final);
        else reject(new Error(`the sink exited (${what})${stderr ? `: ${stderr.trim()}` : ''}`));
      });
    });

  const ready = await nextLine('ready', 5000).catch((e: unknown) => {
    // At start-up a failure is the machine's or the lab's, the same for every trial.
    throw new UserError((e as Error).message, { hint: 'check the tap exists in the lab namespace and /dev/net/tun works (tunbench doctor)' });
  });
  if (ready.event !== 'ready') throw new UserError(`unexpected first line from the sink: ${JSON.stringify(ready)}`);
  const pid = proc.pid!;
  const snap = (l: SinkLine): SinkSnapshot => ({ tNs: l.t_ns ?? 0, packets: l.packets ?? 0, bytes: l.bytes ?? 0, perQueue: l.perQueue ?? [] });
  let stopping: Promise<ConsumerReport> | null = null;
  return {
    pid,
    exited,
    async snapshot() {
      // Not a snapshot taken before this request: a late answer to a request that timed out.
      const askedNs = Number(process.hrtime.bigint());
      const fresh = (l: SinkLine) => l.event === 'snapshot' && (l.t_ns ?? 0) >= askedNs;
      for (let attempt = 1; ; attempt++) {
        const p = nextLine('snapshot', SNAPSHOT_TIMEOUT_MS, fresh);
        proc.kill('SIGUSR1');
        try {
          return snap(await p);
        } catch (e) {
          if (!(e as { timedOut?: boolean }).timedOut || attempt >= 2) throw e;
          // transient: ask once more
        }
      }
    },
    stop() {
      stopping ??= (async () => {
        const p = nextLine('final', STOP_TIMEOUT_MS + 1000, (l) => l.event === 'final');
        proc.kill('SIGTERM'); // execa sends SIGKILL after STOP_TIMEOUT_MS if it is still there
        const l = await p;
        await exited;
        return { tool: 'sink', packets: l.packets ?? 0, bytes: l.bytes ?? 0, perQueue: l.perQueue ?? [], seconds: l.seconds ?? 0, command } satisfies ConsumerReport;
      })();
      return stopping;
    },
  };
}
