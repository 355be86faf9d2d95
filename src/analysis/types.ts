// Analysis boundary types: metrics[] -> summary -> comparison -> gate verdict.
// A report is rendered from these (plus the Result they came from) alone.
import type { MetricName } from '../metrics.ts';
import type { CrossCheck } from '../types.ts';
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

// ---------------------------------------------------------------- the Analysis: everything a report shows that is computed
// One value, computed once (src/analysis/analyze.ts) from one result (a run: its variants
// against their references) or two (compare and gate: A the baseline, B the candidate), and
// saved beside a run's result.json as analysis.json. The report (src/report/) renders it, with
// the facts of the results it came from (environment, profile, command), and computes nothing.

/** A variant as the analysis names it: `label` is its name, prefixed A: or B: when two results are compared. */
export interface AnalysisVariant {
  label: string;
  /** Which result (index into Analysis.sources) and its variant name there. */
  source: number;
  name: string;
  /** The probe level it ran at. */
  probeLevel: string;
  /** Queue capacity in packets (tx_queue_len x queues): occupancy is shown as a fraction of it. */
  capacity: number;
  /** Measured trials (ok, not warm-ups, not probes-off twins). */
  trials: number;
  /** Its probes cost more than PROBE_COST_WARN on some side (summary's probeCost). */
  probeCostWarn: boolean;
  /** A pinned side starved of CPU, in words (noise.ts starvedSides; absent in older analyses). */
  starved?: string[];
}

/** A point of a chart: x and y in the units named by the series. */
export interface ChartPoint { x: number; y: number }

/** Shares of a histogram per variant over one set of bucket starts (each variant's shares sum to 1). */
export interface HistogramShares {
  /** Bucket starts, ascending: a fraction of capacity (occupancy) or ns (latency). */
  buckets: number[];
  variants: { label: string; shares: number[] }[];
}

/** The data of every chart, in plain numbers; src/report/charts.ts gives them titles, axes and colours. */
export interface ChartSeries {
  /** rx_pps, xmit_pps and offered_pps (packets/s) of each measured trial, x = the trial's number as
   * the run numbered it (trialNumber: 1-based, warm-ups and other variants' trials in between).
   * `offered` is absent in analyses saved before it was kept. */
  ppsPerTrial: { label: string; rx: ChartPoint[]; xmit: ChartPoint[]; offered?: ChartPoint[] }[];
  /** Occupancy per packet at enqueue (full level, merged over the measured trials), or else the
   * sampler's ticks binned like it (about 64 buckets over capacity), as a fraction of capacity. */
  occupancy: HistogramShares & { source: 'at-enqueue' | 'sampled' };
  /** The same histograms grouped by queue capacity (one chart each), only variants with probe samples;
   * absent in analyses saved before it was kept (the report then draws `occupancy`). */
  occupancyByCapacity?: (HistogramShares & { capacity: number })[];
  /** Occupancy (fraction of capacity) over the window's seconds, first measured trial with probes, at most 300 points (averaged groups). */
  occupancyTime: { label: string; points: ChartPoint[] }[];
  /** Queueing latency (full level), merged over the measured trials: power-of-two buckets in ns; null when none was measured. */
  latency: HistogramShares | null;
  /** Drops at tun_net_xmit per sample interval over the window's seconds, first measured trial with probes. */
  dropsTime: { label: string; points: ChartPoint[] }[];
  /** Variants with probes whose sampler kept no drops per tick (the counters level: drops are
   * counted over the window from tx_dropped, sampled at full only); absent in older analyses. */
  dropsUnsampled?: string[];
  /** Median contended acquisitions per second of the queue's locks, by side (0 when not measured);
   * `measured`: some measured trial had lock probes (absent in older analyses). */
  lockBySide: { label: string; xmit: number; read: number; measured?: boolean }[];
}

/** One row of the sent/lost accounts (Kpps, medians over the variant's measured trials). */
export interface SentLostRow {
  variant: string;
  /** tap.qdisc asked for, and the kind(s) tc read back in its trials when they differ. */
  qdisc: string;
  generator: string;
  consumer: string;
  sentKpps: number | null;
  deliveredKpps: number | null;
  qdiscDropKpps: number | null;
  tunDropKpps: number | null;
  lostKpps: number | null;
  lostRatio: number | null;
}

/** The verdict at the top of a report: the gate's, or the judged comparisons' counted. */
export interface AnalysisVerdict {
  level: 'pass' | 'fail' | 'info' | 'unknown';
  /** What decided it: the gate, comparisons of the judged metrics, or nothing to compare. */
  basis: 'gate' | 'comparisons' | 'single-variant' | 'too-few-trials';
  /** Judged metrics that regressed / improved, as 'metric of candidate'. */
  regressed: string[];
  improved: string[];
  unchanged: number;
  insufficient: number;
  /** Measured trials over all results. */
  measuredTrials: number;
}

/** analysis.json's schema version (1: the first Analysis; before it, analysis.json held a bare Comparison). */
export const ANALYSIS_SCHEMA_VERSION = 1 as const;

export interface Analysis {
  kind: 'tunbench-analysis';
  schemaVersion: typeof ANALYSIS_SCHEMA_VERSION;
  createdAt: string;
  /** The results analysed: one (a run) or two (A the baseline, B the candidate). */
  sources: { id: string; source: string; status: string }[];
  variants: AnalysisVariant[];
  /** Summaries and comparisons (the same value compare and gate produce). */
  comparison: Comparison;
  /** The gate's verdict when one was judged (its comparison is `comparison` above). */
  gate: Omit<GateOutcome, 'comparison'> | null;
  verdict: AnalysisVerdict;
  /** Sent/lost accounts per variant; null when no trial has qdisc readings (results from before they existed). */
  sentLost: SentLostRow[] | null;
  /** Every probe-versus-counter check of every trial, and how many disagree. */
  crossChecks: { variant: string; trial: number; check: CrossCheck }[];
  crossCheckFailures: number;
  /** "144 of 144 cross-checks exact" (absent in older analyses). */
  crossCheckLine?: string;
  charts: ChartSeries;
  /** Plain-words warnings: run status, failed trials, missing tools, probe costs, outliers, forced differences, the gate's. */
  warnings: string[];
}
