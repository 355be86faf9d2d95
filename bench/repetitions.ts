// How many repetitions detect a given change? Reads the spread of xmit_pps and rx_pps from
// real results of this machine, then simulates the gate's verdict rule at that spread for
// n = 3..30 trials per side: power for the given change and the A/A false-positive rate.
//   npx tsx bench/repetitions.ts RESULT [RESULT ...] [--change 3%]
import { compareSamples } from '../src/analysis/compare.ts';
import { mad, median } from '../src/analysis/descriptive.ts';
import { seededRandom } from '../src/analysis/random.ts';
import { metricValues } from '../src/analysis/summary.ts';
import { readResult } from '../src/result/store.ts';

const args = process.argv.slice(2);
const ci = args.indexOf('--change');
const change = ci >= 0 ? Number(args[ci + 1]!.replace('%', '')) / 100 : 0.03;
const files = args.filter((a, i) => a !== '--change' && i !== ci + 1);
const results = files.map((f) => readResult(f));
const spread: Record<string, number> = {};
for (const m of ['xmit_pps', 'rx_pps'] as const) {
  // Robust coefficient of variation per variant (1.4826 MAD / median), the largest one.
  const cvs = results.flatMap((r) => r.variants.map((v) => metricValues(v.trials, m))).filter((xs) => xs.length >= 3).map((xs) => (1.4826 * mad(xs)) / median(xs));
  spread[m] = Math.max(...cvs);
  const all = results.flatMap((r) => r.variants.flatMap((v) => metricValues(v.trials, m)));
  console.log(`${m}: ${all.length} trials, median ${(median(all) / 1e6).toFixed(3)} Mpps, robust CV ${(spread[m]! * 100).toFixed(2)}% (min ${(Math.min(...all) / 1e6).toFixed(3)}, max ${(Math.max(...all) / 1e6).toFixed(3)})`);
}
const cv = Math.max(spread.xmit_pps!, spread.rx_pps!);
const rand = seededRandom(99);
const normal = () => Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());
const draw = (n: number, mu: number) => Array.from({ length: n }, () => mu * (1 + cv * normal()));
const opts = { noiseThreshold: 0.02, alpha: 0.05, seed: 1, resamples: 200, minTrials: 3 };
console.log(`\nsimulated at CV ${(cv * 100).toFixed(2)}%, a ${(change * 100).toFixed(1)}% drop, noise threshold 2%, alpha 0.05 (300 simulations each):`);
let chosen: number | null = null;
for (const n of [3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 35, 40, 50, 60]) {
  let hit = 0;
  let fp = 0;
  for (let i = 0; i < 300; i++) {
    if (compareSamples('rx_pps', { label: 'A', xs: draw(n, 1) }, { label: 'B', xs: draw(n, 1 - change) }, opts).verdict === 'regressed') hit++;
    if (compareSamples('rx_pps', { label: 'A', xs: draw(n, 1) }, { label: 'B', xs: draw(n, 1) }, opts).verdict !== 'unchanged') fp++;
  }
  console.log(`  n=${String(n).padStart(2)}: detected ${(hit / 3).toFixed(1)}%, A/A false positives ${(fp / 3).toFixed(1)}%`);
  if (chosen === null && hit / 300 >= 0.8 && fp / 300 <= 0.05) chosen = n;
}
console.log(chosen ? `\nsmallest n with >= 80% power and <= 5% false positives: ${chosen}` : '\nno n up to 60 reaches 80% power at this spread');
