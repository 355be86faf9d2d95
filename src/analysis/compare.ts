// summary -> comparison: each candidate against its baseline, per metric: ratio of medians
// with a bootstrap CI, a Mann-Whitney U p-value, and a verdict that needs BOTH significance
// (p < alpha) and a change beyond the noise threshold in the metric's better direction.
import { UserError } from '../errors.ts';
import { METRICS, METRIC_NAMES, type MetricName } from '../metrics.ts';
import type { Result, VariantResult } from '../types.ts';
import { bootstrapRatioCI, ratioOfMedians } from './bootstrap.ts';
import { median } from './descriptive.ts';
import { mannWhitneyU } from './mann-whitney.ts';
import { seededRandom } from './random.ts';
import { metricValues, summarize } from './summary.ts';
import type { Comparison, MetricComparison, Verdict } from './types.ts';

export interface CompareOptions {
  noiseThreshold?: number;
  alpha?: number;
  seed?: number;
  resamples?: number;
  metrics?: MetricName[];
  /** Fewer trials than this on either side: 'insufficient'. */
  minTrials?: number;
}

/** Relative change in the better direction: positive is an improvement. */
export function improvement(metric: MetricName, ratio: number): number {
  if (!Number.isFinite(ratio)) return METRICS[metric].better === 'higher' ? Infinity : -Infinity;
  return METRICS[metric].better === 'higher' ? ratio - 1 : 1 - ratio;
}

/** The smallest two-sided exact Mann-Whitney p-value for sample sizes m and n: 2 / C(m+n, m). */
export function smallestPossibleP(m: number, n: number): number {
  let c = 1;
  for (let i = 1; i <= m; i++) c = (c * (n + i)) / i;
  return Math.min(1, 2 / c);
}

export function compareSamples(metric: MetricName, baseline: { label: string; xs: number[] }, candidate: { label: string; xs: number[] }, o: Required<Omit<CompareOptions, 'metrics'>>): MetricComparison {
  const a = baseline.xs;
  const b = candidate.xs;
  const base = { metric, baseline: baseline.label, candidate: candidate.label };
  if (a.length < o.minTrials || b.length < o.minTrials) {
    return { ...base, baselineMedian: a.length ? median(a) : NaN, candidateMedian: b.length ? median(b) : NaN, ratio: NaN, ratioCiLow: NaN, ratioCiHigh: NaN, changePct: NaN, pValue: NaN, verdict: 'insufficient', reason: `needs at least ${o.minTrials} measured trials on each side (have ${a.length} and ${b.length})` };
  }
  const minP = smallestPossibleP(a.length, b.length);
  if (minP >= o.alpha) {
    let need = Math.min(a.length, b.length);
    while (smallestPossibleP(need, need) >= o.alpha) need++;
    return { ...base, baselineMedian: median(a), candidateMedian: median(b), ratio: ratioOfMedians(a, b), ratioCiLow: NaN, ratioCiHigh: NaN, changePct: improvement(metric, ratioOfMedians(a, b)) * 100, pValue: NaN, verdict: 'insufficient', reason: `with ${a.length} and ${b.length} trials the smallest p-value the Mann-Whitney test can give is ${minP.toPrecision(2)}, not below alpha ${o.alpha}: run at least ${need} trials a side to judge` };
  }
  const ratio = ratioOfMedians(a, b);
  const [lo, hi] = bootstrapRatioCI(a, b, { resamples: o.resamples, confidence: 1 - o.alpha, rand: seededRandom(o.seed) });
  const p = mannWhitneyU(a, b).pValue;
  const change = improvement(metric, ratio);
  const significant = p < o.alpha;
  const beyondNoise = Math.abs(ratio - 1) > o.noiseThreshold || (!Number.isFinite(ratio));
  let verdict: Verdict = 'unchanged';
  let reason: string;
  if (significant && beyondNoise) {
    verdict = change > 0 ? 'improved' : 'regressed';
    reason = `${(Math.abs(ratio - 1) * 100).toFixed(1)}% ${ratio > 1 ? 'higher' : 'lower'} (p=${p.toPrecision(2)} < ${o.alpha}), beyond the ${(o.noiseThreshold * 100).toFixed(1)}% noise threshold; ${METRICS[metric].better} is better`;
  } else if (!significant) {
    reason = `not significant (p=${p.toPrecision(2)} >= ${o.alpha})`;
  } else {
    reason = `significant but within the ${(o.noiseThreshold * 100).toFixed(1)}% noise threshold (${((ratio - 1) * 100).toFixed(2)}%)`;
  }
  return { ...base, baselineMedian: median(a), candidateMedian: median(b), ratio, ratioCiLow: lo, ratioCiHigh: hi, changePct: change * 100, pValue: p, verdict, reason };
}

function defaults(o: CompareOptions, seed: number): Required<Omit<CompareOptions, 'metrics'>> & { metrics: MetricName[] } {
  return { noiseThreshold: o.noiseThreshold ?? 0.02, alpha: o.alpha ?? 0.05, seed: o.seed ?? seed, resamples: o.resamples ?? 10_000, minTrials: o.minTrials ?? 3, metrics: o.metrics ?? METRIC_NAMES };
}

export function baselineVariant(result: Result): VariantResult {
  const v = result.variants.find((x) => x.baseline) ?? result.variants[0];
  if (!v) throw new UserError(`result ${result.id} has no variants`);
  return v;
}

