// Benchmark: what running two kernels in one interleaved run costs, and what it buys. Runs the
// same trials three ways, one after the other:
//   1. one run, two VMs of the same kernel (an A/A: --kernel a=K --kernel b=K), interleaved
//   2. and 3. two separate single-kernel runs of the same profile
// and prints the wall time of each (boot, trials, per-trial cost beyond the window, pauses),
// and the A/A's spread both ways: the paired per-round ratio b/a within run 1 (Hodges-Lehmann
// interval, Wilcoxon) against the unpaired ratio of run 3 to run 2 (Mann-Whitney), on rx_pps.
//   npx tsx bench/kernel-interleave.ts [KERNEL=debian] [REPETITIONS=8] [PROFILE=vm-quick]
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { compareResults, compareWithinResult } from '../src/analysis/compare.ts';
import type { MetricComparison } from '../src/analysis/types.ts';
import type { Result, TrialResult } from '../src/types.ts';

const kernel = process.argv[2] ?? 'debian';
const reps = process.argv[3] ?? '8';
const profile = process.argv[4] ?? 'vm-quick';
const tmp = mkdtempSync(join(tmpdir(), 'tunbench-interleave-'));

async function bench(name: string, extra: string[]): Promise<{ result: Result; seconds: number }> {
  const out = join(tmp, name);
  const t0 = Date.now();
  const r = await execa('npx', ['tsx', 'src/cli.ts', 'bench', '--profile', profile, '--repetitions', reps, '--warmup-trials', '1', '--out', out, '--progress', 'plain', '--no-report', ...extra], { reject: false, all: true });
  const seconds = (Date.now() - t0) / 1000;
  if (!existsSync(join(out, 'result.json'))) { console.error(r.all); process.exit(2); }
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Result;
  if (result.status !== 'complete') { console.error(`${name}: ${result.status}: ${result.statusReason}`); process.exit(2); }
  return { result, seconds };
}

const trials = (r: Result): TrialResult[] => r.variants.flatMap((v) => v.trials);
const window = (r: Result): number => trials(r).reduce((s, t) => s + t.windowSeconds + r.profile.rampUp, 0);
const f1 = (x: number) => x.toFixed(1);

const inter = await bench('interleaved', ['--kernel', `a=${kernel}`, '--kernel', `b=${kernel}`]);
const one = await bench('single-1', ['--kernel', kernel]);
const two = await bench('single-2', ['--kernel', kernel]);

const boots = (r: Result): number => {
  if (r.variants.some((v) => v.environment)) return r.variants.reduce((s, v, i, all) => (all.findIndex((x) => x.environment?.vmName === v.environment?.vmName) === i ? s + (v.environment!.vm.bootSeconds) : s), 0);
  return r.environment.vm?.bootSeconds ?? NaN;
};
console.log(`kernel ${kernel}, profile ${profile}, ${reps} measured trials + 1 warm-up per variant (per run for the single runs); wall seconds`);
console.log('run                         wall    boots   trials  per trial beyond ramp-up+window   pauses (QMP ms)');
const n1 = trials(inter.result).length;
const pauses = inter.result.variants.filter((v, i, all) => all.findIndex((x) => x.environment?.vmName === v.environment?.vmName) === i).reduce((s, v) => ({ count: s.count + (v.environment?.vm.switches?.count ?? 0), ms: s.ms + (v.environment?.vm.switches?.seconds ?? 0) * 1000 }), { count: 0, ms: 0 });
console.log(`interleaved A/A (2 VMs)  ${f1(inter.seconds).padStart(7)}  ${f1(boots(inter.result)).padStart(6)}  ${String(n1).padStart(6)}  ${f1((inter.seconds - window(inter.result)) / n1).padStart(8)} (all overheads / trial)        ${pauses.count} (${pauses.ms.toFixed(0)})`);
for (const [label, r] of [['single run 1', one], ['single run 2', two]] as const) {
  const n = trials(r.result).length;
  console.log(`${label.padEnd(24)} ${f1(r.seconds).padStart(7)}  ${f1(boots(r.result)).padStart(6)}  ${String(n).padStart(6)}  ${f1((r.seconds - window(r.result)) / n).padStart(8)}`);
}
console.log(`two single runs together: ${f1(one.seconds + two.seconds)} s against ${f1(inter.seconds)} s interleaved`);

const show = (label: string, c: MetricComparison | undefined) => {
  if (!c) { console.log(`${label}: no comparison`); return; }
  console.log(`${label.padEnd(40)} ratio ${c.ratio.toFixed(3)}  95% interval [${c.ratioCiLow.toFixed(3)}, ${c.ratioCiHigh.toFixed(3)}] (width ${((c.ratioCiHigh - c.ratioCiLow) * 100).toFixed(1)} points)  p ${c.pValue.toPrecision(2)}  ${c.analysis}${c.analysis === 'paired' ? `, ${c.pairs} rounds` : ''}`);
};
const metric = 'rx_pps' as const;
show('A/A in one interleaved run (b / a)', compareWithinResult(inter.result, { metrics: [metric], judgedMetrics: [metric] }).comparisons.find((c) => c.metric === metric));
show('A/A as two separate runs (2 / 1)', compareResults(one.result, two.result, { metrics: [metric], judgedMetrics: [metric], force: true }).comparisons.find((c) => c.metric === metric));
const med = (r: Result) => { const xs = trials(r).filter((t) => !t.warmup).map((t) => t.metrics[metric]!).sort((a, b) => a - b); return xs[Math.floor(xs.length / 2)]!; };
console.log(`medians (kpps): interleaved a ${(med({ ...inter.result, variants: [inter.result.variants[0]!] }) / 1e3).toFixed(1)}, b ${(med({ ...inter.result, variants: [inter.result.variants[1]!] }) / 1e3).toFixed(1)}; separate 1 ${(med(one.result) / 1e3).toFixed(1)}, 2 ${(med(two.result) / 1e3).toFixed(1)}`);
console.log(`results: ${tmp}`);
