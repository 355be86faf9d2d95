// What the probes really cost, measured against probes off on the same workload, on every
// side: the generator's (offered rate, CPU per packet handed to the tap), the queue's (xmit),
// the reader's (rx rate, CPU per packet read). The eBPF run-time statistics (probe_cpu_pct)
// count the programs alone, not the tracepoint's record, dispatch and the statistics' own
// clock reads, and say nothing of which side pays: they understate the cost several times
// over on a per-drop tracepoint (../shared/platform-notes.md). The source is either the
// variant's own probes-off twins (probes.measureOverhead) or a stored calibration of this
// machine, kernel and probe scripts (tunbench calibrate), said in `source`.
import { METRICS, type MetricName } from '../metrics.ts';
import type { TrialResult, VariantResult } from '../types.ts';
import { median } from './descriptive.ts';

/** Every side a probe can tax, in the order shown. */
export const PROBE_COST_METRICS = ['offered_pps', 'xmit_pps', 'rx_pps', 'generator_cpu_ns_per_packet', 'consumer_cpu_ns_per_packet'] as const satisfies readonly MetricName[];

/** The cost above which the report warns that the probes moved what they measure. */
export const PROBE_COST_WARN = 0.03;

export interface ProbeCostSide {
  metric: MetricName;
  /** Medians with probes on and of the probes-off twins. */
  withProbes: number;
  probesOff: number;
  /** What the probes cost on this side, as a fraction, positive = worse with probes: 1 - on/off
   * for a rate (higher is better), on/off - 1 for a CPU cost (lower is better). From the
   * per-round ratios (median) when twins share rounds, else from the ratio of the medians. */
  cost: number;
  /** Range of the per-round costs (NaN without rounds). */
  costMin: number;
  costMax: number;
  /** Rounds with both a probed trial and its twin (0: unpaired medians). */
  rounds: number;
}

export interface ProbeCost {
  level: string;
  /** twins: the variant's own probes-off copies; off-variant: a probes-off variant on the same
   * workload that it is compared with (compareTo), in the same run; calibration: stored. */
  source: 'twins' | 'off-variant' | 'calibration';
  offVariant?: string;
  /** For a calibration: where it is stored and when it was measured. */
  calibration?: { file: string; measuredAt: string; rounds: number };
  sides: ProbeCostSide[];
  /** The side that pays most (null when no side could be measured). */
  worst: ProbeCostSide | null;
  /** Median probe_cpu_pct of the probed trials: what the eBPF run-time statistics state. */
  bpfCpuPct: number | null;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** A measured trial with probes on (summary.ts's rule: ok, not a warm-up, not a twin). */
const isMeasured = (t: TrialResult): boolean => t.status === 'ok' && !t.warmup && !t.overhead;

function sideCost(metric: MetricName, on: number, off: number): number {
  return METRICS[metric].better === 'higher' ? 1 - on / off : on / off - 1;
}

/** The cost of one variant's probes from its own probes-off twins; undefined without twins. */
export function costFromTwins(v: VariantResult): ProbeCost | undefined {
  if (v.probes.level === 'off') return undefined;
  const probed = v.trials.filter(isMeasured);
  const twins = v.trials.filter((t) => t.overhead && t.status === 'ok' && !t.warmup);
  if (probed.length === 0 || twins.length === 0) return undefined;
  return costOf(v.probes.level, probed, twins);
}

/** Probed trials against probes-off trials, paired by repetition where both have one. */
export function costOf(level: string, probed: TrialResult[], off: TrialResult[]): ProbeCost {
  const sides: ProbeCostSide[] = [];
  for (const metric of PROBE_COST_METRICS) {
    const on = probed.map((t) => t.metrics[metric]).filter(finite);
    const offs = off.map((t) => t.metrics[metric]).filter(finite);
    if (on.length === 0 || offs.length === 0) continue;
    const withProbes = median(on);
    const probesOff = median(offs);
    if (!(probesOff > 0)) continue;
    const offByRound = new Map<number, number>();
    for (const t of off) if (finite(t.metrics[metric]) && !offByRound.has(t.repetition)) offByRound.set(t.repetition, t.metrics[metric]!);
    const perRound: number[] = [];
    for (const t of probed) {
      const a = t.metrics[metric];
      const b = offByRound.get(t.repetition);
      if (finite(a) && b !== undefined && b > 0) perRound.push(sideCost(metric, a, b));
    }
    const cost = perRound.length > 0 ? median(perRound) : sideCost(metric, withProbes, probesOff);
    sides.push({ metric, withProbes, probesOff, cost, costMin: perRound.length ? Math.min(...perRound) : NaN, costMax: perRound.length ? Math.max(...perRound) : NaN, rounds: perRound.length });
  }
  const worst = sides.reduce<ProbeCostSide | null>((w, s) => (w === null || s.cost > w.cost ? s : w), null);
  const bpf = probed.map((t) => t.metrics.probe_cpu_pct).filter(finite);
  return { level, source: 'twins', sides, worst, bpfCpuPct: bpf.length ? median(bpf) : null };
}

/** "offered -0.4%, xmit +0.2%, ..., generator CPU/packet +1.1%": the cost on every side, signed as a change. */
export function describeCost(c: ProbeCost): string {
  const label: Record<string, string> = { offered_pps: 'offered', xmit_pps: 'xmit', rx_pps: 'rx', generator_cpu_ns_per_packet: 'sender CPU/packet', consumer_cpu_ns_per_packet: 'reader CPU/packet' };
  const pct = (s: ProbeCostSide) => {
    const change = METRICS[s.metric].better === 'higher' ? -s.cost : s.cost;
    return `${label[s.metric] ?? s.metric} ${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%`;
  };
  const rounds = c.sides[0]?.rounds ? `, paired over ${c.sides[0].rounds} rounds` : '';
  const from = c.source === 'twins' ? `probes-off twins${rounds}` : c.source === 'off-variant' ? `the probes-off variant ${c.offVariant ?? '?'}${rounds}` : `calibration ${c.calibration?.file ?? ''} of ${c.calibration?.measuredAt ?? '?'} (default flood)`;
  return `${c.sides.map(pct).join(', ')} (${c.level} vs off, from ${from}; eBPF run time ${c.bpfCpuPct === null ? '-' : `${c.bpfCpuPct.toFixed(2)}% of a CPU`})`;
}
