// Run one QEMU process: console (serial on stdio) written to a file and scanned line by line,
// killed on timeout and on SIGINT/SIGTERM of this process. Always time-bounded.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

export interface QemuRunOptions {
  args: string[];
  /** Run QEMU through these (e.g. ip netns exec NS taskset -c N); each execs the next, so the pid stays QEMU's. */
  prefix?: string[];
  /** Called once QEMU is spawned. */
  onSpawn?: (pid: number) => void;
  consoleLog: string;
  timeoutSeconds: number;
  /** Called for every console line (CR stripped) with seconds since start; return 'stop' to kill
   * QEMU now, or { stopAfterMs } to kill it then unless it has exited by itself. */
  onLine?: (line: string, seconds: number) => 'stop' | { stopAfterMs: number } | void;
}
export interface QemuRunResult { exitCode: number | null; timedOut: boolean; stoppedByLine: boolean; seconds: number }

export const qemuBinary = 'qemu-system-x86_64';

export async function runQemu(o: QemuRunOptions): Promise<QemuRunResult> {
  const start = performance.now();
  const secs = (): number => (performance.now() - start) / 1000;
  const log = createWriteStream(o.consoleLog);
  const argv = [...(o.prefix ?? []), qemuBinary, ...o.args];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) o.onSpawn?.(child.pid);
  let timedOut = false;
  let stoppedByLine = false;
  const kill = (): void => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); };
  const onSignal = (sig: NodeJS.Signals): void => { kill(); process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); process.kill(process.pid, sig); };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const timer = setTimeout(() => { timedOut = true; kill(); }, o.timeoutSeconds * 1000);
  let graceTimer: NodeJS.Timeout | null = null;
  let pending = '';
  child.stdout.on('data', (b: Buffer) => {
    log.write(b);
    pending += b.toString('latin1');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const l of lines) {
      const r = o.onLine?.(l.replace(/\r/g, ''), secs());
      if (r === 'stop') { stoppedByLine = true; kill(); }
      else if (r && !graceTimer) graceTimer = setTimeout(() => { stoppedByLine = true; kill(); }, r.stopAfterMs);
    }
  });
  child.stderr.on('data', (b: Buffer) => log.write(b));
  try {
    const exitCode = await new Promise<number | null>((res, rej) => {
      child.once('error', rej);
      child.once('close', (code) => res(code));
    });
    return { exitCode, timedOut, stoppedByLine, seconds: secs() };
  } finally {
    clearTimeout(timer);
    if (graceTimer) clearTimeout(graceTimer);
    kill();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await new Promise<void>((r) => log.end(() => r()));
  }
}
