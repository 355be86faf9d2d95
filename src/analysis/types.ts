// Analysis boundary types: metrics[] -> summary -> comparison -> gate verdict.
// A report is rendered from these (plus the Result they came from) alone.
import type { MetricName } from '../metrics.ts';

export interface MetricSummary {
  metric: MetricName;
  /** Trials with a value (warm-ups and failed trials excluded). */
  n: number;
  median: number;
  mean: number;
  stddev: number;
  /** Median absolute deviation (unscaled). */
  mad: number;
  min: number;
  max: number;
  /** Bootstrap confidence interval of the median at the summary's confidence level. */
  ciLow: number;
  ciHigh: number;
  /** Indexes (into the variant's measured trials) of outliers, and plain-words warnings about them. */
  outliers: number[];
  warnings: string[];
}

export interface VariantSummary {
  variant: string;
  baseline: boolean;
  /** Measured (non warm-up, ok) trials. */
  trials: number;
  metrics: Partial<Record<MetricName, MetricSummary>>;
}

export interface Summary {
  confidence: number;
  bootstrapResamples: number;
  seed: number;
  variants: VariantSummary[];
}

export type Verdict = 'improved' | 'regressed' | 'unchanged' | 'insufficient';

export interface MetricComparison {
  metric: MetricName;
  baseline: string;
  candidate: string;
  baselineMedian: number;
  candidateMedian: number;
  /** candidate median / baseline median. */
  ratio: number;
  ratioCiLow: number;
  ratioCiHigh: number;
  /** Relative change in the metric's better direction is positive for improvements. */
  changePct: number;
  pValue: number;
  verdict: Verdict;
  /** Plain words: why this verdict. */
  reason: string;
}

export interface Comparison {
  kind: 'tunbench-comparison';
  schemaVersion: 1;
  createdAt: string;
  /** Sources: result.json paths or ids. */
  baselineSource: string;
  candidateSource: string;
  noiseThreshold: number;
  alpha: number;
  /** Workload/environment differences between the inputs (recorded when forced). */
  differences: string[];
  forced: boolean;
  summary: Summary;
  comparisons: MetricComparison[];
}

export interface GateOutcome {
  /** 0 pass, 1 regression, 2 cannot judge. */
  exitCode: 0 | 1 | 2;
  verdict: 'pass' | 'regression' | 'cannot-judge';
  reasons: string[];
  maxRegression: number;
  metrics: MetricName[];
  comparison: Comparison | null;
  warnings: string[];
}
