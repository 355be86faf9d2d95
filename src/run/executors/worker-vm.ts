// One worker VM of a multi-kernel run: booted once, its tunbench `vm-worker` detects the
// kernel's capabilities, then the VM is paused (QMP `stop`: no host CPU, the guest's clock
// stands still) until the host gives it a trial; resumed for that trial only and paused again
// after it. The host writes requests into the channel folder and waits for the response, the
// VM's exit, or the inactivity watchdog (no console line for watchdogSeconds while running).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../errors.ts';
import { writeJsonAtomic } from '../../result/store.ts';
import type { VmSettings } from '../../profile/schema.ts';
import type { Capabilities, PlannedTrial, ProbeBackend, ResolvedVariant, TrialResult, VmEnvironment } from '../../types.ts';
import type { VmKernel } from '../../qemu/kernel-fetch.ts';
import { repoRoot } from '../../qemu/kernel-fetch.ts';
import { connectQmp, type Qmp } from '../../qemu/qmp.ts';
import { runInVm, VmRunError, type VmRunResult } from '../../qemu/run-in-vm.ts';
import { guestCliCommand } from '../../qemu/guest-cli.ts';
import { IN_VM_ENV } from '../../in-vm.ts';
import { channelFiles, type WorkerReady, type WorkerRequest, type WorkerResponse } from './worker-channel.ts';

/** runInVm's wall-clock limit where the inactivity watchdog (watchdog.ts) guards instead: a week. */
const NO_WALL_CLOCK_LIMIT = 7 * 24 * 3600;

export interface WorkerVmOptions {
  name: string;
  vm: VmSettings;
  kernel: VmKernel;
  accel: 'kvm' | 'tcg';
  /** The run's result folder (shared read-write with the guest). */
  dir: string;
  /** The profile as the guest reads it (inside dir). */
  profileFile: string;
  extraModules: string[];
  watchdogSeconds: number;
  log: (line: string) => void;
}

export interface WorkerVm {
  name: string;
  kernel: VmKernel;
  caps: Capabilities;
  /** Run one trial: resume, ask, wait, pause. A throw means the VM cannot go on (it is gone). */
  runTrial(planned: PlannedTrial, variant: ResolvedVariant, backend: ProbeBackend | null, signal: AbortSignal): Promise<TrialResult>;
  /** The trial the guest has answered whose runTrial has not returned yet (its response is on
   * disk while the host pauses the VM), or null: what a signal at that moment must still keep. */
  arrived(): TrialResult | null;
  /** Tell the worker to exit and wait for the VM to power off (killed if it does not). */
  shutdown(): Promise<void>;
  /** How the VM ran so far (for the result's environment). */
  environment(): VmEnvironment;
}

/** A trial the worker could not run at all (its message and hint), with the failed trial record. */
export class WorkerTrialError extends UserError {
  constructor(message: string, opts: { hint?: string }, readonly trial?: TrialResult) {
    super(message, opts);
  }
}

/** The VM ended before its worker was ready: how (VmRunError's kind), and the worker's exit
 * status when it exited (null when QEMU or the guest failed first). */
export class WorkerBootError extends VmRunError {
  constructor(kind: VmRunError['kind'], vmName: string, readonly detail: string, readonly workerExit: number | null, opts: { hint?: string } = {}) {
    super(kind, `the ${vmName} VM ended before its worker was ready: ${detail}`, opts);
  }
}

const exists = (f: string): boolean => existsSync(f);

