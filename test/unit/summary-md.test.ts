// summary.md as a GitHub step summary: the headline table carries the median and the signed
// change with its verdict word, not the intervals and tests (those are in the answer lines and
// report.html), so that a row stays short in a ~950 px frame.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeRun } from '../../src/analysis/analyze.ts';
import { compactCell, renderMarkdown } from '../../src/report/markdown.ts';
import { buildReportModel } from '../../src/report/model.ts';
import { fixtureResult } from '../helpers/result-fixture.ts';

test('compact cells: the median, then the change and verdict word the model made (never parsed back from the long text)', () => {
  assert.equal(compactCell({ text: '1.2 Mpps', ci: '[1.1 – 1.3]', change: '', brief: '', verdict: 'baseline' }), '1.2 Mpps');
  // An estimate on the other side of the medians (issue 24's fixture: 37.86% -> 35.10% beside
  // "+16.6% (worse)"): the cell says both, whole.
  const result = fixtureResult({ variants: ['ring', 'small-ring'], trials: 3 });
  const drops = [[30, 40, 41], [39, 39.5, 80]];
  for (const [vi, v] of result.variants.entries()) for (const [k, t] of v.trials.entries()) t.metrics.drop_ratio = drops[vi]![k]! / 100;
  const model = buildReportModel({ analysis: analyzeRun(result), results: [result] });
  const col = model.headline.metrics.indexOf('drop_ratio');
  const c = model.headline.rows[1]!.cells[col]!;
  assert.equal(compactCell(c), '39.50%, +30.0% (worse); the medians: -1.2% (better) too few trials');
  assert.match(c.change, /^\+30\.0% \(worse\); the medians: -1\.2% \(better\): too few trials/);
});

test('the step summary table has no intervals, no test names, and short rows', () => {
  const result = fixtureResult({ variants: ['ring', 'slow', 'slower'], trials: 8 });
  const md = renderMarkdown(buildReportModel({ analysis: analyzeRun(result), results: [result] }), new Map());
  const rows = md.split('\n').filter((l) => /^\| (ring|slow|slower)\b/.test(l));
  assert.equal(rows.length, 3, md);
  for (const r of rows) {
    assert.doesNotMatch(r, /Hodges-Lehmann|95% CI|covers/, r);
    assert.ok(r.length < 450, `${r.length} characters: ${r}`);
  }
  assert.match(rows[1]!, /^\| slow \| .*\(worse\) regressed/);
});
