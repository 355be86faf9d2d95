// Text and Markdown tables of a comparison and a gate outcome.
import { METRICS } from '../metrics.ts';
import type { Comparison, GateOutcome, MetricComparison } from './types.ts';

export function formatValue(metric: keyof typeof METRICS, v: number): string {
  if (!Number.isFinite(v)) return String(v);
  switch (METRICS[metric].unit) {
    case 'pps': return `${(v / 1e6).toFixed(3)} Mpps`;
    case 'ratio':
    case 'fraction': return `${(v * 100).toFixed(2)}%`;
    case 'percent': return `${v.toFixed(1)}%`;
    case 'bps': return v >= 1e9 ? `${(v / 1e9).toFixed(3)} Gbit/s` : `${(v / 1e6).toFixed(1)} Mbit/s`;
    case 'packets': return v.toFixed(1);
    case 'ns': return v >= 1e6 ? `${(v / 1e6).toFixed(2)} ms` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} us` : `${v.toFixed(0)} ns`;
    default: return v >= 1000 ? v.toExponential(2) : v.toFixed(1);
  }
}

function row(c: MetricComparison): string[] {
  const ci = Number.isFinite(c.ratioCiLow) ? `[${c.ratioCiLow.toFixed(3)}, ${c.ratioCiHigh.toFixed(3)}]` : 'too few trials';
  const analysis = c.analysis === 'paired' ? `paired, ${c.pairs} rounds` : `unpaired, ${c.nBaseline}+${c.nCandidate}`;
  const effect = Number.isFinite(c.effectSize.value) ? `${c.effectSize.measure === 'cliffs-delta' ? 'delta' : 'r'} ${c.effectSize.value.toFixed(2)}` : '-';
  return [c.metric, `${c.candidate} vs ${c.baseline}`, analysis, formatValue(c.metric, c.baselineMedian), formatValue(c.metric, c.candidateMedian), Number.isFinite(c.ratio) ? c.ratio.toFixed(3) : String(c.ratio), ci, Number.isFinite(c.pValue) ? c.pValue.toPrecision(2) : '-', effect, c.verdict];
}

// ratio: Hodges-Lehmann estimate of candidate / baseline; CI: its distribution-free interval;
// p: two-sided, no change; effect: Cliff's delta (unpaired) or rank-biserial r (paired).
const HEAD = ['metric', 'comparison', 'analysis', 'baseline median', 'candidate median', 'ratio', `CI`, 'p', 'effect', 'verdict'];
const VERDICT_COL = HEAD.indexOf('verdict');

export function comparisonTable(cmp: Comparison, only?: string[]): string {
  const rows = cmp.comparisons.filter((c) => !only || only.includes(c.metric)).map(row);
  const widths = HEAD.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((x, i) => x.padEnd(widths[i]!)).join('  ');
  return [line(HEAD), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function comparisonMarkdown(cmp: Comparison, only?: string[]): string {
  const rows = cmp.comparisons.filter((c) => !only || only.includes(c.metric)).map(row);
  return [`| ${HEAD.join(' | ')} |`, `|${HEAD.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map((x, i) => (i === VERDICT_COL ? `**${x}**` : x)).join(' | ')} |`)].join('\n');
}

export function gateMarkdown(g: GateOutcome, title = 'tunbench gate'): string {
  const icon = g.verdict === 'pass' ? 'PASS' : g.verdict === 'regression' ? 'FAIL: regression' : 'CANNOT JUDGE';
  const parts = [`## ${title}: ${icon}`, '', `Limit: -${(g.maxRegression * 100).toFixed(1)}% on ${g.metrics.join(', ')}. Rule: the gate ${g.rule}.`, '', ...g.reasons.map((r) => `- ${r}`)];
  if (g.warnings.length) parts.push('', '**Warnings**', '', ...g.warnings.map((w) => `- ${w}`));
  if (g.comparison) parts.push('', comparisonMarkdown(g.comparison, g.metrics));
  return `${parts.join('\n')}\n`;
}
