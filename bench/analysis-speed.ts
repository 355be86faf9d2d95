// Benchmark (tinybench): the analysis hot paths, timed in-process. tinybench is for exactly
// this, timing functions of the harness itself; the trial statistics are tunbench's own
// (bootstrap, Mann-Whitney), since tinybench's statistics describe timing samples.
//   npx tsx bench/analysis-speed.ts
import { Bench } from 'tinybench';
import { bootstrapMedianCI } from '../src/analysis/bootstrap.ts';
import { compareWithinResult } from '../src/analysis/compare.ts';
import { mannWhitneyU } from '../src/analysis/mann-whitney.ts';
import { seededRandom } from '../src/random.ts';
import { summarize } from '../src/analysis/summary.ts';
import { fixtureResult } from '../test/helpers/result-fixture.ts';

const xs = Array.from({ length: 50 }, (_, i) => 1e6 + ((i * 7919) % 101) * 100);
const ys = xs.map((x) => x * 0.97);
const small = fixtureResult({ variants: ['a', 'b'], trials: 5 });
const large = fixtureResult({ variants: ['v1', 'v2', 'v3', 'v4', 'v5'], trials: 50, points: 100 });
const bench = new Bench({ time: 500, iterations: 3 });
bench
  .add('bootstrap CI of a median, n=50, 10k resamples', () => void bootstrapMedianCI(xs, { resamples: 10_000, rand: seededRandom(1) }))
  .add('Mann-Whitney U, 50 vs 50', () => void mannWhitneyU(xs, ys))
  .add('summarize: 2 variants x 5 trials', () => void summarize(small))
  .add('compareWithinResult: 2 variants x 5 trials', () => void compareWithinResult(small))
  .add('compareWithinResult: 5 variants x 50 trials', () => void compareWithinResult(large));
await bench.run();
console.table(bench.table());
