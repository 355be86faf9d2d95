// metrics[] -> summary: per variant and metric n, median, mean, stddev, MAD, min, max, the
// distribution-free interval of the median (order statistics, with its real coverage), and
// outliers in plain words; what the probes cost on every side (probe-cost.ts). Only measured
// trials count: status ok, not a warm-up, not a probe-overhead twin.
import { METRIC_NAMES, type MetricName } from '../metrics.ts';
import type { Result, TrialResult, VariantResult } from '../types.ts';
import { mad, mean, median, stddev } from './descriptive.ts';
import { medianCI } from './median-ci.ts';
import { outlierWarnings } from './outliers.ts';
import { costFromTwins, costOf, type ProbeCost } from './probe-cost.ts';
import type { MetricSummary, Summary, VariantSummary } from './types.ts';

export interface SummaryOptions {
  confidence?: number;
  seed?: number;
  /** Ignored (the intervals are no longer bootstrapped); accepted for old callers. */
  resamples?: number;
}

export const isMeasured = (t: TrialResult): boolean => t.status === 'ok' && !t.warmup && !t.overhead;

/** A trial's number as the run showed it while running ("[N/total]" in the progress lines), 1-based:
 * every table, chart and warning of a report says "trial N" with this number. (Raw probe files keep
 * the 0-based index in their names: trial-000-... is trial 1.) */
export const trialNumber = (t: Pick<TrialResult, 'index'>): number => t.index + 1;

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function metricValues(trials: readonly TrialResult[], metric: MetricName): number[] {
  return trials.filter(isMeasured).map((t) => t.metrics[metric]).filter(finite);
}

/** Measured values by repetition number (a round of an interleaved run); the first trial of a repetition wins. */
export function metricByRound(trials: readonly TrialResult[], metric: MetricName): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of trials.filter(isMeasured)) {
    const v = t.metrics[metric];
    if (finite(v) && !out.has(t.repetition)) out.set(t.repetition, v);
  }
  return out;
}

export function summarizeValues(variant: string, metric: MetricName, xs: number[], o: { confidence: number }): MetricSummary {
  const ci = medianCI(xs, o.confidence);
  const { outliers, warnings } = outlierWarnings(variant, metric, xs);
  return { metric, n: xs.length, median: median(xs), mean: mean(xs), stddev: stddev(xs), mad: mad(xs), min: Math.min(...xs), max: Math.max(...xs), ciLow: ci.low, ciHigh: ci.high, ciCoverage: ci.coverage, ciNote: ci.note, outliers, warnings };
}

/** What the variant's probes cost on every side: its own probes-off twins, else the run's stored calibration for its level. */
export function probeCostOf(result: Result, v: VariantResult): ProbeCost | undefined {
  const twins = costFromTwins(v);
  if (twins) return twins;
  // A probes-off variant it is compared with, on the same workload in the same run: twins by another name.
  const ref = result.variants.find((x) => x.name === v.compareTo);
  if (v.probes.level !== 'off' && ref && ref.probes.level === 'off' && JSON.stringify(ref.workload) === JSON.stringify(v.workload)) {
    return { ...costOf(v.probes.level, v.trials.filter(isMeasured), ref.trials.filter(isMeasured)), source: 'off-variant', offVariant: ref.name };
  }
  const cal = result.probeCalibration;
  const c = v.probes.level !== 'off' ? cal?.costs[v.probes.level] : undefined;
  return c && cal ? { ...c, source: 'calibration', calibration: { file: cal.file, measuredAt: cal.measuredAt, rounds: cal.rounds } } : undefined;
}

export function summarize(result: Result, opts: SummaryOptions = {}): Summary {
  const o = { confidence: opts.confidence ?? 0.95, seed: opts.seed ?? result.profile.seed };
  const variants: VariantSummary[] = result.variants.map((v) => {
    const metrics: VariantSummary['metrics'] = {};
    for (const m of METRIC_NAMES) {
      const xs = metricValues(v.trials, m);
      if (xs.length > 0) metrics[m] = summarizeValues(v.name, m, xs, o);
    }
    const cost = probeCostOf(result, v);
    return { variant: v.name, baseline: v.baseline, trials: v.trials.filter(isMeasured).length, metrics, ...(cost ? { probeCost: cost } : {}) };
  });
  return { confidence: o.confidence, interval: 'order-statistics', seed: o.seed, variants };
}
