// The 'vm' target: boot the profile's kernel in QEMU and run the same bench inside it, on the
// host's filesystem (read-only, under an overlay), writing the result straight into the
// host's result folder (shared read-write). The host then adds what only it knows (the VM's
// accelerator, boot time, console log) to the result.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../errors.ts';
import { onCleanup, onSignal } from '../lab/cleanup.ts';
import { acquireRunLock } from '../lab/lock.ts';
import { resolveVariants } from '../profile/plan.ts';
import type { Profile, VmSettings } from '../profile/schema.ts';
import { newResultDir, writeResult } from '../result/store.ts';
import { readResult } from '../result/read.ts';
import type { Result, VmEnvironment } from '../types.ts';
import { detectAccel } from './accel.ts';
import { fetchDebianKernel, kernelFromPath, repoRoot, type VmKernel } from './kernel-fetch.ts';
import { crashSign, describeCrash } from './crash.ts';
import { buildKernelTree, isKernelTree } from '../kernel/tree-build.ts';
import { runInVm, VmRunError, type VmRunResult } from './run-in-vm.ts';
import { watchdogSeconds } from './watchdog.ts';

/** runInVm's wall-clock limit where the inactivity watchdog (watchdog.ts) guards instead: a week. */
export const NO_WALL_CLOCK_LIMIT = 7 * 24 * 3600;

/** Set inside the guest: the bench there runs the trials itself instead of booting another VM. */
export const IN_VM_ENV = 'TUNBENCH_IN_VM';
export const insideVm = (): boolean => process.env[IN_VM_ENV] === '1';

/** vm.kernel: 'debian' (apt package), 'patched' (kernel/build.sh), a kernel source tree (built), or a bzImage path. */
export async function resolveVmKernel(vm: Pick<VmSettings, 'kernel' | 'modulesDir'>, log: (s: string) => void = () => undefined): Promise<VmKernel> {
  if (vm.kernel === 'debian') {
    log("vm: kernel: Debian's linux-image package (fetched once into .cache/vm)");
    return fetchDebianKernel();
  }
  if (vm.kernel === 'patched') {
    log('vm: kernel: the patched tun kernel (kernel/build.sh; a cold build takes about 5 minutes)');
    const r = await execa('bash', [join(repoRoot, 'kernel/build.sh')], { reject: false, all: true });
    const image = r.stdout.trim().split('\n').at(-1) ?? '';
    if (r.exitCode !== 0 || !existsSync(image)) {
      throw new UserError(`kernel/build.sh failed (exit ${r.exitCode}): ${(r.all ?? '').trim().split('\n').slice(-3).join(' | ')}`, { hint: 'run bash kernel/build.sh by hand to see the whole log' });
    }
    return kernelFromPath(image, null);
  }
  if (isKernelTree(vm.kernel)) {
    log(`vm: kernel: the source tree ${vm.kernel} (tunbench kernel build: cached by commit, diff and fragment)`);
    const built = await buildKernelTree(vm.kernel, { log: (l) => log(`vm: kernel build: ${l}`) });
    log(`vm: kernel: ${built.release} ${built.cached ? 'from the cache' : `built in ${built.seconds.toFixed(0)} s`}: ${built.image}`);
    return kernelFromPath(built.image, null);
  }
  return kernelFromPath(vm.kernel, vm.modulesDir ?? null);
}

/** Modules the guest must load at boot for this profile (only for kernels with loadable modules). */
export function modulesFor(profile: Profile, kernel: VmKernel): string[] {
  if (!kernel.modulesDir) return [];
  const mods = new Set<string>();
  for (const v of resolveVariants(profile)) {
    if (v.workload.generator.type === 'pktgen') mods.add('pktgen');
    if (v.workload.consumer.type === 'guest') mods.add('virtio_net');
  }
  return [...mods];
}

export interface VmBenchOptions {
  profile: Profile;
  out?: string;
  /** Recorded in the result: the host's command line and profile file (the guest sees a copy). */
  command: string[];
  profileSource: string;
  log: (line: string) => void;
}

export async function runProfileInVm(o: VmBenchOptions): Promise<{ result: Result; dir: string; exitCode: number }> {
  // One run at a time on this host, VM or not: a second run would share its CPUs.
  const releaseLock = acquireRunLock();
  try {
    return await runLocked(o);
  } finally {
    releaseLock();
  }
}

