// What the probes cost on every side, from probes-off trials of the same run: signs by the
// metric's direction, pairing by round, and the sources a result can state (twins, a
// probes-off variant it is compared with, a stored calibration).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { costFromTwins, costOf } from '../../src/analysis/probe-cost.ts';
import { probeCostOf } from '../../src/analysis/summary.ts';
import { emptyMetrics } from '../../src/metrics.ts';
import type { Result, TrialResult, VariantResult } from '../../src/types.ts';

const trial = (repetition: number, overhead: boolean, m: Partial<ReturnType<typeof emptyMetrics>>): TrialResult =>
  ({ index: 0, variant: 'v', repetition, warmup: false, overhead, status: 'ok', metrics: { ...emptyMetrics(), ...m } }) as unknown as TrialResult;

// Round r: probes off at rx 1.0e6 * drift_r, probed at 0.98 of that; sender CPU 1000 -> 1010 ns.
const drift = [1, 0.7, 1.2, 0.9];
const on = drift.map((d, r) => trial(r, false, { rx_pps: 0.98e6 * d, generator_cpu_ns_per_packet: 1010 / d, probe_cpu_pct: 0.2 }));
const off = drift.map((d, r) => trial(r, true, { rx_pps: 1e6 * d, generator_cpu_ns_per_packet: 1000 / d }));

test('cost per side: paired by round, positive = worse with probes, whatever the metric\'s direction', () => {
  const c = costOf('counters', on, off);
  const rx = c.sides.find((s) => s.metric === 'rx_pps')!;
  const cpu = c.sides.find((s) => s.metric === 'generator_cpu_ns_per_packet')!;
  assert.equal(rx.rounds, 4);
  assert.ok(Math.abs(rx.cost - 0.02) < 1e-12, 'a rate 2% lower costs 2%, in every round despite the drift');
  assert.ok(Math.abs(rx.costMin - 0.02) < 1e-12 && Math.abs(rx.costMax - 0.02) < 1e-12);
  assert.ok(Math.abs(cpu.cost - 0.01) < 1e-12, 'a CPU cost 1% higher costs 1%');
  assert.equal(c.worst?.metric, 'rx_pps');
  assert.equal(c.bpfCpuPct, 0.2);
  assert.equal(c.sides.some((s) => s.metric === 'offered_pps'), false, 'a side without values is left out, not zero');
});

test('sources: twins, a probes-off variant on the same workload, a calibration, or none', () => {
  const workload = { tap: { txQueueLen: 1000 } };
  const v = (name: string, level: string, trials: TrialResult[], extra: Partial<VariantResult> = {}) => ({ name, baseline: false, probes: { level, measureOverhead: false }, workload, trials, ...extra }) as unknown as VariantResult;
  const twinned = v('c', 'counters', [...on, ...off]);
  assert.equal(costFromTwins(twinned)?.source, 'twins');
  const result = { variants: [v('off', 'off', off.map((t) => ({ ...t, overhead: false }))), v('c', 'counters', on, { compareTo: 'off' }), v('lone', 'counters', on)] } as unknown as Result;
  const viaVariant = probeCostOf(result, result.variants[1]!);
  assert.equal(viaVariant?.source, 'off-variant');
  assert.equal(viaVariant?.offVariant, 'off');
  assert.equal(probeCostOf(result, result.variants[2]!), undefined, 'no twins, no off variant, no calibration: not measured');
  const withCal = { ...result, probeCalibration: { file: '/x.json', measuredAt: 'then', rounds: 8, costs: { counters: costOf('counters', on, off) } } } as Result;
  const cal = probeCostOf(withCal, withCal.variants[2]!);
  assert.equal(cal?.source, 'calibration');
  assert.equal(cal?.calibration?.file, '/x.json');
  // A different workload is no twin.
  const other = { variants: [v('off', 'off', off), { ...v('c', 'counters', on, { compareTo: 'off' }), workload: { tap: { txQueueLen: 64 } } }] } as unknown as Result;
  assert.equal(probeCostOf(other, other.variants[1]!), undefined);
});
