// The gate's rule, the intervals and the like-with-like checks on seeded synthetic data:
// deterministic (seeded), with margins that a wrong implementation cannot meet by chance.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareResults, compareWithinResult, probeDifferences } from '../../src/analysis/compare.ts';
import { gate } from '../../src/analysis/gate.ts';
import { holmAdjust } from '../../src/analysis/holm.ts';
import { cliffsDelta, hodgesLehmannShift } from '../../src/analysis/mann-whitney.ts';
import { medianCI } from '../../src/analysis/median-ci.ts';
import { normalDraws, simulateGate, syntheticPair } from '../../src/analysis/simulate.ts';
import { pairedShift, rankBiserial } from '../../src/analysis/wilcoxon.ts';
import type { Result } from '../../src/types.ts';

const G = { metrics: ['xmit_pps', 'rx_pps', 'drop_ratio'], maxRegression: 0.01, alpha: 0.05, noiseThreshold: 0.02 };
const model = { cv: 0.04, pairSd: 0.028 };

test('gate power and A/A false alarms on seeded synthetic results (the profiles/ci.yaml settings: 25 trials, limit 1%)', () => {
  const sims = 300;
  const run = (change: number, analysis: 'paired' | 'unpaired', n = 25) => simulateGate({ n, change, analysis, model, sims, gate: G, seed: 7 + n });
  const aa = run(0, 'unpaired');
  const edge = run(0.01, 'unpaired');
  const five = run(0.05, 'unpaired');
  const three = run(0.03, 'unpaired');
  const pairedThree = run(0.03, 'paired');
  console.log(`unpaired n=25: A/A ${aa.failRate}, at the 1% limit ${edge.failRate}, 3% ${three.failRate}, 5% ${five.failRate}; paired 3% ${pairedThree.failRate}`);
  assert.equal(aa.cannotJudge + edge.cannotJudge + five.cannotJudge, 0);
  assert.ok(aa.failRate <= 0.05, 'A/A fails at most alpha');
  assert.ok(edge.failRate <= 0.08, 'a regression of exactly the limit fails about alpha at most (300 sims: +3 SE)');
  assert.ok(five.failRate >= 0.8, 'a 5% drop fails at least 80% of the time');
  assert.ok(three.failRate > aa.failRate + 0.15 && three.failRate < five.failRate, 'power grows with the change');
  assert.ok(pairedThree.failRate > three.failRate + 0.3, 'pairing by round adds power at the same n');
});

test('the old flaw is gone: a true regression of exactly maxRegression no longer fails half of the time, at any n', () => {
  for (const n of [10, 40]) {
    const s = simulateGate({ n, change: 0.05, analysis: 'unpaired', model, sims: 300, gate: { ...G, maxRegression: 0.05 }, seed: n });
    assert.ok(s.failRate <= 0.08, `n=${n}: ${s.failRate}`);
  }
});

test('gate: too few trials for the test ever to reach alpha / family size is "cannot judge", with how many are needed', () => {
  const z = normalDraws(3);
  const m = G.metrics as never;
  // 3 rounds: too few for the signed-rank test, so Mann-Whitney, whose 3 vs 3 cannot reach 0.05 / 3 either.
  const three = syntheticPair({ n: 3, change: 0.3, analysis: 'paired', model, gate: G }, z);
  const cmp = compareWithinResult(three.within!, { limit: 0.01, judgedMetrics: m, metrics: m });
  assert.ok(cmp.comparisons.every((c) => c.analysis === 'unpaired'));
  const out = gate({ comparison: cmp, maxRegression: 0.01, metrics: m });
  assert.equal(out.exitCode, 2);
  assert.match(out.reasons.join('\n'), /smallest one-sided p .* 0\.050.* alpha \/ 3 = 0\.017: run at least 4 trials a side/);
  // 5 rounds: the signed-rank test cannot reach 0.017 (2/32), Mann-Whitney can (2/252): unpaired, and it says why.
  const five = compareWithinResult(syntheticPair({ n: 5, change: 0, analysis: 'paired', model, gate: G }, z).within!, { limit: 0.01, judgedMetrics: m, metrics: m });
  assert.ok(five.comparisons.every((c) => c.analysis === 'unpaired'));
  // 8 rounds: 2/256 < 0.017: paired.
  const eight = compareWithinResult(syntheticPair({ n: 8, change: 0, analysis: 'paired', model, gate: G }, z).within!, { limit: 0.01, judgedMetrics: m, metrics: m });
  assert.ok(eight.comparisons.every((c) => c.analysis === 'paired' && c.pairs === 8));
  const wrongLimit = gate({ comparison: eight, maxRegression: 0.05, metrics: m });
  assert.equal(wrongLimit.exitCode, 2);
  assert.match(wrongLimit.rule, /one-sided rank test .* Holm/);
});

