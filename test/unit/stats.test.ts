// Statistical properties on simulated samples with known truth (seeded).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrapMedianCI, bootstrapRatioCI, ratioOfMedians } from '../../src/analysis/bootstrap.ts';
import { compareSamples } from '../../src/analysis/compare.ts';
import { mad, median, quantileSorted, stddev } from '../../src/analysis/descriptive.ts';
import { mannWhitneyU } from '../../src/analysis/mann-whitney.ts';
import { outlierIndexes, outlierWarnings } from '../../src/analysis/outliers.ts';
import { seededRandom } from '../../src/analysis/random.ts';

function normal(rand: () => number): number {
  // Box-Muller
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}
const draw = (rand: () => number, n: number, mu: number, cv: number) => Array.from({ length: n }, () => mu * (1 + cv * normal(rand)));
const opts = { noiseThreshold: 0.02, alpha: 0.05, seed: 1, resamples: 2000, minTrials: 3 };

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

test('bootstrap: reproducible with a seed, and the median CI covers the true median near the nominal rate', () => {
  const xs = [10, 11, 9, 10.5, 9.5, 10.2, 9.8];
  assert.deepEqual(bootstrapMedianCI(xs, { resamples: 1000, rand: seededRandom(5) }), bootstrapMedianCI(xs, { resamples: 1000, rand: seededRandom(5) }));
  const rand = seededRandom(42);
  let covered = 0;
  const sims = 300;
  for (let i = 0; i < sims; i++) {
    const [lo, hi] = bootstrapMedianCI(draw(rand, 15, 100, 0.05), { resamples: 1000, rand });
    if (lo <= 100 && 100 <= hi) covered++;
  }
  console.log(`bootstrap 95% CI of the median, n=15: coverage ${(covered / sims * 100).toFixed(1)}% over ${sims} simulations`);
  assert.ok(covered / sims > 0.85 && covered / sims <= 1, `coverage ${covered / sims}`);
  assert.equal(ratioOfMedians([0, 0], [0, 0]), 1);
  const [lo, hi] = bootstrapRatioCI([100, 101, 99], [110, 111, 109], { resamples: 500, rand: seededRandom(1) });
  assert.ok(lo > 1.05 && hi < 1.15);
});

test('gate verdicts on A/A draws: false-positive rate at most 5% over 400 simulations', () => {
  const rand = seededRandom(7);
  let fp = 0;
  const sims = 400;
  for (let i = 0; i < sims; i++) {
    const c = compareSamples('xmit_pps', { label: 'A', xs: draw(rand, 5, 1e6, 0.02) }, { label: 'B', xs: draw(rand, 5, 1e6, 0.02) }, opts);
    if (c.verdict === 'regressed' || c.verdict === 'improved') fp++;
  }
  console.log(`A/A, 5 vs 5 trials, CV 2%: ${fp} of ${sims} judged changed (${(fp / sims * 100).toFixed(1)}%)`);
  assert.ok(fp / sims <= 0.05);
});

test('a true 5% drop at 2% noise is detected at least 80% of the time with 5 trials each', () => {
  const rand = seededRandom(11);
  let hit = 0;
  const sims = 400;
  for (let i = 0; i < sims; i++) {
    const c = compareSamples('rx_pps', { label: 'A', xs: draw(rand, 5, 1e6, 0.02) }, { label: 'B', xs: draw(rand, 5, 0.95e6, 0.02) }, opts);
    if (c.verdict === 'regressed') hit++;
  }
  console.log(`5% drop, 5 vs 5 trials, CV 2%: detected ${hit} of ${sims} (${(hit / sims * 100).toFixed(1)}%)`);
  assert.ok(hit / sims >= 0.8);
});

test('verdict rules: direction, noise threshold, too few trials', () => {
  const up = compareSamples('drop_ratio', { label: 'A', xs: [0.01, 0.011, 0.0105, 0.0102, 0.0099] }, { label: 'B', xs: [0.02, 0.021, 0.0205, 0.0202, 0.0199] }, opts);
  assert.equal(up.verdict, 'regressed', 'more drops is worse');
  const pps = compareSamples('xmit_pps', { label: 'A', xs: [100, 101, 99, 100.5, 99.5] }, { label: 'B', xs: [110, 111, 109, 110.5, 109.5] }, opts);
  assert.equal(pps.verdict, 'improved');
  const small = compareSamples('xmit_pps', { label: 'A', xs: [100, 100.1, 99.9, 100.05, 99.95] }, { label: 'B', xs: [101, 101.1, 100.9, 101.05, 100.95] }, opts);
  assert.equal(small.verdict, 'unchanged', '1% change is within the 2% noise threshold');
  assert.match(small.reason, /noise threshold/);
  assert.equal(compareSamples('xmit_pps', { label: 'A', xs: [1, 2] }, { label: 'B', xs: [1, 2, 3] }, opts).verdict, 'insufficient');
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
  const c = compareSamples('rx_pps', { label: 'A', xs: [100, 101, 99] }, { label: 'B', xs: [2, 3, 1] }, opts);
  assert.equal(c.verdict, 'insufficient');
  assert.match(c.reason, /smallest p-value .* 0\.10.*at least 4 trials a side/);
  assert.ok(c.ratio < 0.05, 'the change itself is still reported');
});
