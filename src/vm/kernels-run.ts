// Several kernels in one run: each distinct VM (kernel, CPUs, memory, command line) booted
// once, kept up, paused while the others measure; the plan's trials interleaved across the
// variants (so across the kernels: A B A B, warm-ups per variant) and run in their VM by its
// worker (worker-vm.ts). The host is the only writer of result.json. Each variant records the
// kernel it ran on, that kernel's capabilities and the probe backend it used; with backend
// auto, the best one that every kernel of the run offers, so both sides pay the same probes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCTOR_HINT, UserError } from '../errors.ts';
import { onCleanup } from '../lab/cleanup.ts';
import { acquireRunLock } from '../lab/lock.ts';
import { missingRequirements } from '../lab/requirements.ts';
import { vmGroups, type VmGroup } from '../profile/kernels.ts';
import { buildPlan, resolveVariants } from '../profile/plan.ts';
import type { Profile } from '../profile/schema.ts';
import { chooseBackend } from '../probes/backends.ts';
import type { ProgressEvent } from '../progress.ts';
import { newResultDir, writeResult } from '../result/store.ts';
import { runPlannedTrials, TOOL_VERSION, type RunOutcome } from '../run.ts';
import { RESULT_SCHEMA_VERSION, type Availability, type ProbeBackend, type Result, type VariantEnvironment } from '../types.ts';
import { detectAccel } from './accel.ts';
import type { VmKernel } from './kernel-fetch.ts';
import { modulesFor, resolveVmKernel } from './target.ts';
import { VmRunError } from './run-in-vm.ts';
import { watchdogSeconds } from './watchdog.ts';
import { bootWorkerVm, keepFirstConsole, type WorkerVm } from './worker-vm.ts';

export interface KernelsRunOptions {
  profile: Profile;
  profileSource: string;
  out?: string;
  command: string[];
  progress: (e: ProgressEvent) => void;
  log: (line: string) => void;
}

/** Does this profile need more than one VM (so a multi-kernel run)? */
export function needsSeveralVms(profile: Profile): boolean {
  return profile.target === 'vm' && vmGroups(resolveVariants(profile), profile.vm).length > 1;
}

/** The full level's attach point per variant: a pinned one, or the best that every kernel offers. */
export function backendsAcrossKernels(variants: ReturnType<typeof resolveVariants>, capsOf: (variant: string) => { probeBackends: Record<ProbeBackend, Availability> }, allCaps: Array<{ probeBackends: Record<ProbeBackend, Availability> }>): Map<string, ProbeBackend | null> {
  const common = {} as Record<ProbeBackend, Availability>;
  for (const b of ['tracepoint', 'kprobe', 'fentry'] as const) {
    const missing = allCaps.map((c) => c.probeBackends[b]).find((a) => !a.available);
    common[b] = missing ? { available: false, reason: `not on every kernel of the run (${missing.reason})` } : { available: true, reason: 'on every kernel of the run' };
  }
  const out = new Map<string, ProbeBackend | null>();
  for (const v of variants) {
    if (v.probes.level !== 'full') { out.set(v.name, null); continue; }
    out.set(v.name, v.probes.backend === 'auto' ? chooseBackend(common, 'auto') : chooseBackend(capsOf(v.name).probeBackends, v.probes.backend));
  }
  return out;
}

async function bootWithRetry(o: Parameters<typeof bootWorkerVm>[0]): Promise<WorkerVm> {
  try {
    return await bootWorkerVm(o);
  } catch (e) {
    // A crash before the worker is ready (the guest's node dying at random on an old QEMU, a
    // boot that hangs) gets one more boot; QEMU refusing to start does not.
    if (!(e instanceof VmRunError) || e.kind === 'qemu-error') throw e;
    const kept = keepFirstConsole(o.dir, o.name);
    o.log(`vm ${o.name}: warning: the VM failed before its worker was ready (${e.message}); booting it once more (first console: ${kept})`);
    return bootWorkerVm(o);
  }
}

export async function runProfileOnKernels(o: KernelsRunOptions): Promise<RunOutcome> {
  const releaseLock = acquireRunLock();
  const forgetLock = onCleanup('run lock', async () => releaseLock());
  const vms: WorkerVm[] = [];
  const forgetVms = onCleanup('worker VMs', async () => { await Promise.all(vms.map((v) => v.shutdown().catch(() => undefined))); });
  try {
    return await runLocked(o, vms);
  } finally {
    await Promise.all(vms.map((v) => v.shutdown().catch(() => undefined)));
    forgetVms();
    forgetLock();
    releaseLock();
  }
}

