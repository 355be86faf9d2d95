// summary -> comparison: each candidate against its baseline, per metric.
//
// Paired when both sides come from one interleaved run: trials of the two variants with the
// same repetition number are one round, measured back to back, so the machine's drift (another
// job, thermal state, a noisy neighbour) is common to both and cancels in the per-round
// log-ratio. Those ratios go to the Wilcoxon signed-rank test and the Hodges-Lehmann interval
// of their median (Walsh averages). Results of separate runs cannot be paired: Mann-Whitney U
// and the Hodges-Lehmann interval of the shift, and the comparison says 'unpaired'.
//
// Every test and interval is on log values (the ratio candidate / baseline), or, when a metric
// has a value <= 0 (drop_ratio of a run without drops), on values divided by the baseline
// median. Besides the two-sided p of 'no change', each comparison carries one-sided p-values
// of shifted hypotheses: 'worse than the noise threshold', 'better than it', and 'worse than
// the gate's limit' (gate.ts tests that one). A verdict is 'regressed' or 'improved' only when
// the change is shown to exceed the noise threshold (the smaller of the two one-sided p,
// doubled), after Holm's correction over the judged metrics x comparisons; metrics outside
// that family get an uncorrected verdict that says so.
import { UserError } from '../errors.ts';
import { METRICS, METRIC_NAMES, type MetricName } from '../metrics.ts';
import type { Result, TrialResult, VariantResult } from '../types.ts';
import { median } from './descriptive.ts';
import { holmAdjust } from './holm.ts';
import { cliffsDelta, hodgesLehmannShift, mannWhitneySmallestP, mannWhitneyU, mannWhitneyUsesExact } from './mann-whitney.ts';
import type { Alternative } from './ranks.ts';
import { metricByRound, metricValues, summarize } from './summary.ts';
import type { Comparison, MetricComparison, Verdict } from './types.ts';
import { pairedShift, rankBiserial, signedRankSmallestP, wilcoxonSignedRank } from './wilcoxon.ts';
import { averageRanks } from './ranks.ts';

export interface CompareOptions {
  noiseThreshold?: number;
  alpha?: number;
  /** The gate's maxRegression, for pBeyondLimit (default: the baseline profile's gate.maxRegression). */
  limit?: number;
  /** Metrics compared (default all). */
  metrics?: MetricName[];
  /** The corrected family (default: the baseline profile's gate.metrics). */
  judgedMetrics?: MetricName[];
  /** Fewer trials (or rounds) than this on either side: 'insufficient'. */
  minTrials?: number;
  /** Within one result: pair the variants by round (default true). */
  paired?: boolean;
  seed?: number;
  /** Within one result: compare only these (candidate, reference) pairs (e.g. kernel against
   * base kernel); the correction's family is what is compared. Default: every pair. */
  include?: (candidate: VariantResult, reference: VariantResult) => boolean;
  /** Compute each judged metric's detectableWorsePct (the gate's power at these samples). */
  power?: boolean;
  /** Ignored (no bootstrap any more); accepted for old callers. */
  resamples?: number;
}

type Resolved = Required<Omit<CompareOptions, 'resamples' | 'include' | 'power'>>;

/** Relative change in the better direction: positive is an improvement. */
export function improvement(metric: MetricName, ratio: number): number {
  if (!Number.isFinite(ratio)) return METRICS[metric].better === 'higher' ? Infinity : -Infinity;
  return METRICS[metric].better === 'higher' ? ratio - 1 : 1 - ratio;
}

/** The smallest two-sided exact Mann-Whitney p-value for sample sizes m and n: 2 / C(m+n, m). */
export const smallestPossibleP = (m: number, n: number): number => mannWhitneySmallestP(m, n, 'two-sided');

/** Trials a side (rounds when paired) for the smallest one-sided p to fall below `level`;
 * Infinity when no number of trials can (a level of 0 or less: the smallest p underflows to 0,
 * which is never below 0, so this loop used to run forever and hang the gate at --alpha 0). */