export async function bootWorkerVm(o: WorkerVmOptions): Promise<WorkerVm> {
  const channel = join(o.dir, 'vm', o.name);
  mkdirSync(channel, { recursive: true });
  const files = channelFiles(channel);
  const consoleLog = join(channel, 'console.log');
  const sockDir = mkdtempSync(join(tmpdir(), 'tbqmp-'));
  const qmpSocket = join(sockDir, 'qmp.sock');
  let paused = false;
  const kill = new AbortController();
  const t0 = performance.now();
  let bootSeconds = NaN;
  const switches = { count: 0, seconds: 0 };
  let tcgThreading: VmRunResult['tcgThreading'] = null;
  const state: { exit: { run: VmRunResult | null; error: Error | null } | null } = { exit: null };
  const cli = await guestCliCommand((m) => o.log(`vm ${o.name}: warning: ${m}`));
  const exited = runInVm({
    kernel: o.kernel,
    accel: o.accel,
    cpus: o.vm.cpus,
    memoryMiB: o.vm.memoryMiB,
    command: [...cli, 'vm-worker', '--channel', channel, '--profile', o.profileFile, '--out', o.dir],
    cwd: repoRoot,
    outputDir: o.dir,
    timeoutSeconds: NO_WALL_CLOCK_LIMIT,
    idle: { seconds: () => o.watchdogSeconds, paused: () => paused },
    signal: kill.signal,
    consoleLog,
    qmpSocket,
    extraModules: o.extraModules,
    env: { [IN_VM_ENV]: '1' },
    ...(o.vm.cmdline ? { cmdline: o.vm.cmdline } : {}),
    onWarning: (m) => o.log(`vm ${o.name}: warning: ${m}`),
    onBooted: (s) => { bootSeconds = s; },
  }).then((run) => { state.exit = { run, error: null }; tcgThreading = run.tcgThreading; }, (error: Error) => { state.exit = { run: null, error }; });
  const ended = (): string => {
    if (!state.exit) return 'running';
    if (state.exit.error) return state.exit.error.message;
    return `the worker exited ${state.exit.run!.exitCode} (console log: ${consoleLog})`;
  };
  let qmp: Qmp | null = null;
  const cleanupSock = (): void => rmSync(sockDir, { recursive: true, force: true });
  try {
    qmp = await connectQmp(qmpSocket);
    while (!exists(files.ready)) {
      if (state.exit) {
        const err = state.exit.error;
        throw new WorkerBootError(err instanceof VmRunError ? err.kind : 'no-exit-status', o.name, ended(), state.exit.run?.exitCode ?? null, err instanceof UserError && err.hint ? { hint: err.hint } : {});
      }
      await sleep(100);
    }
  } catch (e) {
    kill.abort();
    await exited;
    qmp?.close();
    cleanupSock();
    throw e;
  }
  const ready = JSON.parse(readFileSync(files.ready, 'utf8')) as WorkerReady;
  const pause = async (): Promise<void> => { const s = performance.now(); await qmp!.execute('stop'); paused = true; switches.count++; switches.seconds += (performance.now() - s) / 1000; };
  const resume = async (): Promise<void> => { const s = performance.now(); paused = false; await qmp!.execute('cont'); switches.seconds += (performance.now() - s) / 1000; };
  await pause();
  o.log(`vm ${o.name}: ${ready.caps.kernel.release} ready (boot ${bootSeconds.toFixed(0)} s, capabilities ${ready.detectSeconds.toFixed(0)} s); paused`);
  let seq = 0;
  // The trial request in flight (its number and the host's start time), until runTrial returns.
  let inFlight: { n: number; startedAt: string } | null = null;
  const ask = async (req: WorkerRequest, signal: AbortSignal | null): Promise<WorkerResponse | null> => {
    const n = seq++;
    writeJsonAtomic(files.request(n), req);
    await resume();
    while (!exists(files.response(n))) {
      if (state.exit) return null;
      if (signal?.aborted) throw new UserError('interrupted');
      await sleep(50);
    }
    const res = JSON.parse(readFileSync(files.response(n), 'utf8')) as WorkerResponse;
    await pause();
    return res;
  };
  return {
    name: o.name,
    kernel: o.kernel,
    caps: ready.caps,
    async runTrial(planned, variant, backend, signal) {
      if (state.exit) throw new UserError(`the ${o.name} VM is gone: ${ended()}`);
      // The host's clock: a paused guest's clock stands still, so its wall time lags the host's.
      const startedAt = new Date().toISOString();
      inFlight = { n: seq, startedAt };
      const res = await ask({ kind: 'trial', planned, variant, backend }, signal).finally(() => { inFlight = null; });
      if (!res) throw new UserError(`the ${o.name} VM ended during trial ${planned.index}: ${ended()}`, { hint: `read its console log (${consoleLog}); the trials measured before are kept` });
      if (res.kind === 'error') throw new WorkerTrialError(`trial ${planned.index} in the ${o.name} VM: ${res.message}`, res.hint ? { hint: res.hint } : {}, res.trial ? { ...res.trial, startedAt } : undefined);
      return { ...res.trial, startedAt };
    },
    arrived() {
      if (!inFlight || !exists(files.response(inFlight.n))) return null;
      try {
        const res = JSON.parse(readFileSync(files.response(inFlight.n), 'utf8')) as WorkerResponse;
        return res.kind === 'trial' ? { ...res.trial, startedAt: inFlight.startedAt } : null;
      } catch { return null; }
    },
    async shutdown() {
      try {
        if (!state.exit) {
          writeJsonAtomic(files.request(seq++), { kind: 'exit' } satisfies WorkerRequest);
          if (paused) await resume().catch(() => undefined);
          const timer = new AbortController();
          const bound = sleep(60_000, undefined, { signal: timer.signal }).then(() => kill.abort(), () => undefined);
          await Promise.race([exited, bound]);
          timer.abort();
        }
      } finally {
        kill.abort();
        await exited;
        qmp?.close();
        cleanupSock();
      }
    },
    environment(): VmEnvironment {
      return {
        kernel: { release: o.kernel.release, source: o.kernel.source, image: o.kernel.image, spec: o.vm.kernel },
        accel: o.accel,
        accelReason: '',
        ...(tcgThreading ? { tcgThreading } : {}),
        cpus: o.vm.cpus,
        memoryMiB: o.vm.memoryMiB,
        bootSeconds,
        totalSeconds: (performance.now() - t0) / 1000,
        consoleLog: `vm/${o.name}/console.log`,
        ...(o.vm.cmdline ? { cmdline: o.vm.cmdline } : {}),
        switches: { ...switches },
        watchdogSeconds: o.watchdogSeconds,
      };
    },
  };
}

/** Keep a failed first boot's console beside the second one. */
export function keepFirstConsole(dir: string, name: string): string {
  const channel = join(dir, 'vm', name);
  const kept = join(channel, 'console-attempt-1.log');
  if (existsSync(join(channel, 'console.log'))) renameSync(join(channel, 'console.log'), kept);
  rmSync(join(channel, 'ready.json'), { force: true });
  return kept;
}
