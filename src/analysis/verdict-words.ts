// The one vocabulary of a comparison, used by compare, gate, the report and summary.md.
//
// - A change is the metric's own signed change, candidate against baseline, with better/worse
//   from the metric's direction: "rx_pps -30.2% (worse)", "drop_ratio -40.0% (better)".
// - The ratio printed is the one the verdict used (the Hodges-Lehmann estimate of candidate /
//   baseline: of the per-round ratios when paired, of the shift between the two samples when
//   unpaired), and it says so; the medians are shown as medians, never beside another ratio.
// - Four verdict words: regressed / improved / no change shown (with the interval that makes it
//   inconclusive) / all zero; and, where no test could run, "too few trials" or "not compared"
//   with the reason.
// Pure functions of a MetricComparison: no numbers are computed here that the analysis did not.
import { METRICS, type MetricName } from '../metrics.ts';
import type { MetricComparison } from './types.ts';

export type VerdictWord = 'regressed' | 'improved' | 'no change shown' | 'all zero' | 'too few trials' | 'not compared';

/** "+4.1%", "-30.2%", "0.0%": the metric's own relative change for a ratio candidate / baseline. */
export function signedPct(ratio: number, digits = 1): string {
  if (ratio === Infinity) return '+inf%';
  if (!Number.isFinite(ratio)) return 'n/a';
  const p = (ratio - 1) * 100;
  const s = p.toFixed(digits);
  if (Number(s) === 0) return `${(0).toFixed(digits)}%`;
  return `${p > 0 ? '+' : ''}${s}%`;
}

/** better / worse / same, from the metric's direction. */
export function direction(metric: MetricName, ratio: number, digits = 1): 'better' | 'worse' | 'same' {
  if (ratio !== Infinity && !Number.isFinite(ratio)) return 'same';
  if (Number(((ratio - 1) * 100).toFixed(digits)) === 0) return 'same';
  const up = ratio > 1;
  return (METRICS[metric].better === 'higher') === up ? 'better' : 'worse';
}

/** "rx_pps -30.2% (worse)"; without the name when `name` is false. */
export function changeWords(metric: MetricName, ratio: number, o: { name?: boolean; digits?: number } = {}): string {
  const d = o.digits ?? 1;
  if (ratio !== Infinity && !Number.isFinite(ratio)) return o.name === false ? 'no estimate' : `${metric}: no estimate`;
  const text = `${signedPct(ratio, d)} (${direction(metric, ratio, d)})`;
  return o.name === false ? text : `${metric} ${text}`;
}

/**
 * The medians' own ratio candidate / baseline when it points the other way from the estimate
 * (one better, the other worse), else null. With few or skewed trials the Hodges-Lehmann
 * estimate (the median of the pairwise ratios) can sit on the other side of 1 from the ratio of
 * the medians shown beside it (37.86% -> 35.10% with an estimate of +16.6%): said, not hidden.
 */
export function mediansDisagree(c: MetricComparison): number | null {
  if (!(c.baselineMedian > 0) || !Number.isFinite(c.candidateMedian) || !Number.isFinite(c.baselineMedian)) return null;
  if (c.ratio !== Infinity && !Number.isFinite(c.ratio)) return null;
  const m = c.candidateMedian / c.baselineMedian;
  const a = direction(c.metric, c.ratio);
  const b = direction(c.metric, m);
  return a !== 'same' && b !== 'same' && a !== b ? m : null;
}

/** The estimate's change, "+16.6% (worse)", and, when the medians moved the other way, "+16.6% (worse); the medians: -7.3% (better)". */
export function estimateChangeWords(c: MetricComparison, o: { name?: boolean } = {}): string {
  const base = changeWords(c.metric, c.ratio, o);
  const m = mediansDisagree(c);
  return m === null ? base : `${base}; the medians: ${changeWords(c.metric, m, { name: false })}`;
}

