// The 'vm' target: boot the profile's kernel in QEMU and run the same bench inside it, on the
// host's filesystem (read-only, under an overlay), writing the result straight into the
// host's result folder (shared read-write). The host then adds what only it knows (the VM's
// accelerator, boot time, console log) to the result.
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../errors.ts';
import { onSignal } from '../lab/cleanup.ts';
import { acquireRunLock } from '../lab/lock.ts';
import { buildPlan, estimatePlanSeconds, resolveVariants } from '../profile/plan.ts';
import type { Profile, VmSettings } from '../profile/schema.ts';
import { newResultDir, readResult, writeResult } from '../result/store.ts';
import type { Result, VmEnvironment } from '../types.ts';
import { detectAccel } from './accel.ts';
import { fetchDebianKernel, kernelFromPath, repoRoot, type VmKernel } from './kernel-fetch.ts';
import { runInVm } from './run-in-vm.ts';

/** Set inside the guest: the bench there runs the trials itself instead of booting another VM. */
export const IN_VM_ENV = 'TUNBENCH_IN_VM';
export const insideVm = (): boolean => process.env[IN_VM_ENV] === '1';

/** vm.kernel: 'debian' (apt package), 'patched' (kernel/build.sh), or a bzImage path. */
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
  const plan = buildPlan(profile);
  const estimate = estimatePlanSeconds(profile, plan);
  // A guest consumer inside the VM is a nested QEMU: under TCG its boot alone takes a minute or more.
  const guestVariants = new Set(resolveVariants(profile).filter((v) => v.workload.consumer.type === 'guest').map((v) => v.name));
  const nestedGuestSeconds = plan.trials.filter((t) => guestVariants.has(t.variant)).length * 150;
  const timeoutSeconds = Math.ceil(vm.bootTimeoutSeconds + estimate * vm.slowdown + nestedGuestSeconds);
  const consoleLog = join(dir, 'vm', 'console.log');
  o.log(`vm: booting ${kernel.release} (${accel.accel}: ${accel.reason}), ${vm.cpus} CPUs, ${vm.memoryMiB} MiB; the run may take up to ${timeoutSeconds} s`);
  const forget = onSignal((sig) => markInterrupted(dir, `interrupted by ${sig} (VM killed)`));
  let exitCode: number;
  let run: Awaited<ReturnType<typeof runInVm>>;
  const retries: string[] = [];
  try {
    for (let attempt = 1; ; attempt++) {
      run = await runInVm({
        kernel,
        accel: accel.accel,
        cpus: vm.cpus,
        memoryMiB: vm.memoryMiB,
        command: [process.execPath, join(repoRoot, 'bin/tunbench.js'), 'bench', '--profile', profileFile, '--out', dir, '--progress', 'plain', '--no-report'],
        cwd: repoRoot,
        outputDir: dir,
        timeoutSeconds,
        consoleLog,
        extraModules: modulesFor(profile, kernel),
        env: { [IN_VM_ENV]: '1' },
        onOutput: (line) => o.log(`vm| ${line}`),
      });
      exitCode = run.exitCode;
      // Seen about once in ten boots of the small patched kernel under TCG: node dies of a
      // signal (SIGSEGV/SIGTRAP) before it has written anything. Nothing was measured, so one
      // fresh boot is safe; it is recorded in the result's warnings.
      if (exitCode > 128 && !existsSync(join(dir, 'result.json')) && attempt === 1) {
        retries.push(`the bench process in the VM died of signal ${exitCode - 128} before it started measuring (console log kept as vm/console-attempt-1.log); the VM was booted again`);
        renameSync(consoleLog, join(dir, 'vm', 'console-attempt-1.log'));
        o.log(`vm: ${retries[retries.length - 1]}`);
        continue;
    }
    break;
    }
  } catch (e) {
    markInterrupted(dir, (e as Error).message);
    throw e;
  } finally {
    forget();
  }
  if (!existsSync(join(dir, 'result.json'))) {
    throw new UserError(`the run inside the VM wrote no result (exit ${exitCode}); console log: ${consoleLog}`);
  }
  const result = readResult(dir);
  const env: VmEnvironment = {
    kernel: { release: kernel.release, source: kernel.source, image: kernel.image, spec: vm.kernel },
    accel: accel.accel,
    accelReason: accel.reason,
    cpus: vm.cpus,
    memoryMiB: vm.memoryMiB,
    bootSeconds: run.bootSeconds,
    totalSeconds: run.totalSeconds,
    consoleLog: 'vm/console.log',
  };
  result.environment.vm = env;
  result.command = o.command;
  result.profileSource = o.profileSource;
  result.warnings.push(...retries);
  if (accel.accel === 'tcg') {
    result.warnings.unshift(`the VM ran under TCG (QEMU's emulator: ${accel.reason}): absolute rates are emulated and far below real hardware; compare variants within this run only`);
  }
  writeResult(dir, result);
  return { result, dir, exitCode };
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
