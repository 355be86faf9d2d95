// Analysis boundary types: metrics[] -> summary -> comparison -> gate verdict.
// A report is rendered from these (plus the Result they came from) alone.
import type { MetricName } from '../metrics.ts';
import type { ProbeCost } from './probe-cost.ts';

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
  /** Distribution-free interval of the median from order statistics (median-ci.ts); NaN when
   * n is too small for one at the summary's confidence level (ciNote says so). */
  ciLow: number;
  ciHigh: number;
  /** The interval's real coverage (>= the confidence level; binomial, exact for continuous data); null: no interval. */
  ciCoverage: number | null;
  /** Why there is no interval; '' when there is one. */
  ciNote: string;
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
  /** What the probes cost on every side, against probes off (twins or a calibration); absent: not measured. */
  probeCost?: ProbeCost;
}

export interface Summary {
  confidence: number;
  /** How the intervals of the medians are made. */
  interval: 'order-statistics';
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
  /** paired: rounds of one interleaved run (same repetition number, measured back to back),
   * Wilcoxon signed-rank on the per-round log-ratios; unpaired: Mann-Whitney U. */
  analysis: 'paired' | 'unpaired';
  test: 'wilcoxon-signed-rank' | 'mann-whitney-u';
  /** exact null distribution or normal approximation (ties, large n). */
  method: 'exact' | 'normal';
  /** log: the tests and the interval work on log values (ratios); linear: some value was <= 0,
   * so on values divided by the baseline median (differences relative to it). */
  scale: 'log' | 'linear';
  nBaseline: number;
  nCandidate: number;
  /** Paired: rounds with both sides measured. */
  pairs: number | null;
  /** Hodges-Lehmann estimate of candidate / baseline (paired: from the per-round log-ratios). */
  ratio: number;
  /** Its distribution-free interval at 1 - alpha (test inversion); NaN when none exists at this n. */
  ratioCiLow: number;
  ratioCiHigh: number;
  /** The interval's real coverage; null when there is none. */
  ratioCiCoverage: number | null;
  /** Relative change in the metric's better direction is positive for improvements. */
  changePct: number;
  /** Two-sided p-value of 'no change'. */
  pValue: number;
  /** The effect size beside the p-value: Cliff's delta (unpaired) or the matched-pairs
   * rank-biserial correlation (paired), candidate against baseline, in [-1, 1]. */
  effectSize: { measure: 'cliffs-delta' | 'rank-biserial'; value: number };
  /** One-sided p of 'worse by no more than the noise threshold' / 'better by no more than it'. */
  pWorseThanNoise: number;
  pBetterThanNoise: number;
  /** One-sided p of 'worse by no more than the limit' (Comparison.limit): what the gate tests. */
  pBeyondLimit: number;
  /** The smallest one-sided p the test can give at these sample sizes. */
  smallestP: number;
  /** In the corrected family (Comparison.judgedMetrics): Holm-adjusted 2 min(pWorse, pBetter). */
  judged: boolean;
  pAdjusted: number;
  verdict: Verdict;
  /** The gate's power at these samples (judged metrics, when asked for): how much worse (%, in the
   * metric's worse direction) the estimate would have to be, with this spread, for the gate's
   * one-sided test to fail it; null: no change however large could at these sample sizes. */
  detectableWorsePct?: number | null;
  /** Plain words: why this verdict. */
  reason: string;
}

export interface Comparison {
  kind: 'tunbench-comparison';
  schemaVersion: 2;
  createdAt: string;
  /** Sources: result.json paths or ids. */
  baselineSource: string;
  candidateSource: string;
  noiseThreshold: number;
  alpha: number;
  /** The gate's maxRegression the one-sided pBeyondLimit tests against. */
  limit: number;
  /** Metrics whose verdicts are corrected together (Holm, over these metrics x comparisons). */
  judgedMetrics: MetricName[];
  /** Workload/environment differences between the inputs (recorded when forced). */
  differences: string[];
  forced: boolean;
  summary: Summary;
  comparisons: MetricComparison[];
}

export interface GateTest {
  metric: MetricName;
  baseline: string;
  candidate: string;
  analysis: 'paired' | 'unpaired';
  changePct: number;
  /** One-sided p of 'the regression is at most maxRegression', and Holm-adjusted over the family. */
  p: number;
  pAdjusted: number;
  failed: boolean;
  /** See MetricComparison.detectableWorsePct. */
  detectableWorsePct?: number | null;
}

export interface GateOutcome {
  /** 0 pass, 1 regression, 2 cannot judge. */
  exitCode: 0 | 1 | 2;
  verdict: 'pass' | 'regression' | 'cannot-judge';
  /** The decision rule, in one sentence (the README states the same). */
  rule: string;
  /** One line per gated metric and comparison, worst first (or why it cannot judge). */
  reasons: string[];
  /** What these trials could detect: "with 5 and 5 trials only a drop beyond 57% could fail this gate". */
  power?: string;
  maxRegression: number;
  alpha: number;
  metrics: MetricName[];
  tests: GateTest[];
  comparison: Comparison | null;
  warnings: string[];
}
