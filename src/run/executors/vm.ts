// The VM executor (target: vm), for one kernel or several: each distinct VM (kernel, CPUs,
// memory, command line) is booted once with tunbench's worker inside it (src/run/worker.ts),
// kept up, paused while the others measure, and given one planned trial at a time
// (src/run/executors/worker-vm.ts). A VM that fails before its worker is ready (old QEMUs corrupt TCG
// guests at random) is booted once more. Each variant records the kernel it ran on, that
// kernel's capabilities and the probe backend it used; with backend auto, the best one that
// every kernel of the run offers, so every side pays the same probes.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../errors.ts';
import { onCleanup } from '../../process/cleanup.ts';
import { vmGroups, type VmGroup } from '../../kernel/specs.ts';
import type { Capabilities, VariantEnvironment } from '../../types.ts';
import { detectAccel } from '../../qemu/accel.ts';
import { bootFailure } from '../../qemu/crash.ts';
import type { VmKernel } from '../../qemu/kernel-fetch.ts';
import { VmRunError } from '../../qemu/run-in-vm.ts';
import { modulesFor, resolveVmKernel } from '../../kernel/vm-kernel.ts';
import { watchdogSeconds } from '../../qemu/watchdog.ts';
import { bootWorkerVm, keepFirstConsole, WorkerBootError, type WorkerVm } from './worker-vm.ts';
import type { Executor, RunContext, Started } from '../loop.ts';
import { chooseBackends } from '../../doctor/requirements.ts';
import { checkRequirements } from '../preflight.ts';

const readText = (file: string): string => { try { return readFileSync(file, 'latin1'); } catch { return ''; } };

/** Boot a worker VM; a failure before its worker is ready that is worth it gets one more boot. */
async function bootWithRetry(o: Parameters<typeof bootWorkerVm>[0], warn: (m: string) => void): Promise<WorkerVm> {
  const consoleLog = join(o.dir, 'vm', o.name, 'console.log');
  let first: { reason: string; kept: string } | null = null;
  for (;;) {
    try {
      return await bootWorkerVm(o);
    } catch (e) {
      if (!(e instanceof VmRunError)) throw e;
      const f = await bootFailure({ kind: e.kind, message: e instanceof WorkerBootError ? e.detail : e.message, exitCode: e instanceof WorkerBootError ? e.workerExit : null, consoleText: readText(consoleLog) });
      if (!f.retry) throw new UserError(`the ${o.name} VM failed before its worker was ready: ${f.reason} (console log: ${consoleLog})`, { hint: e.hint ?? 'read the console log' });
      if (first) {
        throw new UserError(`the ${o.name} VM failed twice before any trial was measured: first ${first.reason}; then ${f.reason} (console logs: ${first.kept} and ${consoleLog})`, {
          hint: 'read the console logs; under TCG an old QEMU corrupts guests (the result\'s environment.vm.tcgThreading and tunbench doctor show the QEMU version)',
        });
      }
      first = { reason: f.reason, kept: keepFirstConsole(o.dir, o.name) };
      warn(`the ${o.name} VM failed before any trial was measured: ${f.reason}; it was booted once more (first console kept as ${first.kept})`);
    }
  }
}

