// comparison -> gate verdict: 0 pass, 1 regression, 2 cannot judge.
//
// The rule (README, "The gate's rule"): the gate fails when, for some gated metric of some
// comparison, a one-sided rank test rejects "the regression is at most maxRegression" at level
// alpha after Holm's correction over all gated metrics x comparisons.
//
// Why this rule and not "significant, and the point estimate beyond maxRegression": that one
// fails a true regression of exactly maxRegression half of the time whatever n is, never fails
// a smaller true regression however many trials are run, and its false-alarm rate depends on n.
// Testing the shifted hypothesis instead gives one guarantee that holds at every n: a
// candidate whose true regression is at most maxRegression (including an unchanged one) fails
// with probability at most alpha over the whole family (Holm controls the family-wise error
// under any dependence; xmit_pps and rx_pps are strongly correlated). Power for larger
// regressions grows with n and is simulated by bench/repetitions.ts, which runs this function.
// The test is paired (Wilcoxon signed-rank on per-round log-ratios) when the comparison is
// within one interleaved run, Mann-Whitney U otherwise (compare.ts).
//
// Cannot judge (2): errors, nothing gated measured on both sides, or a gated comparison with
// too few trials for its test ever to reach alpha / (family size).
import type { MetricName } from '../metrics.ts';
import { trialsNeeded } from './compare.ts';
import { holmAdjust } from './holm.ts';
import type { Comparison, GateOutcome, GateTest, MetricComparison } from './types.ts';
import { estimateChangeWords, estimateName, intervalWords } from './verdict-words.ts';

export interface GateInput {
  comparison: Comparison | null;
  maxRegression: number;
  metrics: MetricName[];
  /** Default: the comparison's alpha. */
  alpha?: number;
  errors?: string[];
  warnings?: string[];
}

