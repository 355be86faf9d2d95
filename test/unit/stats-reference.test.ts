// The rank tests and the median interval against values computed independently with scipy
// (test/fixtures/stats/make-fixtures.py wrote scipy-reference.json; see the script's header).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { mannWhitneyU } from '../../src/analysis/mann-whitney.ts';
import { medianCI } from '../../src/analysis/median-ci.ts';
import type { Alternative } from '../../src/analysis/ranks.ts';
import { wilcoxonSignedRank } from '../../src/analysis/wilcoxon.ts';

interface Ref {
  scipy: string;
  mannWhitney: { x: number[]; y: number[]; method: 'exact' | 'normal'; p: Record<Alternative, number>; u: number }[];
  wilcoxon: { d: number[]; method: 'exact' | 'normal'; p: Record<Alternative, number>; rPlus: number }[];
  binomialCoverage: { n: number; k: number | null; coverage: number | null }[];
}
const ref = JSON.parse(readFileSync(new URL('../fixtures/stats/scipy-reference.json', import.meta.url), 'utf8')) as Ref;
const ALTS: Alternative[] = ['two-sided', 'less', 'greater'];
// Exact p-values are rationals both sides compute exactly; the normal approximation differs
// only by the normal CDF's implementation (about 1e-7 here).
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-6 + 1e-6 * Math.abs(b), `${what}: ${a} vs scipy ${b}`);

test(`Mann-Whitney U matches scipy ${ref.scipy} on ${ref.mannWhitney.length} cases (exact, ties, large)`, () => {
  assert.ok(ref.mannWhitney.some((c) => c.method === 'exact') && ref.mannWhitney.some((c) => c.method === 'normal'));
  for (const [i, c] of ref.mannWhitney.entries()) {
    for (const alt of ALTS) {
      const r = mannWhitneyU(c.x, c.y, alt);
      assert.equal(r.method, c.method, `case ${i}: method`);
      assert.equal(r.u, c.u, `case ${i}: U`);
      close(r.pValue, c.p[alt], `case ${i} (${c.x.length} vs ${c.y.length}, ${c.method}) ${alt}`);
    }
  }
});

test(`Wilcoxon signed-rank matches scipy ${ref.scipy} on ${ref.wilcoxon.length} cases (exact, ties, zeros, large)`, () => {
  assert.ok(ref.wilcoxon.some((c) => c.method === 'exact') && ref.wilcoxon.some((c) => c.method === 'normal'));
  for (const [i, c] of ref.wilcoxon.entries()) {
    for (const alt of ALTS) {
      const r = wilcoxonSignedRank(c.d, alt);
      assert.equal(r.method, c.method, `case ${i}: method`);
      assert.equal(r.statistic, c.rPlus, `case ${i}: r_plus`);
      close(r.pValue, c.p[alt], `case ${i} (n=${c.d.length}, ${c.method}) ${alt}`);
    }
  }
});

test('median interval: ranks and coverage match the binomial computed by scipy; none below n = 6', () => {
  for (const c of ref.binomialCoverage) {
    const xs = Array.from({ length: c.n }, (_, i) => i + 1);
    const ci = medianCI(xs, 0.95);
    if (c.k === null) {
      assert.ok(Number.isNaN(ci.low) && ci.coverage === null, `n=${c.n}`);
      assert.match(ci.note, /too few trials for a 95% interval/);
    } else {
      assert.deepEqual(ci.ranks, [c.k, c.n + 1 - c.k], `n=${c.n}`);
      assert.equal(ci.low, c.k);
      close(ci.coverage!, c.coverage!, `coverage n=${c.n}`);
    }
  }
  assert.equal(ref.binomialCoverage.find((c) => c.n === 5)!.k, null);
  assert.equal(ref.binomialCoverage.find((c) => c.n === 6)!.k, 1);
});
