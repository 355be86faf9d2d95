// Run one QEMU process: console (serial on stdio) written to a file and scanned line by line,
// killed on timeout or after a stretch without console output (the inactivity watchdog), and registered with the run's cleanup (src/process/cleanup.ts), so SIGINT,
// SIGTERM and SIGHUP of this process kill it before the process exits. Always time-bounded.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { UserError } from '../errors.ts';
import { onCleanup } from '../process/cleanup.ts';

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
  /** Inactivity watchdog: kill QEMU when no console line came for seconds() (read each second,
   * so it may change with the guest's phase); the time while paused() does not count. */
  idle?: { seconds: () => number; paused?: () => boolean };
  /** Kill QEMU when aborted. */
  signal?: AbortSignal;
}
export interface QemuRunResult { exitCode: number | null; timedOut: boolean; idleTimedOut: boolean; idleSeconds: number | null; stoppedByLine: boolean; seconds: number }

/** The QEMU binary: qemu-system-x86_64 from PATH, or $TUNBENCH_QEMU (e.g. a QEMU built or unpacked elsewhere). */
export const qemuBinary = process.env.TUNBENCH_QEMU || 'qemu-system-x86_64';

export async function runQemu(o: QemuRunOptions): Promise<QemuRunResult> {
  const start = performance.now();
  const secs = (): number => (performance.now() - start) / 1000;
  const log = createWriteStream(o.consoleLog);
  const argv = [...(o.prefix ?? []), qemuBinary, ...o.args];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const closed = new Promise<number | null>((res, rej) => {
    child.once('error', rej);
    child.once('close', (code) => res(code));
  });
  closed.catch(() => undefined);
  let timedOut = false;
  let stoppedByLine = false;
  const kill = (): void => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); };
  // On a signal the cleanup kills QEMU and waits until it is gone (so it writes nothing more into
  // a result folder it shares) before the process exits.
  const forget = onCleanup(`qemu (pid ${child.pid ?? '?'})`, async () => { kill(); await closed.catch(() => undefined); });
  if (child.pid !== undefined) o.onSpawn?.(child.pid);
  const timer = setTimeout(() => { timedOut = true; kill(); }, o.timeoutSeconds * 1000);
  let lastActivity = performance.now();
  let idleTimedOut = false;
  let idleSeconds: number | null = null;
  const idleTimer = o.idle ? setInterval(() => {
    if (o.idle!.paused?.()) { lastActivity = performance.now(); return; }
    const limit = o.idle!.seconds();
    if ((performance.now() - lastActivity) / 1000 > limit) { idleTimedOut = true; idleSeconds = limit; kill(); }
  }, 1000) : null;
  const onAbort = (): void => kill();
  o.signal?.addEventListener('abort', onAbort);
  if (o.signal?.aborted) kill();
  let graceTimer: NodeJS.Timeout | null = null;
  let pending = '';
  child.stdout.on('data', (b: Buffer) => {
    lastActivity = performance.now();
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
    const exitCode = await closed.catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') throw new UserError(`cannot run ${argv[0]}: not found`, { hint: argv[0] === qemuBinary ? 'apt-get install qemu-system-x86 (bash scripts/setup.sh --test), or set TUNBENCH_QEMU to a qemu-system-x86_64' : `install ${argv[0]}` });
      throw e;
    });
    return { exitCode, timedOut, idleTimedOut, idleSeconds, stoppedByLine, seconds: secs() };
  } finally {
    clearTimeout(timer);
    if (idleTimer) clearInterval(idleTimer);
    o.signal?.removeEventListener('abort', onAbort);
    if (graceTimer) clearTimeout(graceTimer);
    kill();
    forget();
    await new Promise<void>((r) => log.end(() => r()));
  }
}
