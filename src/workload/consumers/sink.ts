// Driver of the C sink (sink/tunbench-sink): started inside the lab namespace, it attaches
// to the tap's queue(s) and reads; SIGUSR1 asks for a snapshot line, SIGTERM for the final one.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { UserError } from '../../errors.ts';
import { assertLabNamespace } from '../../lab/lab.ts';
import type { SinkOptions } from '../../profile/schema.ts';
import type { ConsumerReport } from '../../types.ts';

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
  return args;
}

export async function startSink(o: StartSinkOptions): Promise<RunningSink> {
  assertLabNamespace(o.netns);
  const binary = o.binary ?? sinkBinaryPath();
  if (!existsSync(binary)) throw new UserError(`the sink consumer is not built (${binary} missing)`, { hint: 'run the set-up step: bash scripts/setup.sh (or make -C sink)' });
  const command = ['ip', 'netns', 'exec', o.netns, binary, ...sinkArgs(o)];
  const proc = execa(command[0]!, command.slice(1), { reject: false, stdin: 'ignore', stderr: 'pipe', buffer: false });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const waiting: Array<(l: SinkLine) => void> = [];
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
    waiting.shift()?.(l);
  });
  const exited = proc.then(() => undefined);
  const nextLine = (what: string, timeoutMs: number) =>
    new Promise<SinkLine>((resolveLine, reject) => {
      const timer = setTimeout(() => reject(new UserError(`the sink did not answer (${what}) within ${timeoutMs} ms${stderr ? `: ${stderr.trim()}` : ''}`)), timeoutMs);
      waiting.push((l) => {
        clearTimeout(timer);
        resolveLine(l);
      });
      void exited.then(() => {
        clearTimeout(timer);
        if (final && what === 'final') resolveLine(final);
        else reject(new UserError(`the sink exited (${what})${stderr ? `: ${stderr.trim()}` : ''}`, { hint: 'check the tap exists in the lab namespace and /dev/net/tun works' }));
      });
    });

  const ready = await nextLine('ready', 5000);
  if (ready.event !== 'ready') throw new UserError(`unexpected first line from the sink: ${JSON.stringify(ready)}`);
  const pid = proc.pid!;
  const snap = (l: SinkLine): SinkSnapshot => ({ tNs: l.t_ns ?? 0, packets: l.packets ?? 0, bytes: l.bytes ?? 0, perQueue: l.perQueue ?? [] });
  let stopping: Promise<ConsumerReport> | null = null;
  return {
    pid,
    exited,
    async snapshot() {
      const p = nextLine('snapshot', 2000);
      proc.kill('SIGUSR1');
      return snap(await p);
    },
    stop() {
      stopping ??= (async () => {
        const p = nextLine('final', 3000);
        proc.kill('SIGTERM');
        const l = await p.catch((e: unknown) => {
          proc.kill('SIGKILL');
          throw e;
        });
        await exited;
        return { tool: 'sink', packets: l.packets ?? 0, bytes: l.bytes ?? 0, perQueue: l.perQueue ?? [], seconds: l.seconds ?? 0, command } satisfies ConsumerReport;
      })();
      return stopping;
    },
  };
}
