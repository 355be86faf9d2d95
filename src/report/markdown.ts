// summary.md: the verdict, the headline table and the PNG charts, for CI job pages and pull requests.
import { kpps, metricLabel, SENT_LOST_NOTE, type HeadlineCell, type ReportModel } from './model.ts';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A headline cell for a step summary: the median and, against its reference, the signed change
 * with its verdict word ("0.020 Mpps, -15.4% (worse) regressed"); the interval and the test stay
 * in report.html, so that the table fits a step summary's width. */
export function compactCell(c: HeadlineCell): string {
  return c.brief ? `${c.text}, ${c.brief}` : c.text;
}

export function renderMarkdown(model: ReportModel, pngs: Map<string, string>): string {
  const m = model.headline.metrics;
  const lines = [
    `# ${cell(model.title)}`,
    '',
    `**${model.verdict.level === 'fail' ? 'FAIL' : model.verdict.level === 'pass' ? 'PASS' : model.verdict.level === 'unknown' ? 'CANNOT JUDGE' : 'RESULT'}**: ${model.verdict.text}`,
    '',
    ...model.answers.map((a) => `- ${cell(a)}`),
    '',
    `| variant | ${m.map((x) => metricLabel(x)).join(' | ')} |`,
    `|---|${m.map(() => '---').join('|')}|`,
    ...model.headline.rows.map((r) => `| ${cell(r.variant)}${r.baseline ? ' (baseline)' : ''} | ${r.cells.map((c) => cell(compactCell(c))).join(' | ')} |`),
    '',
    "Median of each variant's measured trials; change: the Hodges-Lehmann estimate of candidate / baseline (of the per-round ratios when paired by round within one run, Wilcoxon signed-rank; unpaired between runs or when the rounds are too few, Mann-Whitney U) as the metric's own signed change, better or worse by its direction, with its verdict. The medians' intervals, each change's interval and p are in the answer lines above and in report.html (a step summary's table has about 950 px).",
    '',
    ...model.headline.rows.map((r) => `- ${r.probeCost.warn ? '**warning** ' : ''}${cell(r.variant)}: ${cell(r.probeCost.text)}`),
    ...model.headline.rows.flatMap((r) => r.starved.map((w) => `- **warning** ${cell(r.variant)}: ${cell(w)}`)),
    '',
    `Probes versus kernel counters: ${cell(model.crossCheckLine)}${model.crossChecks.some((x) => !x.check.ok) ? ` Failing: ${model.crossChecks.filter((x) => !x.check.ok).map((x) => cell(`${x.variant} trial ${x.trial}: ${x.check.name}`)).join('; ')}.` : ''}`,
    '',
  ];
  if (model.kernels) {
    lines.push('## Kernels', '', `| | ${model.kernels.columns.map(cell).join(' | ')} |`, `|---|${model.kernels.columns.map(() => '---').join('|')}|`);
    for (const r of model.kernels.rows) lines.push(`| ${cell(r.label)} | ${r.values.map(cell).join(' | ')} |`);
    lines.push('');
  }
  if (model.sentLost) {
    lines.push('## Sent and lost (Kpps)', '', '| variant | qdisc | generator | consumer | sent | delivered | qdisc drops | tun drops | lost | lost ratio |', '|---|---|---|---|---|---|---|---|---|---|');
    for (const r of model.sentLost) lines.push(`| ${cell(r.variant)} | ${cell(r.qdisc)} | ${cell(r.generator)} | ${r.consumer} | ${[r.sentKpps, r.deliveredKpps, r.qdiscDropKpps, r.tunDropKpps, r.lostKpps].map(kpps).join(' | ')} | ${r.lostRatio === null ? '-' : `${(r.lostRatio * 100).toFixed(2)}%`} |`);
    lines.push('', SENT_LOST_NOTE, '');
  }
  for (const c of model.charts) {
    const file = pngs.get(c.id);
    if (file) lines.push(`- ${c.title}: \`${file}\` in the report folder. ${c.caption}`);
    else if (!c.config) lines.push(`- ${c.title}: no chart. ${c.caption}`);
  }
  if (model.charts.length) lines.push('');
  if (model.warnings.length) lines.push('## Warnings', '', ...model.warnings.map((w) => `- ${cell(w)}`), '');
  lines.push('The full report (charts, cross-checks, environment) is report.html in the same folder as this summary (a CI job keeps it as an artifact).', '');
  return lines.join('\n');
}