export const gateRule = (maxRegression: number, alpha: number): string =>
  `fails when, for some gated metric of some comparison, a one-sided rank test (Wilcoxon signed-rank on per-round log-ratios within one interleaved run, Mann-Whitney U between separate runs) rejects "the regression is at most ${(maxRegression * 100).toFixed(1)}%" at alpha ${alpha} after Holm's correction over all gated metrics x comparisons`;

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function gate(i: GateInput): GateOutcome {
  const alpha = i.alpha ?? i.comparison?.alpha ?? 0.05;
  const base = { maxRegression: i.maxRegression, alpha, metrics: i.metrics, rule: gateRule(i.maxRegression, alpha), comparison: i.comparison, warnings: i.warnings ?? [], tests: [] as GateTest[] };
  const cannot = (reasons: string[]): GateOutcome => ({ ...base, exitCode: 2, verdict: 'cannot-judge', reasons });
  if (i.errors && i.errors.length > 0) return cannot(i.errors);
  if (!i.comparison) return cannot(['no comparison']);
  if (Math.abs(i.comparison.limit - i.maxRegression) > 1e-12) return cannot([`the comparison tested a limit of ${pct(i.comparison.limit)}, not the gate's ${pct(i.maxRegression)}: compare again with that limit`]);
  const judged = i.comparison.comparisons.filter((c) => i.metrics.includes(c.metric));
  if (judged.length === 0) return cannot([`none of the gated metrics (${i.metrics.join(', ')}) were measured on both sides`]);
  const k = judged.length;
  const untestable = judged.filter((c) => !Number.isFinite(c.pBeyondLimit) || c.smallestP >= alpha / k);
  if (untestable.length > 0) {
    return cannot(untestable.map((c) => {
      if (!Number.isFinite(c.pBeyondLimit)) return `${c.metric} (${c.candidate} vs ${c.baseline}): ${c.reason}`;
      const need = trialsNeeded(c.analysis, alpha / k);
      return `${c.metric} (${c.candidate} vs ${c.baseline}): with ${c.analysis === 'paired' ? `${c.pairs} rounds` : `${c.nBaseline} and ${c.nCandidate} trials`} the smallest one-sided p the ${c.analysis === 'paired' ? 'signed-rank' : 'Mann-Whitney'} test can give is ${c.smallestP.toPrecision(2)}, not below alpha / ${k} = ${(alpha / k).toPrecision(2)}: run at least ${need} ${c.analysis === 'paired' ? 'rounds' : 'trials a side'}`;
    }));
  }
  const adjusted = holmAdjust(judged.map((c) => c.pBeyondLimit));
  const tests: GateTest[] = judged.map((c, j) => ({ metric: c.metric, baseline: c.baseline, candidate: c.candidate, analysis: c.analysis, changePct: c.changePct, p: c.pBeyondLimit, pAdjusted: adjusted[j]!, failed: adjusted[j]! < alpha, ...(c.detectableWorsePct !== undefined ? { detectableWorsePct: c.detectableWorsePct } : {}) }));
  // One line per gated metric and comparison, worst first: failed ones, then by the smallest p.
  const order = tests.map((t, j) => j).sort((x, y) => Number(tests[y]!.failed) - Number(tests[x]!.failed) || tests[x]!.pAdjusted - tests[y]!.pAdjusted || tests[x]!.changePct - tests[y]!.changePct);
  const line = (j: number) => {
    const t = tests[j]!;
    const c = judged[j]!;
    const ci = intervalWords(c, alpha);
    const who = t.baseline === t.candidate ? t.candidate : `${t.candidate} vs ${t.baseline}`;
    return `${t.failed ? 'FAIL' : 'pass'}  ${who}: ${estimateChangeWords(c)}${ci ? `, ${ci}` : ''} [${estimateName(c)}]; p(worse by more than ${pct(i.maxRegression)}) = ${t.pAdjusted.toPrecision(2)}${k > 1 ? ` Holm-adjusted over ${k}` : ''} ${t.failed ? '<' : '>='} ${alpha}`;
  };
  const failed = tests.filter((t) => t.failed);
  const power = powerLine(judged, i.maxRegression);
  return { ...base, tests, exitCode: failed.length ? 1 : 0, verdict: failed.length ? 'regression' : 'pass', reasons: order.map(line), ...(power ? { power } : {}) };
}

/** "with 5 and 5 trials, at the spread measured here, only a change worse than 6.2% (rx_pps of ring) .. 8.1% could fail this gate". */
export function powerLine(judged: MetricComparison[], maxRegression: number): string | undefined {
  const known = judged.filter((c) => c.detectableWorsePct !== undefined);
  if (known.length === 0) return undefined;
  const sizes = [...new Set(known.map((c) => (c.analysis === 'paired' ? `${c.pairs} paired rounds` : `${c.nBaseline} and ${c.nCandidate} trials`)))];
  const none = known.filter((c) => c.detectableWorsePct === null);
  if (none.length === known.length) return `power: with ${sizes.join(' / ')} no change, however large, could fail this gate: run more trials`;
  const finite = known.filter((c) => typeof c.detectableWorsePct === 'number').sort((x, y) => x.detectableWorsePct! - y.detectableWorsePct!);
  const lo = finite[0]!;
  const hi = finite[finite.length - 1]!;
  const who = (c: MetricComparison) => `${c.metric}${c.candidate === c.baseline ? '' : ` of ${c.candidate}`}`;
  const range = lo === hi || lo.detectableWorsePct!.toFixed(1) === hi.detectableWorsePct!.toFixed(1)
    ? `${lo.detectableWorsePct!.toFixed(1)}%`
    : `${lo.detectableWorsePct!.toFixed(1)}% (${who(lo)}) to ${hi.detectableWorsePct!.toFixed(1)}% (${who(hi)})`;
  return `power: with ${sizes.join(' / ')}, at the spread measured here, only a change worse than ${range} could fail this gate (its limit: ${pct(maxRegression)})${none.length ? `; ${none.map(who).join(', ')}: no change could` : ''}`;
}