export function trialsNeeded(analysis: 'paired' | 'unpaired', level: number): number {
  if (!(level > 0)) return Infinity;
  let n = 2;
  while ((analysis === 'paired' ? signedRankSmallestP(n, 'less') : mannWhitneySmallestP(n, n, 'less')) >= level) {
    if (++n > 100_000) return Infinity;
  }
  return n;
}

interface Side { label: string; xs: number[] }

/** The raw comparison (no family correction yet: the verdict is set by judge()). */
export function compareSamples(metric: MetricName, baseline: Side, candidate: Side, o: Partial<Resolved> & { noiseThreshold: number; alpha: number; powerLevel?: number }, pairs?: [number, number][]): MetricComparison {
  const limit = o.limit ?? 0.05;
  const minTrials = o.minTrials ?? 3;
  const a = pairs ? pairs.map((p) => p[0]) : baseline.xs;
  const b = pairs ? pairs.map((p) => p[1]) : candidate.xs;
  const analysis = pairs ? 'paired' : 'unpaired';
  const higher = METRICS[metric].better === 'higher';
  const ma = a.length ? median(a) : NaN;
  const mb = b.length ? median(b) : NaN;
  const base: MetricComparison = {
    metric, baseline: baseline.label, candidate: candidate.label, baselineMedian: ma, candidateMedian: mb,
    analysis, test: pairs ? 'wilcoxon-signed-rank' : 'mann-whitney-u', method: 'exact', scale: 'log',
    nBaseline: a.length, nCandidate: b.length, pairs: pairs ? pairs.length : null,
    ratio: NaN, ratioCiLow: NaN, ratioCiHigh: NaN, ratioCiCoverage: null, changePct: NaN, pValue: NaN,
    effectSize: { measure: pairs ? 'rank-biserial' : 'cliffs-delta', value: NaN },
    pWorseThanNoise: NaN, pBetterThanNoise: NaN, pBeyondLimit: NaN,
    smallestP: pairs ? signedRankSmallestP(a.length, 'less') : mannWhitneySmallestP(a.length, b.length, 'less'),
    judged: false, pAdjusted: NaN, verdict: 'insufficient', reason: '',
  };
  if (a.length < minTrials || b.length < minTrials) {
    return { ...base, reason: `needs at least ${minTrials} measured ${pairs ? 'rounds with both variants' : 'trials on each side'} (have ${pairs ? pairs.length : `${a.length} and ${b.length}`})` };
  }
  // The scale: log ratios when every value is positive, else relative to the baseline median.
  const positive = [...a, ...b].every((v) => v > 0);
  if (!positive && ma === 0) {
    const allZero = [...a, ...b].every((v) => v === 0);
    return { ...base, scale: 'linear', ratio: allZero ? 1 : Infinity, changePct: allZero ? 0 : improvement(metric, Infinity) * 100, reason: allZero ? 'zero on every trial of both sides' : 'the baseline median is 0: no relative change can be tested' };
  }
  const scale = positive ? 'log' : 'linear';
  const g = (v: number) => (positive ? Math.log(v) : v / ma);
  const back = (d: number) => (positive ? Math.exp(d) : 1 + d);
  // On the transformed scale a change is d = g(candidate) - g(baseline); a ratio r is d = h(r).
  const h = (r: number) => (positive ? Math.log(r) : r - 1);
  const ga = a.map(g);
  const gb = b.map(g);
  const diffs = pairs ? gb.map((v, i) => v - ga[i]!) : [];
  // One-sided p of H1: d < bound ('less') or d > bound ('greater').
  const oneSided = (bound: number, alt: Alternative): number => pairs
    ? wilcoxonSignedRank(diffs.map((d) => d - bound), alt).pValue
    : mannWhitneyU(gb.map((v) => v - bound), ga, alt).pValue;
  const worseBound = (t: number) => h(higher ? 1 - t : 1 + t);
  const betterBound = (t: number) => h(higher ? 1 + t : 1 - t);
  const worseAlt: Alternative = higher ? 'less' : 'greater';
  const betterAlt: Alternative = higher ? 'greater' : 'less';
  const pWorseThanNoise = oneSided(worseBound(o.noiseThreshold), worseAlt);
  const pBetterThanNoise = oneSided(betterBound(o.noiseThreshold), betterAlt);
  const pBeyondLimit = oneSided(worseBound(limit), worseAlt);
  const two = pairs ? wilcoxonSignedRank(diffs, 'two-sided') : mannWhitneyU(gb, ga, 'two-sided');
  const shift = pairs ? pairedShift(diffs, 1 - o.alpha) : hodgesLehmannShift(ga, gb, 1 - o.alpha);
  // Every metric is a count, rate, fraction or time (never below 0), so no ratio is below 0:
  // on the linear scale the shift's interval can reach past -100% (a baseline spread wider than
  // its median) and is cut there.
  const nonNegative = [...a, ...b].every((v) => v >= 0);
  const backCut = (d: number) => (nonNegative ? Math.max(0, back(d)) : back(d));
  const ratio = backCut(shift.estimate);
  // The gate's power at these samples: the samples moved so that their estimate is 'no change',
  // their spread kept, then shifted in the worse direction until the gate's one-sided test of
  // the limit reaches powerLevel (alpha / family size: what Holm asks of the smallest p). The
  // shift found, as a worsening in %, is what these trials could detect.
  let detectableWorsePct: number | null | undefined;
  if (o.powerLevel !== undefined) {
    const level = o.powerLevel;
    const sgn = higher ? -1 : 1;
    const wb = worseBound(limit);
    const est = shift.estimate;
    const pAt = (s: number) => pairs
      ? wilcoxonSignedRank(diffs.map((d) => d - est + sgn * s - wb), worseAlt).pValue
      : mannWhitneyU(gb.map((v) => v - est + sgn * s - wb), ga, worseAlt).pValue;
    let s = Infinity;
    if (base.smallestP < level) {
      const all = [...ga, ...gb, ...diffs];
      let hi = Math.max(1e-6, Math.max(...all) - Math.min(...all)) + Math.abs(wb) + 1e-6;
      while (pAt(hi) >= level && hi < 1e3) hi *= 2;
      if (pAt(hi) < level) {
        let lo = 0;
        for (let i = 0; i < 50; i++) {
          const mid = (lo + hi) / 2;
          if (pAt(mid) < level) hi = mid;
          else lo = mid;
        }
        s = hi;
      }
    }
    detectableWorsePct = s === Infinity ? null : Math.max(0, -improvement(metric, back(sgn * s)) * 100);
  }
  const ties = pairs ? averageRanks(diffs.map(Math.abs)).ties || diffs.some((d) => d === 0) : averageRanks([...ga, ...gb]).ties;
  const exact = pairs ? !ties && diffs.length <= 50 : mannWhitneyUsesExact(a.length, b.length, ties);
  return {
    ...base, scale, method: exact ? 'exact' : 'normal',
    ratio, ratioCiLow: backCut(shift.low), ratioCiHigh: backCut(shift.high), ratioCiCoverage: shift.coverage,
    changePct: improvement(metric, ratio) * 100, pValue: two.pValue,
    effectSize: { measure: base.effectSize.measure, value: pairs ? rankBiserial(diffs) : cliffsDelta(a, b) },
    pWorseThanNoise, pBetterThanNoise, pBeyondLimit, verdict: 'unchanged',
    ...(detectableWorsePct !== undefined ? { detectableWorsePct } : {}),
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Plain words for the estimate: '3.1% lower (95% CI 1.2% to 5.0% lower, paired over 18 rounds)'. */
export function describeChange(c: MetricComparison, alpha: number): string {
  const word = (r: number) => `${pct(Math.abs(r - 1))} ${r >= 1 ? 'higher' : 'lower'}`;
  const ci = Number.isFinite(c.ratioCiLow) ? `${((1 - alpha) * 100).toFixed(0)}% CI ${word(c.ratioCiLow)} to ${word(c.ratioCiHigh)}` : 'too few trials for an interval';
  const how = c.analysis === 'paired' ? `paired over ${c.pairs} rounds` : `unpaired, ${c.nBaseline} vs ${c.nCandidate} trials`;
  return `${word(c.ratio)} (${ci}; ${how}; ${c.effectSize.measure} ${c.effectSize.value.toFixed(2)})`;
}

/** Verdicts: Holm over the judged family, uncorrected (and saying so) outside it. */
export function judge(cs: MetricComparison[], o: { alpha: number; noiseThreshold: number; judgedMetrics: MetricName[] }): MetricComparison[] {
  const testable = (c: MetricComparison) => Number.isFinite(c.pWorseThanNoise);
  const family = cs.filter((c) => testable(c) && o.judgedMetrics.includes(c.metric));
  const pDir = (c: MetricComparison) => Math.min(1, 2 * Math.min(c.pWorseThanNoise, c.pBetterThanNoise));
  const adjusted = holmAdjust(family.map(pDir));
  const k = Math.max(1, family.length);
  return cs.map((c) => {
    if (!testable(c)) return c;
    const judged = o.judgedMetrics.includes(c.metric);
    const pAdjusted = judged ? adjusted[family.indexOf(c)]! : pDir(c);
    const level = judged ? o.alpha / k : o.alpha;
    const noise = pct(o.noiseThreshold);
    const change = describeChange(c, o.alpha);
    if (2 * c.smallestP >= level) {
      const need = trialsNeeded(c.analysis, level / 2);
      return { ...c, judged, pAdjusted, verdict: 'insufficient' as Verdict, reason: `${change}: with ${c.analysis === 'paired' ? `${c.pairs} rounds` : `${c.nBaseline} and ${c.nCandidate} trials`} the smallest p-value the ${c.analysis === 'paired' ? 'signed-rank' : 'Mann-Whitney'} test can give is ${(2 * c.smallestP).toPrecision(2)}, not below ${level.toPrecision(2)} (alpha ${o.alpha}${judged && k > 1 ? ` / ${k} tests` : ''}): run at least ${need} ${c.analysis === 'paired' ? 'rounds' : 'trials a side'} to judge` };
    }
    const corr = judged ? (k > 1 ? `Holm-adjusted over ${k} tests` : 'one test') : 'uncorrected: not a judged metric';
    let verdict: Verdict = 'unchanged';
    let reason: string;
    if (pAdjusted < o.alpha) {
      verdict = c.pWorseThanNoise < c.pBetterThanNoise ? 'regressed' : 'improved';
      reason = `${change}: beyond the ${noise} noise threshold (p=${pAdjusted.toPrecision(2)} < ${o.alpha}, ${corr}); ${METRICS[c.metric].better} is better`;
    } else {
      reason = `${change}: not shown to exceed the ${noise} noise threshold (p=${pAdjusted.toPrecision(2)}, ${corr}; p of no change ${c.pValue.toPrecision(2)})`;
    }
    return { ...c, judged, pAdjusted, verdict, reason };
  });
}

function defaults(o: CompareOptions, r: Result): Resolved {
  const g = (r.profile as { gate?: { metrics?: string[]; maxRegression?: number } }).gate;
  const judged = (o.judgedMetrics ?? (g?.metrics as MetricName[] | undefined) ?? ['xmit_pps', 'rx_pps', 'drop_ratio']).filter((m) => (METRIC_NAMES as string[]).includes(m));
  return {
    noiseThreshold: o.noiseThreshold ?? 0.02, alpha: o.alpha ?? 0.05, limit: o.limit ?? g?.maxRegression ?? 0.05,
    metrics: o.metrics ?? METRIC_NAMES, judgedMetrics: o.metrics ? judged.filter((m) => o.metrics!.includes(m)) : judged,
    minTrials: o.minTrials ?? 3, paired: o.paired ?? true, seed: o.seed ?? r.profile.seed,
  };
}

export function baselineVariant(result: Result): VariantResult {
  const v = result.variants.find((x) => x.baseline) ?? result.variants[0];
  if (!v) throw new UserError(`result ${result.id} has no variants`);
  return v;
}

/** Rounds (repetition numbers) measured on both sides, as [baseline, candidate] pairs. */
export function roundPairs(ref: readonly TrialResult[], cand: readonly TrialResult[], metric: MetricName): [number, number][] {
  const ra = metricByRound(ref, metric);
  const rb = metricByRound(cand, metric);
  return [...ra.keys()].filter((k) => rb.has(k)).sort((x, y) => x - y).map((k) => [ra.get(k)!, rb.get(k)!]);
}

/** Every variant of one result against its baseline variant (paired by round unless paired: false). */
export function compareWithinResult(result: Result, opts: CompareOptions = {}): Comparison {
  const o = defaults(opts, result);
  const base = baselineVariant(result);
  const raw: MetricComparison[] = [];
  const refOf = (v: VariantResult): VariantResult => (v.compareTo !== undefined ? result.variants.find((x) => x.name === v.compareTo) : undefined) ?? base;
  const compared = result.variants.filter((v) => v !== base && (opts.include?.(v, refOf(v)) ?? true));
  const k = Math.max(1, o.judgedMetrics.length * compared.length);
  for (const v of compared) {
    const ref = refOf(v);
    for (const m of o.metrics) {
      const a = metricValues(ref.trials, m);
      const b = metricValues(v.trials, m);
      if (a.length === 0 && b.length === 0) continue;
      // Paired when the rounds are enough for the signed-rank test to reach its level at all
      // (6 rounds for one test at 0.05, 8 for a family of 3): with fewer, the two-sided p can
      // never get there (5 rounds: 2/32), while Mann-Whitney on the same trials can (5 vs 5:
      // 2/252). The choice depends on the design only, never on the values.
      const pairs = o.paired ? roundPairs(ref.trials, v.trials, m) : [];
      const level = o.judgedMetrics.includes(m) ? o.alpha / k : o.alpha;
      const usePairs = pairs.length >= o.minTrials && signedRankSmallestP(pairs.length, 'two-sided') < level;
      const c = compareSamples(m, { label: ref.name, xs: a }, { label: v.name, xs: b }, { ...o, ...(opts.power && o.judgedMetrics.includes(m) ? { powerLevel: level } : {}) }, usePairs ? pairs : undefined);
      raw.push(o.paired && !usePairs && pairs.length > 0 ? { ...c, reason: `unpaired: ${pairs.length} rounds are too few for the signed-rank test to reach ${level.toPrecision(2)}` } : c);
    }
  }
  return {
    kind: 'tunbench-comparison', schemaVersion: 2, createdAt: new Date().toISOString(), baselineSource: result.id, candidateSource: result.id,
    noiseThreshold: o.noiseThreshold, alpha: o.alpha, limit: o.limit, judgedMetrics: o.judgedMetrics, differences: [], forced: false,
    summary: summarize(result, { seed: o.seed, confidence: 1 - o.alpha }), comparisons: judge(raw, o),
  };
}

function flatten(x: unknown, prefix = ''): Record<string, string> {
  if (x === null || typeof x !== 'object') return { [prefix]: JSON.stringify(x) };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(x as Record<string, unknown>)) Object.assign(out, flatten(v, prefix ? `${prefix}.${k}` : k));
  return out;
}

function diffFlat(tag: string, fa: Record<string, string>, fb: Record<string, string>): string[] {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(fa), ...Object.keys(fb)])) if (fa[k] !== fb[k]) out.push(`${tag}${k}: ${fa[k] ?? 'absent'} vs ${fb[k] ?? 'absent'}`);
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
    out.push(...diffFlat(`variant ${n}: `, flatten({ workload: va.workload }), flatten({ workload: vb.workload })));
  }
  for (const k of ['duration', 'rampUp', 'target'] as const) {
    if (a.profile[k] !== b.profile[k]) out.push(`profile ${k}: ${String(a.profile[k])} vs ${String(b.profile[k])}`);
  }
  return out;
}

