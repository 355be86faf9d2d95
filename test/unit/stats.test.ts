// Statistical properties on simulated samples with known truth (seeded).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrapMedianCI, bootstrapRatioCI, ratioOfMedians } from '../../src/analysis/bootstrap.ts';
import { compareSamples, judge } from '../../src/analysis/compare.ts';
import type { MetricName } from '../../src/metrics.ts';
import { mad, median, quantileSorted, stddev } from '../../src/analysis/descriptive.ts';
import { mannWhitneyU } from '../../src/analysis/mann-whitney.ts';
import { outlierIndexes, outlierWarnings } from '../../src/analysis/outliers.ts';
import { seededRandom } from '../../src/random.ts';

function normal(rand: () => number): number {
  // Box-Muller
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}
const draw = (rand: () => number, n: number, mu: number, cv: number) => Array.from({ length: n }, () => mu * (1 + cv * normal(rand)));
const opts = { noiseThreshold: 0.02, alpha: 0.05, minTrials: 3 };
/** One comparison judged alone (a family of one test). */
const verdictOf = (metric: MetricName, a: number[], b: number[]) => judge([compareSamples(metric, { label: 'A', xs: a }, { label: 'B', xs: b }, opts)], { ...opts, judgedMetrics: [metric] })[0]!;

test('descriptive statistics', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(quantileSorted([1, 2, 3, 4, 5], 0.25), 2);
  assert.equal(mad([1, 1, 2, 2, 4, 6, 9]), 1);
  assert.ok(Math.abs(stddev([2, 4, 4, 4, 5, 5, 7, 9]) - 2.138) < 1e-3);
});

