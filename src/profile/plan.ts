// The plan: which trials run, in which order. Variants are interleaved (A B A B ...) so that
// slow drifts of the machine hit every variant alike; 'shuffled' permutes each round with a
// recorded seed. Warm-up trials run first (one round per warm-up) and are marked; probe
// overhead trials (a probes-off copy of each measured trial) sit right beside their twin.
import type { Plan, PlannedTrial, ResolvedVariant } from '../types.ts';
import { seededRandom } from '../random.ts';
import { mergeWorkload } from './load.ts';
import { ProbesSchema, WorkloadSchema, type Profile, type VmOverride, type VmSettings } from './schema.ts';
import { sweepVariants } from './sweep.ts';

/** The profile with its sweep written out as variants (src/profile/sweep.ts: swept variants
 * first, the first swept value the baseline unless an explicit variant is), and no sweep left.
 * A profile without a sweep is returned as it is. */
export function expandSweep(profile: Profile): Profile {
  if (!profile.sweep) return profile;
  const swept = sweepVariants(profile);
  if (swept.problems.length > 0) throw new Error(`invalid sweep (the profile loader reports these): ${swept.problems.join('; ')}`);
  const explicitBaseline = profile.variants.some((v) => v.baseline);
  const variants = [...swept.variants.map((v, i) => ({ ...v, baseline: !explicitBaseline && i === 0 })), ...profile.variants];
  const { sweep: _sweep, ...rest } = profile;
  return { ...rest, variants };
}

/** Variants with their workloads merged onto the profile's; a profile without variants has one, 'default'. */
export function resolveVariants(input: Profile): ResolvedVariant[] {
  const profile = expandSweep(input);
  const onVm = profile.target === 'vm';
  if (profile.variants.length === 0) {
    return [{ name: 'default', baseline: true, workload: profile.workload, probes: profile.probes, ...(onVm ? { vm: profile.vm } : {}) }];
  }
  const anyBaseline = profile.variants.some((v) => v.baseline);
  return profile.variants.map((v, i) => ({
    name: v.name,
    baseline: anyBaseline ? v.baseline : i === 0,
    ...(v.description !== undefined ? { description: v.description } : {}),
    ...(v.compareTo !== undefined ? { compareTo: v.compareTo } : {}),
    workload: WorkloadSchema.parse(mergeWorkload(profile.workload, v.workload)),
    probes: ProbesSchema.parse({ ...profile.probes, ...(v.probes ?? {}) }),
    ...(onVm ? { vm: variantVm(profile.vm, v.vm) } : {}),
  }));
}

/** The profile's vm with a variant's overrides. A variant that names its own kernel does not
 * inherit the profile kernel's modulesDir or name (they belong to that other kernel). */
export function variantVm(vm: VmSettings, o: VmOverride | undefined): VmSettings {
  if (!o) return vm;
  const base: VmSettings = { ...vm };
  if (o.kernel !== undefined && o.kernel !== vm.kernel) {
    delete base.modulesDir;
    delete base.name;
  }
  const set = Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined));
  return { ...base, ...set };
}

function shuffle<T>(items: T[], rand: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export function buildPlan(profile: Profile, variants: ResolvedVariant[] = resolveVariants(profile)): Plan {
  const rand = seededRandom(profile.seed);
  const trials: PlannedTrial[] = [];
  const order = (round: ResolvedVariant[]) => (profile.order === 'shuffled' ? shuffle(round, rand) : round);
  const push = (v: ResolvedVariant, repetition: number, warmup: boolean) => {
    const base = { variant: v.name, repetition, warmup };
    trials.push({ ...base, index: trials.length, probeLevel: v.probes.level, overhead: false });
    if (!warmup && v.probes.measureOverhead && v.probes.level !== 'off') {
      trials.push({ ...base, index: trials.length, probeLevel: 'off', overhead: true });
    }
  };
  for (let w = 0; w < profile.warmupTrials; w++) for (const v of order(variants)) push(v, -(w + 1), true);
  for (let r = 0; r < profile.repetitions; r++) for (const v of order(variants)) push(v, r, false);
  return { seed: profile.seed, order: profile.order, variants, trials };
}

/** The least a plan can take: the ramp-ups and windows of its timed trials. A fixed transfer
 * (workload.transfer) has neither (its window is the transfer, which may end at once), so its
 * trials add nothing here; transferDeadlineSeconds bounds them. The rest (set-up, drain,
 * probes, a VM's emulation) is measured as the run goes (src/eta.ts), not guessed. */
export function minimumPlanSeconds(profile: Profile, plan: Plan): number {
  const transfers = transferVariants(plan);
  return plan.trials.filter((t) => !transfers.has(t.variant)).length * (profile.duration + profile.rampUp);
}

function transferVariants(plan: Plan): Map<string, number> {
  return new Map(plan.variants.flatMap((v) => (v.workload.transfer ? [[v.name, v.workload.transfer.deadlineSeconds] as const] : [])));
}

/** The most the plan's fixed transfers can take in their windows: each transfer trial's deadline
 * (0 without transfers). */
export function transferDeadlineSeconds(plan: Plan): { trials: number; seconds: number } {
  const transfers = transferVariants(plan);
  const trials = plan.trials.filter((t) => transfers.has(t.variant));
  return { trials: trials.length, seconds: trials.reduce((s, t) => s + transfers.get(t.variant)!, 0) };
}