// What the trials of a variant really ran with, read through small helpers so that fields
// the probe layer adds or drops later are compared only where they exist.
const field = (o: unknown, k: string): unknown => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined);
const valuesOf = (trials: readonly TrialResult[], pick: (t: TrialResult) => unknown): string =>
  [...new Set(trials.filter((t) => t.status === 'ok' && !t.overhead).map(pick).filter((v) => v !== undefined).map((v) => JSON.stringify(v)))].sort().join(', ');

/** Probe configuration: requested (variants[].probes: level, backend, sample interval,
 * cross-validation, ...) and observed in the trials (backend, level, how occupancy was obtained). */
export function probeDifferences(a: Result, b: Result): string[] {
  const out: string[] = [];
  for (const va of a.variants) {
    const vb = b.variants.find((v) => v.name === va.name);
    if (!vb) continue;
    const tag = `variant ${va.name}: `;
    out.push(...diffFlat(tag, flatten({ probes: va.probes }), flatten({ probes: vb.probes })));
    const observed: [string, (t: TrialResult) => unknown][] = [
      ['probe backend (trials)', (t) => field(t, 'probeBackend')],
      ['probe level (trials)', (t) => field(t, 'probeLevel')],
      ['per-packet probe attach point (trials)', (t) => field(field(t.readings, 'probe'), 'backend')],
      ['occupancy source (trials)', (t) => field(field(t.readings, 'probe'), 'occupancySource')],
    ];
    for (const [name, pick] of observed) {
      const x = valuesOf(va.trials, pick);
      const y = valuesOf(vb.trials, pick);
      if (x !== y) out.push(`${tag}${name}: ${x || 'absent'} vs ${y || 'absent'}`);
    }
  }
  return out;
}

