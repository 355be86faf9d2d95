// metrics[] -> summary: per variant and metric n, median, mean, stddev, MAD, min, max, the
// distribution-free interval of the median (order statistics, with its real coverage), and
// outliers in plain words; the probe overhead where probes-off twins ran. Only measured
// trials count: status ok, not a warm-up, not a probe-overhead twin.
import { METRIC_NAMES, type MetricName } from '../metrics.ts';
import type { Result, TrialResult, VariantResult } from '../types.ts';
import { mad, mean, median, stddev } from './descriptive.ts';
import { medianCI } from './median-ci.ts';
import { outlierWarnings } from './outliers.ts';
import type { MetricSummary, ProbeOverhead, Summary, VariantSummary } from './types.ts';

export interface SummaryOptions {
  confidence?: number;
  seed?: number;
  /** Ignored (the intervals are no longer bootstrapped); accepted for old callers. */
  resamples?: number;
}

export const isMeasured = (t: TrialResult): boolean => t.status === 'ok' && !t.warmup && !t.overhead;

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

/** rx_pps with probes against the probes-off twins of the same variant (medians). */
export function probeOverhead(v: VariantResult): ProbeOverhead | undefined {
  const on = metricValues(v.trials, 'rx_pps');
  const off = v.trials.filter((t) => t.overhead && t.status === 'ok').map((t) => t.metrics.rx_pps).filter(finite);
  if (on.length === 0 || off.length === 0) return undefined;
  const withProbes = median(on);
  const probesOff = median(off);
  return { level: v.probes.level, withProbes, probesOff, fractionBelow: 1 - withProbes / probesOff, nWithProbes: on.length, nProbesOff: off.length };
}

export function summarize(result: Result, opts: SummaryOptions = {}): Summary {
  const o = { confidence: opts.confidence ?? 0.95, seed: opts.seed ?? result.profile.seed };
  const variants: VariantSummary[] = result.variants.map((v) => {
    const metrics: VariantSummary['metrics'] = {};
    for (const m of METRIC_NAMES) {
      const xs = metricValues(v.trials, m);
      if (xs.length > 0) metrics[m] = summarizeValues(v.name, m, xs, o);
    }
    const overhead = probeOverhead(v);
    return { variant: v.name, baseline: v.baseline, trials: v.trials.filter(isMeasured).length, metrics, ...(overhead ? { probeOverhead: overhead } : {}) };
  });
  return { confidence: o.confidence, interval: 'order-statistics', seed: o.seed, variants };
}