/** Which estimate the ratio is. */
export function estimateName(c: MetricComparison): string {
  return c.analysis === 'paired'
    ? `Hodges-Lehmann ratio of ${c.pairs} paired rounds`
    : `Hodges-Lehmann ratio, unpaired ${c.nBaseline} vs ${c.nCandidate} trials`;
}

/** "95% CI -57% .. +74%" (of the ratio the verdict used), or '' when there is none. */
export function intervalWords(c: MetricComparison, alpha: number): string {
  if (!Number.isFinite(c.ratioCiLow) || !Number.isFinite(c.ratioCiHigh)) return '';
  return `${((1 - alpha) * 100).toFixed(0)}% CI ${signedPct(c.ratioCiLow)} .. ${signedPct(c.ratioCiHigh)}`;
}

export const allZero = (c: MetricComparison): boolean => c.verdict === 'insufficient' && c.baselineMedian === 0 && c.candidateMedian === 0 && c.ratio === 1 && !Number.isFinite(c.pWorseThanNoise);

/** A side with no value at all: the metric was not measured there (e.g. probe cost on a probes-off variant). */
export const notMeasured = (c: MetricComparison): boolean => c.nBaseline === 0 || c.nCandidate === 0;

export function verdictWord(c: MetricComparison): VerdictWord {
  switch (c.verdict) {
    case 'regressed': return 'regressed';
    case 'improved': return 'improved';
    case 'unchanged': return 'no change shown';
    default: return allZero(c) ? 'all zero' : notMeasured(c) ? 'not compared' : 'too few trials';
  }
}

/** Why the verdict is what it is, in a few words (the full reason stays in MetricComparison.reason). */
export function verdictDetail(c: MetricComparison, alpha: number): string {
  const ci = intervalWords(c, alpha);
  switch (verdictWord(c)) {
    case 'regressed':
    case 'improved':
      return [ci, Number.isFinite(c.pAdjusted) ? `p = ${c.pAdjusted.toPrecision(2)}${c.judged ? ' (Holm-adjusted)' : ' (uncorrected)'}` : ''].filter(Boolean).join(', ');
    case 'no change shown': {
      // An interval wholly on one side of 'no change' beside "inconclusive" reads as a
      // contradiction: it is the one test's interval, while the verdict asked for a change beyond
      // the noise threshold, Holm-corrected over the family. Say which p decided it.
      const oneSided = c.ratioCiLow > 1 || c.ratioCiHigh < 1;
      const p = oneSided && Number.isFinite(c.pAdjusted) ? `; a change beyond the noise threshold not shown: p = ${c.pAdjusted.toPrecision(2)}${c.judged ? ' (Holm-adjusted)' : ''}` : '';
      return `inconclusive${ci ? `, ${ci}` : ''}${p}`;
    }
    case 'all zero':
      return 'zero on every trial of both sides';
    case 'not compared':
      return `not measured on ${c.nBaseline === 0 ? c.baseline : c.candidate}`;
    default:
      return c.reason.replace(/^.*?: with /, 'with ');
  }
}

/** "regressed (95% CI -31.0% .. -29.1%, p = 0.024 (Holm-adjusted))", "no change shown (inconclusive, 95% CI -57.0% .. +74.0%)". */
export function verdictWords(c: MetricComparison, alpha: number): string {
  const d = verdictDetail(c, alpha);
  return d ? `${verdictWord(c)} (${d})` : verdictWord(c);
}

/** One line: "rx_pps -30.2% (worse): regressed (95% CI ..., p = ...) [Hodges-Lehmann ratio, unpaired 5 vs 5 trials]". */
export function comparisonLine(c: MetricComparison, alpha: number): string {
  const w = verdictWord(c);
  if (w === 'all zero' || w === 'not compared' || (c.ratio !== Infinity && !Number.isFinite(c.ratio))) return `${c.metric}: ${verdictWords(c, alpha)}`;
  return `${estimateChangeWords(c)}: ${verdictWords(c, alpha)} [${estimateName(c)}]`;
}