test('within one interleaved run the comparison is paired by round and cancels the drift; separate runs are unpaired', () => {
  // Round effects of +-30% (a busy machine), a 3% drop, little own noise: paired sees it.
  const z = normalDraws(5);
  const s = syntheticPair({ n: 12, change: 0.03, analysis: 'paired', model: { cv: 0.3, pairSd: 0.01 }, gate: G }, z);
  const paired = compareWithinResult(s.within!, { limit: 0.01 });
  const unpaired = compareWithinResult(s.within!, { limit: 0.01, paired: false });
  const p = paired.comparisons.find((c) => c.metric === 'rx_pps')!;
  const u = unpaired.comparisons.find((c) => c.metric === 'rx_pps')!;
  assert.equal(p.analysis, 'paired');
  assert.equal(p.test, 'wilcoxon-signed-rank');
  assert.equal(p.effectSize.measure, 'rank-biserial');
  assert.equal(u.analysis, 'unpaired');
  assert.equal(p.verdict, 'regressed');
  assert.equal(u.verdict, 'unchanged');
  assert.ok(Math.abs(p.ratio - 0.97) < 0.01, `paired ratio ${p.ratio}`);
  assert.ok(p.ratioCiHigh - p.ratioCiLow < (u.ratioCiHigh - u.ratioCiLow) / 5);
  assert.equal(gate({ comparison: paired, maxRegression: 0.01, metrics: ['rx_pps'] }).exitCode, 1);
  const sep = syntheticPair({ n: 12, change: 0, analysis: 'unpaired', model, gate: G }, z);
  assert.ok(compareResults(sep.a!, sep.b!, { limit: 0.01 }).comparisons.every((c) => c.analysis === 'unpaired' && c.test === 'mann-whitney-u'));
});

test('median interval: coverage at small and large n matches what it states (seeded), none below n = 6', () => {
  assert.match(medianCI([1, 2, 3, 4, 5]).note, /too few trials for a 95% interval \(n=5: even \[min, max\] covers only 93\.8%; needs n >= 6\)/);
  assert.match(medianCI([1, 2, 3]).note, /covers only 75\.0%/);
  for (const n of [6, 9, 20, 60, 200]) {
    const z = normalDraws(100 + n);
    const sims = 3000;
    let covered = 0;
    let stated = 0;
    for (let i = 0; i < sims; i++) {
      // A skewed distribution (lognormal) with true median 1.
      const ci = medianCI(Array.from({ length: n }, () => Math.exp(0.5 * z())));
      stated = ci.coverage!;
      if (ci.low <= 1 && 1 <= ci.high) covered++;
    }
    console.log(`median interval n=${n}: states ${(stated * 100).toFixed(2)}%, covered ${(covered / sims * 100).toFixed(2)}%`);
    assert.ok(stated >= 0.95);
    assert.ok(Math.abs(covered / sims - stated) < 0.015, `n=${n}: covered ${covered / sims} vs stated ${stated}`); // 3000 sims: SE <= 0.4%
  }
});

