// Words and tables for a comparison and a gate outcome: a value in its unit, the text and
// Markdown tables that compare and gate print, the gate's Markdown summary. Rendering only.
import { METRICS } from '../metrics.ts';
import type { Comparison, GateOutcome, MetricComparison } from '../analysis/types.ts';
import { estimateChangeWords, intervalWords, verdictDetail, verdictWord } from '../analysis/verdict-words.ts';

export function formatValue(metric: keyof typeof METRICS, v: number): string {
  if (!Number.isFinite(v)) return String(v);
  switch (METRICS[metric].unit) {
    // A few drops a second are not '0.000 Mpps'.
    case 'pps': return v >= 0 && v < 1000 ? `${Number(v.toPrecision(3))} pps` : `${(v / 1e6).toFixed(3)} Mpps`;
    case 'ratio':
    case 'fraction': return `${(v * 100).toFixed(2)}%`;
    // 3 significant digits: the probes' 0.153% of a CPU is not '0.2%'.
    case 'percent': return `${v === 0 ? '0' : Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(3))}%`;
    case 'bps': return v >= 1e9 ? `${(v / 1e9).toFixed(3)} Gbit/s` : `${(v / 1e6).toFixed(1)} Mbit/s`;
    case 'packets': return v.toFixed(1);
    case 'tps': return `${v.toFixed(0)} /s`;
    case 'ns': return v >= 1e6 ? `${(v / 1e6).toFixed(2)} ms` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} us` : `${v.toFixed(0)} ns`;
    default: return v >= 1000 ? v.toExponential(2) : v.toFixed(1);
  }
}

const nsText = (v: number): string => (v >= 1e6 ? `${Number((v / 1e6).toPrecision(3))} ms` : v >= 1e3 ? `${Number((v / 1e3).toPrecision(3))} us` : `${Math.round(v)} ns`);

/** A power-of-two latency bucket [lo, hi) in words: "4.19-8.39 ms" (bpftrace's hist buckets; a percentile read from one
 * is known only to its bucket, so it is shown as the range, not as its edge). */
export function nsRange(lo: number, hi: number): string {
  return `${nsText(lo)} .. ${nsText(hi)}`;
}

/** A latency percentile recorded as its log2 bucket's upper edge (2^k - 1 ns), as that bucket's range. */
export function latencyBucket(v: number): string {
  if (!Number.isFinite(v) || v <= 0) return formatValue('latency_p50_ns', v);
  const hi = v + 1;
  return nsRange(hi / 2, hi);
}

function row(c: MetricComparison, alpha: number): string[] {
  const analysis = c.analysis === 'paired' ? `paired, ${c.pairs} rounds` : `unpaired, ${c.nBaseline}+${c.nCandidate}`;
  const effect = Number.isFinite(c.effectSize.value) ? `${c.effectSize.measure === 'cliffs-delta' ? 'delta' : 'r'} ${c.effectSize.value.toFixed(2)}` : '-';
  const word = verdictWord(c);
  const p = Number.isFinite(c.pAdjusted) ? `${c.pAdjusted.toPrecision(2)}${c.judged ? '' : '*'}` : '-';
  const who = c.baseline === c.candidate ? c.candidate : `${c.candidate} vs ${c.baseline}`;
  const change = word === 'all zero' || word === 'not compared' ? '-' : estimateChangeWords(c, { name: false });
  const ci = intervalWords(c, alpha).replace(/^\d+% CI /, '') || '-';
  return [c.metric, who, analysis, formatValue(c.metric, c.baselineMedian), formatValue(c.metric, c.candidateMedian), change, ci, p, effect, word === 'no change shown' || word === 'too few trials' || word === 'not compared' ? `${word}${word === 'not compared' ? ` (${verdictDetail(c, alpha)})` : ''}` : word];
}

// change: the Hodges-Lehmann estimate of candidate / baseline (of the per-round ratios when
// paired) as the metric's own signed change, better/worse from its direction; CI: its
// distribution-free interval; p: the p the verdict used (change beyond the noise threshold,
// Holm-adjusted over the judged metrics; * uncorrected, not a judged metric); effect: Cliff's
// delta (unpaired) or rank-biserial r (paired).
const HEAD = ['metric', 'comparison', 'analysis', 'baseline median', 'candidate median', 'change (HL estimate)', 'CI', 'p', 'effect', 'verdict'];
const VERDICT_COL = HEAD.indexOf('verdict');
export const TABLE_NOTE = "change: the Hodges-Lehmann estimate of candidate / baseline (paired: of the per-round ratios) as the metric's own signed change, better or worse by its direction (when the medians moved the other way, their change follows it); CI: its distribution-free interval; p: the one the verdict used (a change beyond the noise threshold, Holm-adjusted over the judged metrics; * uncorrected: not a judged metric).";

export function comparisonTable(cmp: Comparison, only?: string[]): string {
  const rows = cmp.comparisons.filter((c) => !only || only.includes(c.metric)).map((c) => row(c, cmp.alpha));
  const widths = HEAD.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((x, i) => x.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(HEAD), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line), '', TABLE_NOTE].join('\n');
}

export function comparisonMarkdown(cmp: Comparison, only?: string[]): string {
  const rows = cmp.comparisons.filter((c) => !only || only.includes(c.metric)).map((c) => row(c, cmp.alpha));
  return [`| ${HEAD.join(' | ')} |`, `|${HEAD.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map((x, i) => (i === VERDICT_COL ? `**${x}**` : x)).join(' | ')} |`), '', TABLE_NOTE].join('\n');
}

export function gateHeading(g: GateOutcome): string {
  return g.verdict === 'pass' ? 'PASS' : g.verdict === 'regression' ? 'FAIL: regression' : 'CANNOT JUDGE';
}

export function gateMarkdown(g: GateOutcome, title = 'tunbench gate'): string {
  const parts = [`## ${title}: ${gateHeading(g)}`, '', ...g.reasons.map((r) => `- ${r}`)];
  if (g.power) parts.push(`- ${g.power}`);
  parts.push('', `Limit: ${(g.maxRegression * 100).toFixed(1)}% worse on ${g.metrics.join(', ')}. Rule: the gate ${g.rule}.`);
  if (g.warnings.length) parts.push('', '**Warnings**', '', ...g.warnings.map((w) => `- ${w}`));
  if (g.comparison) parts.push('', comparisonMarkdown(g.comparison, g.metrics));
  return `${parts.join('\n')}\n`;
}