test('Mann-Whitney U: exact and normal p-values match known values', () => {
  // Complete separation, 5 vs 5: exact two-sided p = 2/252.
  const r = mannWhitneyU([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
  assert.equal(r.method, 'exact');
  assert.ok(Math.abs(r.pValue - 2 / 252) < 1e-12);
  // Ties, by hand: ranks 1,2,3.5,5.5,7.5 -> R1 = 19.5, U1 = 4.5, mu = 12.5,
  // sigma^2 = (25/12)(11 - 18/90) = 22.5, z = (8 - 0.5)/4.743 = 1.581, p = 2(1 - Phi(z)) = 0.1138.
  const t = mannWhitneyU([1, 2, 3, 4, 5], [3, 4, 5, 6, 7]);
  assert.equal(t.method, 'normal');
  assert.equal(t.u, 4.5);
  assert.ok(Math.abs(t.pValue - 0.1138) < 0.001, `p=${t.pValue}`);
  // Identical samples: no evidence.
  assert.equal(mannWhitneyU([1, 1, 1], [1, 1, 1]).pValue, 1);
  // Symmetric in its arguments.
  assert.equal(mannWhitneyU([1, 5, 9, 2], [3, 4, 8]).pValue, mannWhitneyU([3, 4, 8], [1, 5, 9, 2]).pValue);
});

test('bootstrap (kept for the speed bench, no longer used for intervals): reproducible, and its median CI under-covers at small n', () => {
  const xs = [10, 11, 9, 10.5, 9.5, 10.2, 9.8];
  assert.deepEqual(bootstrapMedianCI(xs, { resamples: 1000, rand: seededRandom(5) }), bootstrapMedianCI(xs, { resamples: 1000, rand: seededRandom(5) }));
  const coverage = (n: number, sims: number) => {
    const rand = seededRandom(42 + n);
    let covered = 0;
    for (let i = 0; i < sims; i++) {
      const [lo, hi] = bootstrapMedianCI(draw(rand, n, 100, 0.05), { resamples: 400, rand });
      if (lo <= 100 && 100 <= hi) covered++;
    }
    return covered / sims;
  };
  // n = 3: the percentile interval is [min, max] in practice, which covers 1 - 2/8 = 75%, not 95%.
  const small = coverage(3, 400);
  const large = coverage(41, 300);
  console.log(`bootstrap "95%" CI of the median: coverage ${(small * 100).toFixed(1)}% at n=3, ${(large * 100).toFixed(1)}% at n=41`);
  assert.ok(small > 0.68 && small < 0.82, `n=3 coverage ${small}`);
  assert.ok(large > 0.88, `n=41 coverage ${large}`);
  assert.equal(ratioOfMedians([0, 0], [0, 0]), 1);
  const [lo, hi] = bootstrapRatioCI([100, 101, 99], [110, 111, 109], { resamples: 500, rand: seededRandom(1) });
  assert.ok(lo > 1.05 && hi < 1.15);
});

test('compare verdicts on A/A draws: judged changed at most alpha of the time (2000 seeded simulations)', () => {
  const rand = seededRandom(7);
  let changed = 0;
  const sims = 2000;
  for (let i = 0; i < sims; i++) {
    const c = verdictOf('xmit_pps', draw(rand, 8, 1e6, 0.02), draw(rand, 8, 1e6, 0.02));
    assert.notEqual(c.verdict, 'insufficient');
    if (c.verdict === 'regressed' || c.verdict === 'improved') changed++;
  }
  console.log(`A/A, 8 vs 8 trials, CV 2%: ${changed} of ${sims} judged changed (${(changed / sims * 100).toFixed(2)}%)`);
  assert.ok(changed / sims <= 0.05);
  // Not by accident: a true change exactly at the noise threshold is the worst case the rule
  // allows, and there it rejects close to alpha / 2 (one direction of the doubled one-sided p).
  let edge = 0;
  for (let i = 0; i < sims; i++) if (verdictOf('xmit_pps', draw(rand, 8, 1e6, 0.02), draw(rand, 8, 0.98e6, 0.02)).verdict === 'regressed') edge++;
  console.log(`true 2% drop (the noise threshold), 8 vs 8: judged regressed ${(edge / sims * 100).toFixed(2)}%`);
  assert.ok(edge / sims > 0.005 && edge / sims <= 0.05, `edge rate ${edge / sims}`);
});

test('a true 8% drop at 2% spread is judged regressed (beyond the 2% noise threshold) at least 80% of the time with 6 trials each', () => {
  const rand = seededRandom(11);
  let hit = 0;
  let wrong = 0;
  const sims = 1000;
  for (let i = 0; i < sims; i++) {
    const c = verdictOf('rx_pps', draw(rand, 6, 1e6, 0.02), draw(rand, 6, 0.92e6, 0.02));
    if (c.verdict === 'regressed') hit++;
    if (c.verdict === 'improved') wrong++;
  }
  console.log(`8% drop, 6 vs 6 trials, CV 2%: judged regressed ${hit} of ${sims} (${(hit / sims * 100).toFixed(1)}%)`);
  assert.ok(hit / sims >= 0.8, `power ${hit / sims}`);
  assert.equal(wrong, 0);
});

test('verdict rules: direction, noise threshold, too few trials, effect size beside the p-value', () => {
  const up = verdictOf('drop_ratio', [0.01, 0.011, 0.0105, 0.0102, 0.0099], [0.02, 0.021, 0.0205, 0.0202, 0.0199]);
  assert.equal(up.verdict, 'regressed', 'more drops is worse');
  assert.equal(up.effectSize.measure, 'cliffs-delta');
  assert.equal(up.effectSize.value, 1);
  const pps = verdictOf('xmit_pps', [100, 101, 99, 100.5, 99.5], [110, 111, 109, 110.5, 109.5]);
  assert.equal(pps.verdict, 'improved');
  assert.ok(Math.abs(pps.ratio - 1.1) < 0.002, `HL ratio ${pps.ratio}`);
  assert.ok(pps.ratioCiLow < 1.1 && pps.ratioCiHigh > 1.1 && pps.ratioCiCoverage! >= 0.95);
  const small = verdictOf('xmit_pps', [100, 100.1, 99.9, 100.05, 99.95], [101, 101.1, 100.9, 101.05, 100.95]);
  assert.equal(small.verdict, 'unchanged', '1% change is within the 2% noise threshold');
  assert.ok(small.pValue < 0.05, 'though the change itself is significant');
  assert.match(small.reason, /not shown to exceed the 2\.0% noise threshold/);
  assert.equal(verdictOf('xmit_pps', [1, 2], [1, 2, 3]).verdict, 'insufficient');
});

test('outliers are named in plain words', () => {
  assert.deepEqual(outlierIndexes([100, 101, 99, 100, 60, 100.5]), [4]);
  const w = outlierWarnings('ring', 'xmit_pps', [60, 100, 101, 99, 100, 100.5]);
  assert.deepEqual(w.outliers, [0]);
  assert.match(w.warnings.join(' '), /1 of 6 trials of ring.*xmit_pps/);
  assert.match(w.warnings.join(' '), /first trial.*warm-up/);
});

test('too few trials for the test to ever reach alpha: insufficient, with how many are needed', async () => {
  const { smallestPossibleP } = await import('../../src/analysis/compare.ts');
  assert.equal(smallestPossibleP(3, 3), 0.1);
  assert.ok(Math.abs(smallestPossibleP(4, 4) - 2 / 70) < 1e-12);
  const c = verdictOf('rx_pps', [100, 101, 99], [2, 3, 1]);
  assert.equal(c.verdict, 'insufficient');
  assert.match(c.reason, /smallest p-value .* 0\.10.*at least 4 trials a side/);
  assert.ok(c.ratio < 0.05, 'the change itself is still reported');
});

test('a change to 0 is -100% at most: the interval of a non-negative metric is cut at a ratio of 0', () => {
  // The figures of bp-1 against stock-1 (tun drops per second, backpressure-streams): the
  // baseline's spread is wider than its median, so the linear shift's interval reached -147%.
  const c = compareSamples('drop_ratio', { label: 'stock-1', xs: [1.49, 1.89, 2.85, 2.27, 2.83] }, { label: 'bp-1', xs: [0, 0, 0, 0, 0] }, opts);
  assert.equal(c.scale, 'linear');
  assert.equal(c.ratio, 0);
  assert.equal(c.ratioCiLow, 0);
  assert.ok(c.ratioCiHigh > 0 && c.ratioCiHigh < 1, `upper end ${c.ratioCiHigh}`);
  assert.equal(c.changePct, 100); // drop_ratio: lower is better, so -100% is a 100% improvement
});