test('ratio intervals (Hodges-Lehmann, paired and unpaired) cover the true shift as often as they state', () => {
  for (const [n, sims] of [[8, 2000], [40, 600]] as const) {
    const z = normalDraws(n);
    let cu = 0;
    let cp = 0;
    let su = 0;
    let sp = 0;
    for (let i = 0; i < sims; i++) {
      const a = Array.from({ length: n }, () => z());
      const b = Array.from({ length: n }, () => 0.7 + z());
      const u = hodgesLehmannShift(a, b, 0.95);
      su = u.coverage!;
      if (u.low <= 0.7 && 0.7 <= u.high) cu++;
      const p = pairedShift(Array.from({ length: n }, () => 0.7 + z()), 0.95);
      sp = p.coverage!;
      if (p.low <= 0.7 && 0.7 <= p.high) cp++;
    }
    console.log(`HL intervals n=${n}: unpaired states ${(su * 100).toFixed(2)}% covered ${(cu / sims * 100).toFixed(2)}%; paired states ${(sp * 100).toFixed(2)}% covered ${(cp / sims * 100).toFixed(2)}%`);
    assert.ok(su >= 0.945 && sp >= 0.945);
    assert.ok(Math.abs(cu / sims - su) < 0.025 && Math.abs(cp / sims - sp) < 0.025);
  }
  assert.equal(pairedShift([0.1, 0.2, 0.3, 0.4, 0.5], 0.95).coverage, null, '5 pairs: no 95% interval exists (2/32 > 5%)');
});

test('Holm, effect sizes: known values', () => {
  assert.deepEqual(holmAdjust([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06]);
  assert.deepEqual(holmAdjust([0.5, 0.001]), [0.5, 0.002]);
  assert.equal(cliffsDelta([1, 2, 3], [4, 5, 6]), 1);
  assert.equal(cliffsDelta([1, 2, 3], [2, 2, 2]), 0);
  assert.equal(rankBiserial([1, 2, 3, -4]), (6 - 4) / 10);
});

test('like with like: a different probe backend, level, sample interval, cross-validation or occupancy source is a listed difference', () => {
  const mk = (backend: string, level: string, probes: Record<string, unknown>, occ?: string) => ({
    id: 'x', profile: { duration: 1, rampUp: 0, target: 'host', seed: 1 },
    variants: [{ name: 'default', baseline: true, workload: {}, probes, trials: [{ status: 'ok', warmup: false, overhead: false, repetition: 0, probeBackend: backend, probeLevel: level, readings: { probe: occ ? { occupancySource: occ } : null }, metrics: {} }] }],
  }) as unknown as Result;
  const a = mk('tracepoint', 'counters', { level: 'counters', backend: 'auto', sampleIntervalMs: 10, measureOverhead: false }, 'accepted-minus-read');
  const b = mk('fentry', 'counters', { level: 'counters', backend: 'auto', sampleIntervalMs: 20, measureOverhead: true }, 'queue');
  const d = probeDifferences(a, b).join('\n');
  assert.match(d, /probe backend \(trials\): "tracepoint" vs "fentry"/);
  assert.match(d, /probes\.sampleIntervalMs: 10 vs 20/);
  assert.match(d, /probes\.measureOverhead: false vs true/);
  assert.match(d, /occupancy source \(trials\): "accepted-minus-read" vs "queue"/);
  assert.deepEqual(probeDifferences(a, a), []);
  // A field only one side has (older results) is compared only where it exists on both sides' trials.
  const old = mk('tracepoint', 'counters', { level: 'counters', backend: 'auto', sampleIntervalMs: 10, measureOverhead: false });
  assert.match(probeDifferences(a, old).join('\n'), /occupancy source \(trials\): "accepted-minus-read" vs absent/);
  assert.throws(() => compareResults(a, b), (e: Error & { exitCode?: number }) => e.exitCode === 2 && /not comparable[\s\S]*fentry/.test(e.message));
  const forced = compareResults(a, b, { force: true });
  assert.equal(forced.forced, true);
  assert.ok(forced.differences.some((x) => /fentry/.test(x)));
});