/** Everything that makes two results incomparable without --force. */
export const resultDifferences = (a: Result, b: Result): string[] => [...workloadDifferences(a, b), ...probeDifferences(a, b)];

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

/** Two saved results, variant by variant (matched by name): labels are A:<variant> and B:<variant>.
 * Separate runs: always unpaired. */
export function compareResults(baseline: Result, candidate: Result, opts: CompareOptions & { force?: boolean; baselineSource?: string; candidateSource?: string } = {}): Comparison {
  const differences = resultDifferences(baseline, candidate);
  if (differences.length > 0 && !opts.force) {
    throw new UserError(`the results are not comparable (they measured different things):\n  - ${differences.join('\n  - ')}`, { hint: 'compare results of the same profile and probe configuration, or pass --force to compare anyway (the differences are recorded)' });
  }
  const o = defaults(opts, baseline);
  const raw: MetricComparison[] = [];
  const common = candidate.variants.filter((vb) => baseline.variants.some((v) => v.name === vb.name));
  if (common.length === 0) {
    throw new UserError(`the results have no variant in common (A: ${baseline.variants.map((v) => v.name).join(', ') || 'none'}; B: ${candidate.variants.map((v) => v.name).join(', ') || 'none'}): nothing to compare`, { hint: 'variants are matched by name: compare results of profiles whose variants share names' });
  }
  const level = o.alpha / Math.max(1, o.judgedMetrics.length * common.length);
  for (const vb of common) {
    const va = baseline.variants.find((v) => v.name === vb.name)!;
    for (const m of o.metrics) {
      const a = metricValues(va.trials, m);
      const b = metricValues(vb.trials, m);
      if (a.length === 0 && b.length === 0) continue;
      raw.push(compareSamples(m, { label: `A:${va.name}`, xs: a }, { label: `B:${vb.name}`, xs: b }, { ...o, ...(opts.power && o.judgedMetrics.includes(m) ? { powerLevel: level } : {}) }));
    }
  }
  const sa = summarize(baseline, { seed: o.seed, confidence: 1 - o.alpha });
  const sb = summarize(candidate, { seed: o.seed, confidence: 1 - o.alpha });
  const summary = {
    ...sa,
    variants: [...sa.variants.map((v) => ({ ...v, variant: `A:${v.variant}`, baseline: true })), ...sb.variants.map((v) => ({ ...v, variant: `B:${v.variant}`, baseline: false }))],
  };
  return {
    kind: 'tunbench-comparison', schemaVersion: 2, createdAt: new Date().toISOString(),
    baselineSource: opts.baselineSource ?? baseline.id, candidateSource: opts.candidateSource ?? candidate.id,
    noiseThreshold: o.noiseThreshold, alpha: o.alpha, limit: o.limit, judgedMetrics: o.judgedMetrics, differences, forced: differences.length > 0, summary, comparisons: judge(raw, o),
  };
}
