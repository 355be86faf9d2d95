// Which metric detects a kernel change with fewer paired rounds: the rates (rx_pps, xmit_pps,
// offered_pps) or the CPU costs per packet (generator_cpu_ns_per_packet,
// consumer_cpu_ns_per_packet)? Reads each metric's real spread from an interleaved result
// (the between-trial robust CV of each variant and the robust SD of the per-round log-ratio of
// each variant against its compareTo/baseline), then runs gate() itself on seeded synthetic
// results at that spread (src/analysis/simulate.ts: the model behind "Choosing repetitions"),
// with one gated metric, and prints the fail rate per number of rounds for a given change and
// for A/A. On the log scale a 3% rise of a cost and a 3% fall of a rate are the same test.
//   npx tsx bench/cost-power.ts RESULT [--change 3%] [--limit 1%] [--sims 300] [--rounds 4,8,12,20]
import { readFileSync } from 'node:fs';
import { roundPairs } from '../src/analysis/compare.ts';
import { mad, median } from '../src/analysis/descriptive.ts';
import { simulateGate } from '../src/analysis/simulate.ts';
import { metricValues } from '../src/analysis/summary.ts';
import type { MetricName } from '../src/metrics.ts';
import type { Result } from '../src/types.ts';

const args = process.argv.slice(2);
const opt = (name: string, d: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : d;
};
const frac = (s: string) => (s.endsWith('%') ? Number(s.slice(0, -1)) / 100 : Number(s));
const file = args[0];
if (!file || file.startsWith('--')) {
  console.error('usage: npx tsx bench/cost-power.ts RESULT [--change 3%] [--limit 1%] [--sims 300] [--rounds 4,8,12,20]');
  process.exit(2);
}
const result = JSON.parse(readFileSync(file.endsWith('.json') ? file : `${file}/result.json`, 'utf8')) as Result;
const change = frac(opt('--change', '3%'));
const limit = frac(opt('--limit', '1%'));
const sims = Number(opt('--sims', '300'));
const rounds = opt('--rounds', '4,8,12,20').split(',').map(Number);
const METRICS: MetricName[] = ['offered_pps', 'xmit_pps', 'rx_pps', 'generator_cpu_ns_per_packet', 'consumer_cpu_ns_per_packet'];
const robustCv = (xs: number[]) => (1.4826 * mad(xs)) / median(xs);

console.log(`${file}: ${result.variants.length} variants, ${change * 100}% change, gate limit ${limit * 100}%, alpha 0.05, one gated metric, ${sims} simulations a cell`);
console.log(`metric                        CV   pair SD  ${rounds.map((n) => `n=${n} (A/A)`.padStart(15)).join(' ')}`);
for (const m of METRICS) {
  const cvs: number[] = [];
  const pairSds: number[] = [];
  for (const v of result.variants) {
    const xs = metricValues(v.trials, m);
    if (xs.length >= 3) cvs.push(robustCv(xs));
    const base = result.variants.find((b) => b.name === v.compareTo) ?? null;
    if (!base || base === v) continue;
    const lr = roundPairs(base.trials, v.trials, m).map(([a, b]) => Math.log(b / a));
    if (lr.length >= 3) pairSds.push(1.4826 * mad(lr));
  }
  if (cvs.length === 0 || pairSds.length === 0) {
    console.log(`${m.padEnd(28)} (not in this result)`);
    continue;
  }
  const model = { cv: median(cvs), pairSd: median(pairSds) };
  const cells = rounds.map((n) => {
    const g = { metrics: ['rx_pps'], maxRegression: limit, alpha: 0.05, noiseThreshold: 0 };
    const power = simulateGate({ n, change, analysis: 'paired', model, sims, gate: g, seed: 7 }).failRate;
    const aa = simulateGate({ n, change: 0, analysis: 'paired', model, sims, gate: g, seed: 11 }).failRate;
    return `${(power * 100).toFixed(0)}% (${(aa * 100).toFixed(1)}%)`.padStart(15);
  });
  console.log(`${m.padEnd(28)} ${(model.cv * 100).toFixed(1).padStart(4)}% ${(model.pairSd * 100).toFixed(2).padStart(6)}%  ${cells.join(' ')}`);
}