async function runLocked(o: VmBenchOptions): Promise<{ result: Result; dir: string; exitCode: number }> {
  const { profile } = o;
  const vm = profile.vm;
  const kernel = await resolveVmKernel(vm, o.log);
  const accel = vm.accel === 'auto' ? await detectAccel(kernel) : { accel: vm.accel, reason: 'set by the profile (vm.accel)' };
  const { dir } = newResultDir(profile.name, o.out);
  mkdirSync(join(dir, 'vm'), { recursive: true });
  const profileFile = join(dir, 'vm', 'profile.json');
  writeFileSync(profileFile, `${JSON.stringify(profile, null, 2)}\n`);
  const watchdog = watchdogSeconds(profile, resolveVariants(profile));
  const consoleLog = join(dir, 'vm', 'console.log');
  o.log(`vm: booting ${kernel.release} (${accel.accel}: ${accel.reason}), ${vm.cpus} CPUs, ${vm.memoryMiB} MiB; a guest silent for ${watchdog} s is killed (inactivity watchdog)`);
  // On SIGINT/SIGTERM/SIGHUP the cleanups run newest first: QEMU's (registered by runQemu, so
  // later than this one) kills the VM and waits for it, then this one marks the result.
  let signal: NodeJS.Signals | null = null;
  const forgetSignal = onSignal((sig) => { signal = sig; });
  const forgetCleanup = onCleanup('vm result: mark interrupted', async () => markInterrupted(dir, `interrupted by ${signal ?? 'a signal'} (VM killed)`));
  const warnings: string[] = [];
  const warn = (m: string): void => { if (!warnings.includes(m)) { warnings.push(m); o.log(`vm: warning: ${m}`); } };
  const failures: string[] = [];
  let notRetried: string | null = null;
  let run: VmRunResult;
  try {
    for (let attempt = 1; ; attempt++) {
      let error: VmRunError | null = null;
      let ran: VmRunResult | null = null;
      try {
        ran = await runInVm({
          kernel,
          accel: accel.accel,
          cpus: vm.cpus,
          memoryMiB: vm.memoryMiB,
          command: [process.execPath, join(repoRoot, 'bin/tunbench.js'), 'bench', '--profile', profileFile, '--out', dir, '--progress', 'plain', '--no-report'],
          cwd: repoRoot,
          outputDir: dir,
          // No wall-clock limit for the run: the inactivity watchdog ends a guest that hangs.
          timeoutSeconds: NO_WALL_CLOCK_LIMIT,
          idle: { seconds: () => watchdog },
          ...(vm.cmdline ? { cmdline: vm.cmdline } : {}),
          consoleLog,
          extraModules: modulesFor(profile, kernel),
          env: { [IN_VM_ENV]: '1' },
          onOutput: (line) => o.log(`vm| ${line}`),
          onWarning: warn,
        });
      } catch (e) {
        if (!(e instanceof VmRunError)) throw e;
        error = e;
      }
      const measured = measuredTrials(dir);
      const failure = await failureBeforeMeasuring({ run: ran, error, measured, consoleText: readText(consoleLog), resultWritten: existsSync(join(dir, 'result.json')) });
      if (failure === null) {
        // Success, or a failure after trials were measured: those are kept (the guest rewrote
        // result.json after each trial), a VM error still ends the run with exit 2.
        if (error) throw error;
        run = ran!;
        break;
      }
      if (failure.retry && attempt === 1) {
        failures.push(failure.reason);
        renameSync(consoleLog, join(dir, 'vm', 'console-attempt-1.log'));
        if (existsSync(join(dir, 'result.json'))) renameSync(join(dir, 'result.json'), join(dir, 'vm', 'result-attempt-1.json'));
        warn(`the VM run failed before any trial was measured: ${failure.reason}; the VM was booted once more (first console kept as vm/console-attempt-1.log)`);
        continue;
      }
      if (failure.retry) {
        const where = `console logs: ${join(dir, 'vm', 'console-attempt-1.log')} and ${consoleLog}`;
        throw new UserError(`the VM run failed twice before any trial was measured: first ${failures[0]}; then ${failure.reason} (${where})`, {
          hint: 'read the console logs; under TCG an old QEMU corrupts guests (the result\'s environment.vm.tcgThreading and tunbench doctor show the QEMU version)',
        });
      }
      // Not worth another boot (the guest's tunbench refused the profile, a file is broken on
      // the host too): ends like a run that ended by itself.
      if (error) throw error;
      run = ran!;
      notRetried = failure.reason;
      break;
    }
  } catch (e) {
    markInterrupted(dir, (e as Error).message);
    throw e;
  } finally {
    forgetCleanup();
    forgetSignal();
  }
  if (!existsSync(join(dir, 'result.json'))) {
    throw new UserError(`the run inside the VM wrote no result (${notRetried ?? `exit ${run.exitCode}`}); console log: ${consoleLog}`);
  }
  const result = readResult(dir);
  const env: VmEnvironment = {
    kernel: { release: kernel.release, source: kernel.source, image: kernel.image, spec: vm.kernel },
    accel: accel.accel,
    accelReason: accel.reason,
    ...(run.tcgThreading ? { tcgThreading: run.tcgThreading } : {}),
    cpus: vm.cpus,
    memoryMiB: vm.memoryMiB,
    bootSeconds: run.bootSeconds,
    totalSeconds: run.totalSeconds,
    consoleLog: 'vm/console.log',
    watchdogSeconds: watchdog,
    ...(vm.cmdline ? { cmdline: vm.cmdline } : {}),
  };
  result.environment.vm = env;
  result.command = o.command;
  result.profileSource = o.profileSource;
  result.warnings.push(...warnings);
  if (accel.accel === 'tcg') {
    result.warnings.unshift(`the VM ran under TCG (QEMU's emulator: ${accel.reason}): absolute rates are emulated and far below real hardware; compare variants within this run only`);
  }
  writeResult(dir, result);
  return { result, dir, exitCode: run.exitCode };
}