export async function startVmExecutor(c: RunContext): Promise<Started> {
  const { profile, variants } = c;
  const groups = vmGroups(variants, profile.vm);
  const { dir } = c.resultDir();
  mkdirSync(join(dir, 'vm'), { recursive: true });
  const profileFile = join(dir, 'vm', 'profile.json');
  writeFileSync(profileFile, `${JSON.stringify(profile, null, 2)}\n`);
  const vms: WorkerVm[] = [];
  let down: Promise<void> | null = null;
  const shutdown = (): Promise<void> => (down ??= Promise.all(vms.map((v) => v.shutdown().catch(() => undefined))).then(() => undefined));
  const forgetVms = onCleanup('worker VMs', shutdown);
  const close = async (): Promise<void> => { await shutdown(); forgetVms(); };
  try {
    // Kernels first (a source tree is built here), so a kernel that cannot be had stops the run before any boot.
    const kernels = new Map<string, VmKernel>();
    for (const g of groups) {
      c.log(`vm ${g.name}: kernel ${g.vm.kernel}`);
      kernels.set(g.name, await resolveVmKernel(g.vm, (l) => c.log(`vm ${g.name}: ${l.replace(/^vm: /, '')}`)));
    }
    const first = kernels.get(groups[0]!.name)!;
    const accel = profile.vm.accel === 'auto' ? await detectAccel(first) : { accel: profile.vm.accel, reason: 'set by the profile (vm.accel)' };
    const watchdog = watchdogSeconds(profile, variants);
    const warnings: string[] = [];
    const warn = (m: string): void => { warnings.push(m); c.log(`vm: warning: ${m}`); };
    const groupOf = new Map<string, VmGroup>();
    for (const g of groups) for (const v of g.variants) groupOf.set(v, g);
    const byName = new Map<string, WorkerVm>();
    // One VM after the other: capability detection attaches trial probes with time limits, which
    // a second VM booting beside it on the same CPUs made miss (measured: tracepoint 'no output').
    // The last group first: the baseline's kernel (the first group; in a series BASE) is the one
    // least likely not to boot, so a candidate that does not boot (a series' newest commits) is
    // found before the others have spent their boots (about 30 s each under TCG) on a run that
    // is then made again without it.
    for (const g of [...groups].reverse()) {
      const kernel = kernels.get(g.name)!;
      c.log(`vm ${g.name}: booting ${kernel.release} (${accel.accel}: ${accel.reason}), ${g.vm.cpus} CPUs, ${g.vm.memoryMiB} MiB${g.vm.cmdline ? `, cmdline '${g.vm.cmdline}'` : ''}; for variants ${g.variants.join(', ')}; a guest silent for ${watchdog} s is killed (inactivity watchdog)`);
      const vm = await bootWithRetry({
        name: g.name, vm: g.vm, kernel, accel: accel.accel, dir, profileFile,
        extraModules: modulesFor(variants.filter((v) => g.variants.includes(v.name)), kernel),
        watchdogSeconds: watchdog, log: c.log,
      }, warn);
      vms.push(vm);
      byName.set(g.name, vm);
    }
    const vmOf = (variant: string): WorkerVm => byName.get(groupOf.get(variant)!.name)!;
    const backends = chooseBackends(variants, c.plan, (v) => vmOf(v).caps, vms.map((v) => v.caps));
    const several = vms.length > 1;
    checkRequirements(profile, variants, backends, (v) => ({ caps: vmOf(v).caps, label: `kernel ${vmOf(v).caps.kernel.release}${several ? ` (VM ${vmOf(v).name})` : ''}` }));
    const environmentOf = (variant: string): VariantEnvironment => {
      const vm = vmOf(variant);
      return { vmName: vm.name, kernel: vm.caps.kernel, tun: vm.caps.tun, capabilities: vm.caps, probeBackend: backends.get(variant) ?? null, vm: { ...vm.environment(), accelReason: accel.reason } };
    };
    // The run-level environment is the baseline's kernel.
    const baseline = variants.find((v) => v.baseline) ?? variants[0]!;
    const executor: Executor = {
      environment: () => {
        const base = environmentOf(baseline.name);
        const caps: Capabilities = base.capabilities;
        return {
          run: { kernel: caps.kernel, tun: caps.tun, host: caps.host, target: 'vm', capabilities: caps, vm: base.vm },
          variants: new Map(variants.map((v) => [v.name, environmentOf(v.name)])),
        };
      },
      execute: (planned, variant, signal) => vmOf(variant.name).runTrial(planned, variant, backends.get(variant.name) ?? null, signal),
      arrived: () => vms.map((v) => v.arrived()).find((t) => t) ?? null,
      finish: shutdown,
    };
    return { executor, caps: vms.map((v) => v.caps), backends, accel: { ...accel, vms: vms.length }, warnings, close };
  } catch (e) {
    await close();
    throw e;
  }
}
