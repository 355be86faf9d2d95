// Benchmark: what the probes cost, measured by tunbench itself. Runs a profile whose variants
// put probe levels side by side in one interleaved run (bench/probe-overhead.yaml: off /
// counters / full at tx_queue_len 1000 and 64; bench/vm-probe-overhead.yaml: the same in a
// VM on the patched kernel, one variant per attach point), then prints, for each probed variant
// against its probes-off twin (compareTo), every side: offered, xmit and rx rates and the
// sender's and the reader's CPU per packet, as per-round ratios (the twins share rounds of one
// interleaved run); the drop ratio; what the eBPF run-time statistics and bpftrace's process
// say they cost; and what each program cost.
//   npx tsx bench/probe-overhead.ts [PROFILE=bench/probe-overhead.yaml | RESULT.json] [bench flags...]
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { pairedShift } from '../src/analysis/wilcoxon.ts';
import type { Result, TrialResult } from '../src/types.ts';

const arg = process.argv[2] ?? 'bench/probe-overhead.yaml';
let resultFile = arg;
if (!arg.endsWith('.json')) {
  const out = mkdtempSync(join(tmpdir(), 'tunbench-overhead-'));
  const r = await execa('npx', ['tsx', 'src/cli.ts', 'bench', '--profile', arg, '--out', out, '--progress', 'plain', '--no-report', ...process.argv.slice(3)], { stdio: 'inherit', reject: false });
  resultFile = join(out, 'result.json');
  if (!existsSync(resultFile)) process.exit(r.exitCode ?? 2);
}
const result = JSON.parse(readFileSync(resultFile, 'utf8')) as Result;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const measured = (name: string): TrialResult[] => result.variants.find((v) => v.name === name)?.trials.filter((t) => t.status === 'ok' && !t.warmup) ?? [];
const med = (name: string, m: keyof TrialResult['metrics']) => median(measured(name).map((t) => t.metrics[m]).filter((x): x is number => x !== null));
const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '-');

console.log(`probe overhead: ${result.profile.name}, kernel ${result.environment.kernel.release}${result.environment.vm ? ` (VM, ${result.environment.vm.accel})` : ''}, ${measured(result.variants[0]!.name).length} measured trials a variant, interleaved`);
console.log('Every side, probed / probes off: the median of the per-round ratios (min..max over the rounds); rates in Mpps and CPU in ns per packet are medians.');
const sides = [['offered', 'offered_pps'], ['xmit', 'xmit_pps'], ['rx', 'rx_pps'], ['sender ns/pkt', 'generator_cpu_ns_per_packet'], ['reader ns/pkt', 'consumer_cpu_ns_per_packet']] as const;
console.log(`${'variant'.padEnd(15)} ${'level'.padEnd(8)} ${sides.map(([l]) => l.padStart(24)).join(' ')} ${'drop ratio'.padStart(11)} ${'eBPF %CPU'.padStart(9)} ${'bpftrace %CPU'.padStart(13)}`);
for (const v of result.variants) {
  const ts = measured(v.name);
  const twin = v.compareTo ?? null;
  const off = twin ? measured(twin) : [];
  const cells = sides.map(([, m]) => {
    const value = med(v.name, m);
    const shown = m.endsWith('_pps') ? f(value / 1e6) : f(value, 0);
    if (!twin || v.probes.level === 'off') return shown.padStart(24);
    const byRound = new Map(off.map((t) => [t.repetition, t.metrics[m]]));
    const ratios = ts.map((t) => [t.metrics[m], byRound.get(t.repetition)] as const).filter((x): x is readonly [number, number] => typeof x[0] === 'number' && typeof x[1] === 'number' && x[1] > 0).map(([a, b]) => a / b);
    return `${shown} x${f(median(ratios))} (${f(Math.min(...ratios), 2)}..${f(Math.max(...ratios), 2)})`.padStart(24);
  });
  const drop = `${f(med(v.name, 'drop_ratio'))}`;
  console.log(`${v.name.padEnd(15)} ${v.probes.level.padEnd(8)} ${cells.join(' ')} ${drop.padStart(11)} ${f(med(v.name, 'probe_cpu_pct'), 2).padStart(9)} ${f(med(v.name, 'probe_process_cpu_pct'), 2).padStart(13)}`);
}
// Against the 2% target: the paired Hodges-Lehmann estimate of each side's ratio and its 95%
// interval (Wilcoxon signed-rank, on the per-round log ratios): 'within 2%' when the whole
// interval is, 'beyond 2%' when the whole interval is outside, else 'not resolved'.
console.log('Paired estimate per side, probed / probes off: Hodges-Lehmann [95% CI] over the rounds\' log ratios; against a 2% target.');
for (const v of result.variants) {
  if (!v.compareTo || v.probes.level === 'off') continue;
  const byRound = (name: string, m: string) => new Map(measured(name).map((t) => [t.repetition, (t.metrics as Record<string, number | null>)[m]]));
  const cells = sides.map(([label, m]) => {
    const a = byRound(v.name, m);
    const b = byRound(v.compareTo!, m);
    const logs = [...a.entries()].map(([r, x]) => [x, b.get(r)] as const).filter((x): x is readonly [number, number] => typeof x[0] === 'number' && typeof x[1] === 'number' && x[0] > 0 && x[1] > 0).map(([x, y]) => Math.log(x / y));
    const s = pairedShift(logs, 0.95);
    const [e, lo, hi] = [s.estimate, s.low, s.high].map(Math.exp) as [number, number, number];
    const limit = Math.log(1.02);
    const verdict = !Number.isFinite(lo) ? 'too few rounds' : Math.abs(s.low) <= limit && Math.abs(s.high) <= limit ? 'within 2%' : s.low > limit || s.high < -limit ? 'beyond 2%' : 'not resolved';
    return `${label} ${f(e)} [${f(lo)}, ${f(hi)}] ${verdict}`;
  });
  console.log(`  ${v.name.padEnd(15)} ${cells.join('; ')}`);
}
console.log('what each part costs (eBPF run time per second of window, % of one CPU, and runs per second; medians over trials):');
for (const v of result.variants) {
  const parts = new Map<string, { pct: number[]; rate: number[] }>();
  for (const t of measured(v.name)) {
    const w = t.readings ? (t.readings.window.endNs - t.readings.window.startNs) / 1e9 : t.windowSeconds;
    for (const p of Object.values(t.readings?.probe?.bpf?.byProgram ?? {})) {
      const e = parts.get(p.name ?? '?') ?? { pct: [], rate: [] };
      e.pct.push((p.runTimeNs / 1e9 / w) * 100);
      e.rate.push(p.runCount / w);
      parts.set(p.name ?? '?', e);
    }
  }
  if (parts.size === 0) continue;
  console.log(`  ${v.name}: ${[...parts.entries()].sort((a, b) => median(b[1].pct) - median(a[1].pct)).map(([n, e]) => `${n} ${f(median(e.pct), 2)}% (${Math.round(median(e.rate))}/s)`).join(', ')}`);
}
const bad = result.variants.flatMap((v) => v.trials).flatMap((t) => t.crossCheck.filter((c) => !c.ok).map((c) => `trial ${t.index}: ${c.name}: ${c.probe} vs ${c.counter}`));
console.log(bad.length === 0 ? 'cross-checks: every count closed exactly on every trial' : `cross-checks failed:\n  ${bad.join('\n  ')}`);
console.log(`result: ${resultFile}`);
