// Noise out of the way (issue 24): a CPU-starved side flagged, one outlier line per variant,
// the cross-checks counted in one line. Pure; every trial is named by its number as the run
// numbered it (trialNumber).
import type { MetricName } from '../metrics.ts';
import type { CrossCheck, TrialResult, VariantResult } from '../types.ts';
import { isMeasured, trialNumber } from './summary.ts';
import type { VariantSummary } from './types.ts';

/** A pinned side that got less than this share of each CPU it was given was starved of CPU:
 * an unthrottled generator spins on its CPU(s), and a reader with a full queue always has work,
 * so either below 80% means something else ran there (the machine was busy), not the queue. */
export const STARVED_BELOW = 0.8;
/** The reader counts as behind (always work to do) when tun dropped at least this share. */
const READER_BEHIND_DROPS = 0.01;

export interface StarvedSide {
  side: 'generator' | 'consumer';
  /** Trials (as the run numbered them) where it got less than STARVED_BELOW of its CPUs. */
  trials: number[];
  of: number;
  /** Its CPU use in those trials, percent of one CPU. */
  minPct: number;
  maxPct: number;
  /** The CPUs it was pinned to (trafgen cpus; the reader 1). */
  cpus: number;
}

/** Which pinned side of a flood was starved of CPU in which measured trials (empty: none). Only
 * where "should be busy" holds: an unthrottled trafgen flood (pktgen runs in kernel threads and
 * has no process to time), and a pinned sink or wire whose queue overflowed. */
export function starvedSides(v: Pick<VariantResult, 'workload' | 'trials'>): StarvedSide[] {
  const trials = v.trials.filter(isMeasured);
  const w = v.workload;
  const out: StarvedSide[] = [];
  const check = (side: StarvedSide['side'], cpus: number, pick: (t: TrialResult) => number | null | undefined, applies: (t: TrialResult) => boolean) => {
    const low = trials.flatMap((t) => {
      const pct = pick(t);
      return typeof pct === 'number' && applies(t) && pct < STARVED_BELOW * 100 * cpus ? [{ n: trialNumber(t), pct }] : [];
    });
    if (low.length) out.push({ side, trials: low.map((x) => x.n), of: trials.length, minPct: Math.min(...low.map((x) => x.pct)), maxPct: Math.max(...low.map((x) => x.pct)), cpus });
  };
  const g = w.generator;
  if (g.type === 'trafgen' && g.rate === 0 && !w.transfer) check('generator', g.cpus, (t) => t.metrics.cpu_generator_pct, () => true);
  const c = w.consumer;
  if ((c.type === 'sink' || c.type === 'wire') && c.cpu !== -1) check('consumer', 1, (t) => t.metrics.cpu_consumer_pct, (t) => (t.metrics.drop_ratio ?? 0) >= READER_BEHIND_DROPS);
  return out;
}

const range = (a: number, b: number) => (Math.round(a) === Math.round(b) ? `${Math.round(a)}%` : `${Math.round(a)}-${Math.round(b)}%`);
const list = (ns: number[]) => (ns.length === 1 ? `trial ${ns[0]}` : `trials ${ns.join(', ')}`);

/** "starved of CPU: the generator got 44-79% of a CPU in 3 of 5 trials (trials 2, 5, 8) ..." */
export function starvedWords(s: StarvedSide): string {
  const of = s.cpus === 1 ? 'a CPU' : `its ${s.cpus} CPUs (${s.cpus * 100}%)`;
  const why = s.side === 'generator' ? 'pinned, on an unthrottled flood' : 'pinned, with its queue overflowing';
  return `starved of CPU: the ${s.side === 'generator' ? 'generator' : 'reader'} got ${range(s.minPct, s.maxPct)} of ${of} in ${s.trials.length} of ${s.of} trials (${list(s.trials)}) while ${why}, below the ${STARVED_BELOW * 100}% it should have: the machine was busy`;
}

/** One line per variant naming every outlier trial and the metrics it is an outlier in
 * (outliers: indexes into the variant's measured trials that have a value of that metric). */
export function outlierLine(label: string, v: Pick<VariantResult, 'trials'>, sv: Pick<VariantSummary, 'metrics'>): string | null {
  const trials = v.trials.filter(isMeasured);
  const byTrial = new Map<number, MetricName[]>();
  for (const [m, s] of Object.entries(sv.metrics) as [MetricName, VariantSummary['metrics'][MetricName]][]) {
    if (!s || s.outliers.length === 0) continue;
    const withValue = trials.filter((t) => typeof t.metrics[m] === 'number' && Number.isFinite(t.metrics[m]));
    for (const i of s.outliers) {
      const t = withValue[i];
      if (!t) continue;
      const n = trialNumber(t);
      byTrial.set(n, [...(byTrial.get(n) ?? []), m]);
    }
  }
  if (byTrial.size === 0) return null;
  const ns = [...byTrial.keys()].sort((a, b) => a - b);
  const first = trials.length ? trialNumber(trials[0]!) : -1;
  const parts = ns.map((n) => `trial ${n} in ${byTrial.get(n)!.join(', ')}`);
  return `outliers in ${label}: ${ns.length} of ${trials.length} trials lie beyond 3 MADs from the median (${parts.join('; ')}). The machine may have been busy: rerun on a quiet machine, or raise repetitions.${ns.includes(first) && ns.length === 1 ? ` Only its first trial is an outlier: the warm-up may be too short (raise warmupTrials or rampUp).` : ''}`;
}

/** The cross-checks in one line: "144 of 144 cross-checks exact", or how many agree within tolerance and how many disagree. */
export function crossCheckLine(checks: readonly { check: CrossCheck }[]): string {
  if (checks.length === 0) return 'No cross-checks: no probes were attached (probe level off).';
  const exact = checks.filter((c) => c.check.ok && c.check.relativeDifference === 0).length;
  const within = checks.filter((c) => c.check.ok).length - exact;
  const bad = checks.length - exact - within;
  const parts = [`${exact} of ${checks.length} cross-checks exact`];
  if (within) parts.push(`${within} within tolerance`);
  if (bad) parts.push(`${bad} DISAGREE beyond tolerance`);
  return `${parts.join(', ')}.`;
}