/** Trials the guest recorded as measured (status ok) in result.json; 0 without one. */
export function measuredTrials(dir: string): number {
  try {
    const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Partial<Result>;
    return (r.variants ?? []).flatMap((v) => v.trials ?? []).filter((t) => t.status === 'ok').length;
  } catch { return 0; }
}

const readText = (file: string): string => { try { return readFileSync(file, 'latin1'); } catch { return ''; } };

/** The last message the guest's tunbench printed as a user error ("tunbench: ..."), if any. */
function guestUserError(consoleText: string): string | null {
  const lines = consoleText.split('\n').map((l) => l.replace(/\r/g, '').trim()).filter((l) => /^tunbench: /.test(l) && !/received: saving/.test(l));
  return lines.at(-1)?.replace(/^tunbench: /, '') ?? null;
}

/**
 * Did the VM run fail before a trial was measured, and is one more boot worth it? null when
 * it succeeded or trials were measured (those are kept). Every way a crash ends the run
 * counts: the bench killed by a signal, a non-zero exit with no measured trial, a guest
 * kernel panic or oops, a segfault, wasm "memory access out of bounds", a SyntaxError in a
 * file that parses on the host, QEMU dying, a timeout. Not retried: a SyntaxError in a file
 * that is broken on the host too, QEMU refusing to start (its own error line before the guest
 * booted), and the guest's tunbench refusing the profile (exit 2 with its message and no crash
 * on the console): they would fail the same way again.
 */
export async function failureBeforeMeasuring(o: { run: VmRunResult | null; error: VmRunError | null; measured: number; consoleText: string; resultWritten: boolean }): Promise<{ reason: string; retry: boolean } | null> {
  if (o.measured > 0) return null;
  if (!o.error && o.run && o.run.exitCode === 0 && o.resultWritten) return null;
  const sign = crashSign(o.consoleText);
  const crash = sign ? await describeCrash(sign) : null;
  let what: string;
  if (o.error) what = o.error.message.replace(/ \(console log: [^)]*\)$/, '');
  else {
    const rc = o.run!.exitCode;
    what = rc > 128 ? `the bench in the VM died of signal ${rc - 128} (exit ${rc})` : rc === 0 ? 'the bench in the VM exited 0 but wrote no result.json' : `the bench in the VM exited ${rc} with no trial measured`;
  }
  const reason = crash ? `${what}; ${crash.text}` : what;
  if (crash?.genuine || o.error?.kind === 'qemu-error') return { reason, retry: false };
  const refusal = o.run && o.run.exitCode === 2 && !sign ? guestUserError(o.consoleText) : null;
  if (refusal) return { reason: `${what}: ${refusal}`, retry: false };
  return { reason, retry: true };
}

function markInterrupted(dir: string, reason: string): void {
  if (!existsSync(join(dir, 'result.json'))) return;
  try {
    const r = readResult(dir);
    if (r.status === 'complete') return;
    r.status = 'incomplete';
    r.statusReason = reason;
    r.finishedAt ??= new Date().toISOString();
    writeResult(dir, r);
  } catch {
    /* the result stays as the guest left it */
  }
}