async function runLocked(o: KernelsRunOptions, vms: WorkerVm[]): Promise<RunOutcome> {
  const { profile } = o;
  const variants = resolveVariants(profile);
  const plan = buildPlan(profile, variants);
  const groups = vmGroups(variants, profile.vm);
  const { dir, id } = newResultDir(profile.name, o.out);
  mkdirSync(join(dir, 'vm'), { recursive: true });
  const profileFile = join(dir, 'vm', 'profile.json');
  writeFileSync(profileFile, `${JSON.stringify(profile, null, 2)}\n`);
  // Kernels first (a source tree is built here), so a kernel that cannot be had stops the run before any boot.
  const kernels = new Map<string, VmKernel>();
  for (const g of groups) {
    o.log(`vm ${g.name}: kernel ${g.vm.kernel}`);
    kernels.set(g.name, await resolveVmKernel(g.vm, (l) => o.log(`vm ${g.name}: ${l.replace(/^vm: /, '')}`)));
  }
  const first = kernels.get(groups[0]!.name)!;
  const accel = profile.vm.accel === 'auto' ? await detectAccel(first) : { accel: profile.vm.accel, reason: 'set by the profile (vm.accel)' };
  const watchdog = watchdogSeconds(profile, variants);
  const groupOf = new Map<string, VmGroup>();
  for (const g of groups) for (const v of g.variants) groupOf.set(v, g);
  const byName = new Map<string, WorkerVm>();
  // One VM after the other: capability detection attaches trial probes with time limits, which
  // a second VM booting beside it on the same CPUs made miss (measured: tracepoint 'no output').
  for (const g of groups) {
    const kernel = kernels.get(g.name)!;
    o.log(`vm ${g.name}: booting ${kernel.release} (${accel.accel}: ${accel.reason}), ${g.vm.cpus} CPUs, ${g.vm.memoryMiB} MiB${g.vm.cmdline ? `, cmdline '${g.vm.cmdline}'` : ''}; for variants ${g.variants.join(', ')}`);
    const vm = await bootWithRetry({
      name: g.name, vm: g.vm, kernel, accel: accel.accel, dir, profileFile,
      extraModules: modulesFor({ ...profile, variants: profile.variants.filter((v) => g.variants.includes(v.name)) }, kernel),
      watchdogSeconds: watchdog, log: o.log,
    });
    vms.push(vm);
    byName.set(g.name, vm);
  }
  const vmOf = (variant: string): WorkerVm => byName.get(groupOf.get(variant)!.name)!;
  const backends = backendsAcrossKernels(variants, (v) => vmOf(v).caps, vms.map((v) => v.caps));
  const missing = variants.flatMap((v) => missingRequirements(vmOf(v.name).caps, [v], backends.get(v.name) ?? null, 'vm').map((m) => `kernel ${vmOf(v.name).caps.kernel.release} (VM ${vmOf(v.name).name}): ${m}`));
  if (missing.length > 0) {
    throw new UserError(`these kernels cannot run profile '${profile.name}':\n  - ${[...new Set(missing)].join('\n  - ')}`, { hint: DOCTOR_HINT });
  }
  const environmentOf = (variant: string): VariantEnvironment => {
    const vm = vmOf(variant);
    return { vmName: vm.name, kernel: vm.caps.kernel, tun: vm.caps.tun, capabilities: vm.caps, probeBackend: backends.get(variant) ?? null, vm: { ...vm.environment(), accelReason: accel.reason } };
  };
  const baseline = variants.find((v) => v.baseline) ?? variants[0]!;
  const baseCaps = vmOf(baseline.name).caps;
  const warnings: string[] = [];
  if (accel.accel === 'tcg') warnings.push(`the VMs ran under TCG (QEMU's emulator: ${accel.reason}): absolute rates are emulated and far below real hardware; compare variants within this run only`);
  const result: Result = {
    schemaVersion: RESULT_SCHEMA_VERSION,
    tool: { name: 'tunbench', version: TOOL_VERSION },
    id,
    status: 'incomplete',
    statusReason: 'running',
    startedAt: new Date().toISOString(),
    finishedAt: null,
    command: o.command,
    profile,
    profileSource: o.profileSource,
    environment: { kernel: baseCaps.kernel, tun: baseCaps.tun, host: baseCaps.host, target: 'vm', capabilities: baseCaps, vm: environmentOf(baseline.name).vm },
    plan,
    variants: variants.map((v) => ({ ...v, environment: environmentOf(v.name), trials: [] })),
    warnings,
  };
  const refreshEnvironment = (): void => {
    result.environment.vm = environmentOf(baseline.name).vm;
    for (const v of result.variants) v.environment = environmentOf(v.name);
  };
  try {
    const outcome = await runPlannedTrials({
      result, dir, plan, variants, profile, progress: o.progress,
      execute: async (planned, variant, signal) => {
        const t = await vmOf(variant.name).runTrial(planned, variant, backends.get(variant.name) ?? null, signal);
        refreshEnvironment();
        return t;
      },
    });
    // The VMs' totals (run time, pauses) are known once they are down.
    await Promise.all(vms.map((v) => v.shutdown()));
    return outcome;
  } finally {
    refreshEnvironment();
    writeResult(dir, result);
  }
}
