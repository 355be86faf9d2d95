// metrics[] -> summary: per variant and metric n, median, mean, stddev, MAD, min, max, the
// bootstrap CI of the median, and outliers in plain words. Only measured trials count:
// status ok, not a warm-up, not a probe-overhead twin.
import { METRIC_NAMES, type MetricName } from '../metrics.ts';
import type { Result, TrialResult } from '../types.ts';
import { bootstrapMedianCI } from './bootstrap.ts';
import { mad, mean, median, stddev } from './descriptive.ts';
import { outlierWarnings } from './outliers.ts';
import { seededRandom } from './random.ts';
import type { MetricSummary, Summary, VariantSummary } from './types.ts';

export interface SummaryOptions {
  confidence?: number;
  resamples?: number;
  seed?: number;
}

export const isMeasured = (t: TrialResult): boolean => t.status === 'ok' && !t.warmup && !t.overhead;

export function metricValues(trials: readonly TrialResult[], metric: MetricName): number[] {
  return trials.filter(isMeasured).map((t) => t.metrics[metric]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}

export function summarizeValues(variant: string, metric: MetricName, xs: number[], o: Required<SummaryOptions>): MetricSummary {
  const [ciLow, ciHigh] = bootstrapMedianCI(xs, { resamples: o.resamples, confidence: o.confidence, rand: seededRandom(o.seed) });
  const { outliers, warnings } = outlierWarnings(variant, metric, xs);
  return { metric, n: xs.length, median: median(xs), mean: mean(xs), stddev: stddev(xs), mad: mad(xs), min: Math.min(...xs), max: Math.max(...xs), ciLow, ciHigh, outliers, warnings };
}

export function summarize(result: Result, opts: SummaryOptions = {}): Summary {
  const o = { confidence: opts.confidence ?? 0.95, resamples: opts.resamples ?? 10_000, seed: opts.seed ?? result.profile.seed };
  const variants: VariantSummary[] = result.variants.map((v) => {
    const metrics: VariantSummary['metrics'] = {};
    for (const m of METRIC_NAMES) {
      const xs = metricValues(v.trials, m);
      if (xs.length > 0) metrics[m] = summarizeValues(v.name, m, xs, o);
    }
    return { variant: v.name, baseline: v.baseline, trials: v.trials.filter(isMeasured).length, metrics };
  });
  return { confidence: o.confidence, bootstrapResamples: o.resamples, seed: o.seed, variants };
}
