// summary.md as a GitHub step summary: the headline table carries the median and the signed
// change with its verdict word, not the intervals and tests (those are in the answer lines and
// report.html), so that a row stays short in a ~950 px frame.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeRun } from '../../src/analysis/analyze.ts';
import { compactCell, renderMarkdown } from '../../src/report/markdown.ts';
import { buildReportModel } from '../../src/report/model.ts';
import { fixtureResult } from '../helpers/result-fixture.ts';

test('compact cells: median, signed change, verdict word', () => {
  assert.equal(compactCell({ text: '0.018 Mpps', ci: '[0.01 – 0.02]', change: '-22.9% (worse): regressed (95% CI -26.1% .. -2.1%, p = 0.032) [Hodges-Lehmann ratio, paired]', verdict: 'regressed' }), '0.018 Mpps, -22.9% (worse) regressed');
  assert.equal(compactCell({ text: '0.6%', ci: '', change: '+3.5% (worse): no change shown (inconclusive, 95% CI -41.8% .. +33.7%)', verdict: 'unchanged' }), '0.6%, +3.5% (worse) no change shown');
  assert.equal(compactCell({ text: '196.4 Mbit/s', ci: '', change: '-10.1% (worse) vs stock-8: no change shown (inconclusive)', verdict: 'unchanged' }), '196.4 Mbit/s, -10.1% (worse) vs stock-8 no change shown');
  assert.equal(compactCell({ text: '1.2 Mpps', ci: '[1.1 – 1.3]', change: '', verdict: 'baseline' }), '1.2 Mpps');
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