/** Every variant of one result against its baseline variant. */
export function compareWithinResult(result: Result, opts: CompareOptions = {}): Comparison {
  const o = defaults(opts, result.profile.seed);
  const base = baselineVariant(result);
  const comparisons: MetricComparison[] = [];
  for (const v of result.variants) {
    if (v === base) continue;
    const ref = (v.compareTo !== undefined ? result.variants.find((x) => x.name === v.compareTo) : undefined) ?? base;
    for (const m of o.metrics) {
      const a = metricValues(ref.trials, m);
      const b = metricValues(v.trials, m);
      if (a.length === 0 && b.length === 0) continue;
      comparisons.push(compareSamples(m, { label: ref.name, xs: a }, { label: v.name, xs: b }, o));
    }
  }
  return { kind: 'tunbench-comparison', schemaVersion: 1, createdAt: new Date().toISOString(), baselineSource: result.id, candidateSource: result.id, noiseThreshold: o.noiseThreshold, alpha: o.alpha, differences: [], forced: false, summary: summarize(result, { seed: o.seed }), comparisons };
}

function flatten(x: unknown, prefix = ''): Record<string, string> {
  if (x === null || typeof x !== 'object') return { [prefix]: JSON.stringify(x) };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(x as Record<string, unknown>)) Object.assign(out, flatten(v, prefix ? `${prefix}.${k}` : k));
  return out;
}

/** Workload fields that make two results measure different things. */
export function workloadDifferences(a: Result, b: Result): string[] {
  const out: string[] = [];
  const names = new Set([...a.variants.map((v) => v.name), ...b.variants.map((v) => v.name)]);
  for (const n of names) {
    const va = a.variants.find((v) => v.name === n);
    const vb = b.variants.find((v) => v.name === n);
    if (!va || !vb) {
      out.push(`variant ${n}: only in ${va ? 'the baseline' : 'the candidate'}`);
      continue;
    }
    const fa = flatten({ workload: va.workload, probeLevel: va.probes.level });
    const fb = flatten({ workload: vb.workload, probeLevel: vb.probes.level });
    for (const k of new Set([...Object.keys(fa), ...Object.keys(fb)])) {
      if (fa[k] !== fb[k]) out.push(`variant ${n}: ${k}: ${fa[k] ?? 'absent'} vs ${fb[k] ?? 'absent'}`);
    }
  }
  for (const k of ['duration', 'rampUp', 'target'] as const) {
    if (a.profile[k] !== b.profile[k]) out.push(`profile ${k}: ${String(a.profile[k])} vs ${String(b.profile[k])}`);
  }
  return out;
}

/** Environment differences: allowed (comparing kernels is the point), but warned about. */
export function environmentDifferences(a: Result, b: Result): string[] {
  const out: string[] = [];
  const ea = a.environment;
  const eb = b.environment;
  if (ea.kernel.release !== eb.kernel.release) out.push(`kernel ${ea.kernel.release} vs ${eb.kernel.release}`);
  if (ea.host.cpuModel !== eb.host.cpuModel || ea.host.cpus !== eb.host.cpus) out.push(`CPU ${ea.host.cpus} x ${ea.host.cpuModel} vs ${eb.host.cpus} x ${eb.host.cpuModel}`);
  if (ea.tun.queue !== eb.tun.queue) out.push(`tun queue ${ea.tun.queue} vs ${eb.tun.queue}`);
  if (ea.target !== eb.target) out.push(`target ${ea.target} vs ${eb.target}`);
  return out;
}

/** Two saved results, variant by variant (matched by name): labels are A:<variant> and B:<variant>. */
export function compareResults(baseline: Result, candidate: Result, opts: CompareOptions & { force?: boolean; baselineSource?: string; candidateSource?: string } = {}): Comparison {
  const differences = workloadDifferences(baseline, candidate);
  if (differences.length > 0 && !opts.force) {
    throw new UserError(`the results are not comparable (they measured different things):\n  - ${differences.join('\n  - ')}`, { hint: 'compare results of the same profile, or pass --force to compare anyway (the differences are recorded)' });
  }
  const o = defaults(opts, baseline.profile.seed);
  const comparisons: MetricComparison[] = [];
  for (const vb of candidate.variants) {
    const va = baseline.variants.find((v) => v.name === vb.name);
    if (!va) continue;
    for (const m of o.metrics) {
      const a = metricValues(va.trials, m);
      const b = metricValues(vb.trials, m);
      if (a.length === 0 && b.length === 0) continue;
      comparisons.push(compareSamples(m, { label: `A:${va.name}`, xs: a }, { label: `B:${vb.name}`, xs: b }, o));
    }
  }
  const sa = summarize(baseline, { seed: o.seed });
  const sb = summarize(candidate, { seed: o.seed });
  const summary = {
    ...sa,
    variants: [...sa.variants.map((v) => ({ ...v, variant: `A:${v.variant}`, baseline: true })), ...sb.variants.map((v) => ({ ...v, variant: `B:${v.variant}`, baseline: false }))],
  };
  return {
    kind: 'tunbench-comparison', schemaVersion: 1, createdAt: new Date().toISOString(),
    baselineSource: opts.baselineSource ?? baseline.id, candidateSource: opts.candidateSource ?? candidate.id,
    noiseThreshold: o.noiseThreshold, alpha: o.alpha, differences, forced: differences.length > 0, summary, comparisons,
  };
}
