// How many repetitions does the gate need? Reads the spread of xmit_pps and rx_pps from real
// results of this machine (between trials of one run; and, for results with two or more
// variants interleaved, the per-round log-ratio), then simulates gate() itself on seeded
// synthetic results at that spread: power for the given changes and the A/A false-alarm rate
// per n, for the paired analysis (variants of one interleaved run) and the unpaired one
// (separate runs). The gate's settings come from a profile (default profiles/ci.yaml).
//   npx tsx bench/repetitions.ts RESULT [RESULT ...] [--profile PATH] [--changes 3%,5%] [--sims 400] [--cv 4%] [--pair-sd 2%]
import { readFileSync } from 'node:fs';
import { mad, median } from '../src/analysis/descriptive.ts';
import { compareWithinResult, roundPairs } from '../src/analysis/compare.ts';
import { gate } from '../src/analysis/gate.ts';
import { metricValues } from '../src/analysis/summary.ts';
import { loadProfile } from '../src/profile/load.ts';
import type { MetricName } from '../src/metrics.ts';
import type { Result } from '../src/types.ts';
import { simulateGate, type SpreadModel } from '../src/analysis/simulate.ts';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const frac = (s: string) => (s.endsWith('%') ? Number(s.slice(0, -1)) / 100 : Number(s));
const valued = new Set(['--profile', '--changes', '--sims', '--cv', '--pair-sd']);
const files = args.filter((a, i) => !valued.has(a) && !valued.has(args[i - 1] ?? ''));
const profile = loadProfile(opt('--profile') ?? 'profiles/ci.yaml').profile;
const changes = (opt('--changes') ?? '3%,5%').split(',').map(frac);
const sims = Number(opt('--sims') ?? 400);
const g = profile.gate;
const robustCv = (xs: number[]) => (1.4826 * mad(xs)) / median(xs);
const robustSd = (xs: number[]) => 1.4826 * mad(xs);

// Results are read as plain JSON: only trials' metrics, status and repetition are used, so
// results of older schema versions serve as well.
const results = files.map((f) => JSON.parse(readFileSync(f.endsWith('.json') ? f : `${f}/result.json`, 'utf8')) as Result);
const between: number[] = [];
const pairSd: number[] = [];
for (const [fi, r] of results.entries()) {
  console.log(`${files[fi]}: ${r.variants.length} variant(s), probes ${r.variants.map((v) => v.probes.level).join('/')}`);
  for (const m of ['xmit_pps', 'rx_pps'] as MetricName[]) {
    for (const v of r.variants) {
      const xs = metricValues(v.trials, m);
      if (xs.length < 3) continue;
      between.push(robustCv(xs));
      console.log(`  ${m} ${v.name}: ${xs.length} trials, median ${(median(xs) / 1e6).toFixed(3)} Mpps (min ${(Math.min(...xs) / 1e6).toFixed(3)}, max ${(Math.max(...xs) / 1e6).toFixed(3)}), between-trial robust CV ${(robustCv(xs) * 100).toFixed(2)}%`);
    }
    const base = r.variants.find((v) => v.baseline) ?? r.variants[0]!;
    for (const v of r.variants) {
      if (v === base) continue;
      const lr = roundPairs(base.trials, v.trials, m).map(([a, b]) => Math.log(b / a));
      if (lr.length < 3) continue;
      pairSd.push(robustSd(lr));
      console.log(`  ${m} ${v.name}/${base.name}: ${lr.length} rounds, per-round log-ratio median ${(median(lr) * 100).toFixed(2)}%, robust SD ${(robustSd(lr) * 100).toFixed(2)}% (a single trial's share: ${(robustSd(lr) / Math.SQRT2 * 100).toFixed(2)}%)`);
    }
  }
  if (r.variants.length >= 2) {
    for (const paired of [true, false]) {
      const cmp = compareWithinResult(r, { paired, metrics: g.metrics as MetricName[], limit: g.maxRegression, noiseThreshold: g.noiseThreshold, alpha: g.alpha });
      const out = gate({ comparison: cmp, maxRegression: g.maxRegression, metrics: g.metrics as MetricName[], alpha: g.alpha });
      console.log(`  real A/A gate, ${paired ? 'paired' : 'unpaired'}: ${out.verdict}`);
      for (const c of cmp.comparisons) console.log(`    ${c.metric}: ${c.changePct >= 0 ? '+' : ''}${c.changePct.toFixed(2)}% [${c.ratioCiLow.toFixed(3)}, ${c.ratioCiHigh.toFixed(3)}] p(no change) ${c.pValue.toPrecision(2)}, ${c.effectSize.measure} ${c.effectSize.value.toFixed(2)}, p(regression <= ${(g.maxRegression * 100).toFixed(1)}%) ${c.pBeyondLimit.toPrecision(2)}`);
    }
  }
}
const cv = opt('--cv') ? frac(opt('--cv')!) : between.length ? median(between) : 0.04;
const q = opt('--pair-sd') ? frac(opt('--pair-sd')!) : pairSd.length ? median(pairSd) : cv * Math.SQRT2;
const model: SpreadModel = { cv, pairSd: q };
console.log(`\nspread used: between-trial CV ${(cv * 100).toFixed(2)}% (median of ${between.length}), per-round log-ratio SD ${(q * 100).toFixed(2)}% (median of ${pairSd.length}; independent trials would give ${(cv * Math.SQRT2 * 100).toFixed(2)}%)`);
console.log(`gate (${opt('--profile') ?? 'profiles/ci.yaml'}): maxRegression ${(g.maxRegression * 100).toFixed(1)}%, alpha ${g.alpha}, metrics ${g.metrics.join(', ')}; ${sims} seeded simulations per cell, gate() on synthetic results`);
const ns = [3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100];
const head = ['n', ...['paired', 'unpaired'].flatMap((a) => [`${a} A/A`, `${a} at -${(g.maxRegression * 100).toFixed(0)}%`, ...changes.map((c) => `${a} -${(c * 100).toFixed(0)}%`)])];
console.log(`\n| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
const need: Record<string, number | null> = {};
for (const n of ns) {
  const cells: string[] = [String(n)];
  for (const analysis of ['paired', 'unpaired'] as const) {
    const run = (change: number) => simulateGate({ n, change, analysis, model, sims, gate: g, seed: 1000 + n });
    const aa = run(0);
    const edge = run(g.maxRegression);
    cells.push(`${(aa.failRate * 100).toFixed(1)}%`, `${(edge.failRate * 100).toFixed(1)}%`);
    for (const c of changes) {
      const s = run(c);
      cells.push(s.cannotJudge === sims ? 'n/a' : `${(s.failRate * 100).toFixed(0)}%`);
      const key = `${analysis} ${(c * 100).toFixed(0)}%`;
      if (need[key] === undefined && s.failRate >= 0.8) need[key] = n;
    }
  }
  console.log(`| ${cells.join(' | ')} |`);
}
console.log('\ntrials a side for >= 80% power (A/A false alarms stay <= alpha by construction):');
for (const analysis of ['paired', 'unpaired']) for (const c of changes) {
  const key = `${analysis} ${(c * 100).toFixed(0)}%`;
  console.log(`  ${key}: ${need[key] ?? `more than ${ns.at(-1)}`}`);
}
