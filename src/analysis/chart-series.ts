// result(s) -> the numbers of every chart: per-trial rates, histograms merged over the measured
// trials and turned into shares, the sampler's occupancy binned like the at-enqueue histogram,
// time series averaged down, and median lock contention. Pure; src/report/charts.ts only gives
// these numbers titles, axes and colours.
import type { Histogram, ProbeSamples, TrialResult, VariantResult } from '../types.ts';
import { mergeHistograms } from '../trial/metrics.ts';
import { median } from './descriptive.ts';
import { isMeasured, trialNumber } from './summary.ts';
import type { ChartPoint, ChartSeries, HistogramShares } from './types.ts';

/** A variant with the label and capacity the analysis gives it. */
export interface LabelledVariant {
  label: string;
  variant: VariantResult;
  capacity: number;
}

const measured = (v: VariantResult): TrialResult[] => v.trials.filter(isMeasured);
const probeOf = (t: TrialResult): ProbeSamples | null => t.readings?.probe ?? null;
const firstWithProbe = (v: VariantResult): TrialResult | undefined => measured(v).find((t) => probeOf(t) !== null);

/** Occupancy samples binned like the at-enqueue histogram (about 64 buckets over capacity). */
export function sampledHistogram(values: number[], capacity: number): Histogram {
  const step = Math.max(1, Math.ceil((capacity + 1) / 64));
  const counts = new Map<number, number>();
  for (const v of values) counts.set(Math.floor(v / step) * step, (counts.get(Math.floor(v / step) * step) ?? 0) + 1);
  return { buckets: [...counts.entries()].sort((x, y) => x[0] - y[0]).map(([min, count]) => ({ min, max: min + step - 1, count })) };
}

/** Each variant's histograms merged over its measured trials, as shares over the union of bucket starts (scaled). */
function shares(vs: LabelledVariant[], pick: (t: TrialResult) => Histogram | null | undefined, scale: (lv: LabelledVariant, x: number) => number): HistogramShares {
  const merged = vs.map((lv) => measured(lv.variant).map(pick).filter((h): h is Histogram => !!h).reduce((a, h) => mergeHistograms(a, h), { buckets: [] } as Histogram));
  const buckets = [...new Set(vs.flatMap((lv, i) => merged[i]!.buckets.map((b) => scale(lv, b.min))))].sort((a, b) => a - b);
  return {
    buckets,
    variants: vs.map((lv, i) => {
      const total = merged[i]!.buckets.reduce((s, b) => s + b.count, 0) || 1;
      const byKey = new Map(merged[i]!.buckets.map((b) => [scale(lv, b.min), b.count / total]));
      return { label: lv.label, shares: buckets.map((k) => byKey.get(k) ?? 0) };
    }),
  };
}

/** Each tick's time in ms after the window's first: the sampler's own (late ticks placed where
 * they fell), or the nominal interval for results that did not keep them. */
export function tickTimesMs(p: ProbeSamples): number[] {
  const n = p.occupancySeries.values.length;
  const t = p.occupancySeries.tMs;
  if (t && t.length === n) return t;
  const step = p.occupancySeries.intervalMs ?? 10;
  return [...Array(n).keys()].map((k) => k * step);
}

/** Occupancy at each tick, averaged down to at most MAX points (x: mean time of each group, s). */
export function gaugePoints(values: number[], tMs: number[], max = 300): ChartPoint[] {
  const k = Math.max(1, Math.ceil(values.length / max));
  const out: ChartPoint[] = [];
  for (let i = 0; i < values.length; i += k) {
    const n = Math.min(k, values.length - i);
    let x = 0;
    let y = 0;
    for (let j = i; j < i + n; j++) { x += tMs[j]!; y += values[j]!; }
    out.push({ x: Number((x / n / 1000).toFixed(3)), y: y / n });
  }
  return out;
}

/** Counts per tick interval (the k-th between ticks k and k+1) as rates per second over each
 * group of at most MAX points: the group's count over the group's own span (x: its end, s).
 * Late ticks merge intervals; dividing by the real span keeps a merged one from showing as a burst. */
export function ratePoints(counts: number[], tMs: number[], max = 300): ChartPoint[] {
  const k = Math.max(1, Math.ceil(counts.length / max));
  const out: ChartPoint[] = [];
  for (let i = 0; i < counts.length; i += k) {
    const n = Math.min(k, counts.length - i);
    let c = 0;
    for (let j = i; j < i + n; j++) c += counts[j]!;
    const span = (tMs[i + n]! - tMs[i]!) / 1000;
    if (span > 0) out.push({ x: Number((tMs[i + n]! / 1000).toFixed(3)), y: c / span });
  }
  return out;
}

/** Variants grouped by queue capacity (ascending), only those with a probe sample: occupancy
 * histograms of different ring sizes are drawn one chart per capacity, never on one axis. */
export function byCapacity<T extends { capacity: number; variant: VariantResult }>(vs: T[]): T[][] {
  const withProbe = vs.filter((lv) => measured(lv.variant).some((t) => probeOf(t) !== null));
  const caps = [...new Set(withProbe.map((lv) => lv.capacity))].sort((a, b) => a - b);
  return caps.map((c) => withProbe.filter((lv) => lv.capacity === c));
}

/** A time series of the first measured trial with probes, on the sampler's tick times. */
function timeSeries(vs: LabelledVariant[], points: (p: ProbeSamples, lv: LabelledVariant, tMs: number[]) => ChartPoint[]): { label: string; points: ChartPoint[] }[] {
  return vs.flatMap((lv) => {
    const t = firstWithProbe(lv.variant);
    const p = t ? probeOf(t) : null;
    if (!p) return [];
    return [{ label: lv.label, points: points(p, lv, tickTimesMs(p)) }];
  });
}

export function chartSeries(vs: LabelledVariant[]): ChartSeries {
  const atEnqueue = vs.some((lv) => measured(lv.variant).some((t) => probeOf(t)?.occupancyAtEnqueue));
  const occupancyOf = (t: TrialResult): Histogram | null | undefined => {
    const p = probeOf(t);
    if (atEnqueue) return p?.occupancyAtEnqueue;
    return p ? sampledHistogram(p.occupancySeries.values, t.readings?.capacity ?? 1 + Math.max(...p.occupancySeries.values, 0)) : null;
  };
  const occupancy = shares(vs, occupancyOf, (lv, x) => x / lv.capacity);
  const hasLatency = vs.some((lv) => measured(lv.variant).some((t) => (probeOf(t)?.latencyNs?.buckets.length ?? 0) > 0));
  const med = (xs: number[]) => (xs.length ? median(xs) : 0);
  const lock = (lv: LabelledVariant, k: 'lock_contention_xmit' | 'lock_contention_read') => med(measured(lv.variant).map((t) => t.metrics[k]).filter((x): x is number => x !== null && x !== undefined));
  // Each rate at its trial's number as the run numbered it; a trial without the rate has no point.
  const rate = (lv: LabelledVariant, m: 'rx_pps' | 'xmit_pps' | 'offered_pps') => measured(lv.variant).flatMap((t) => {
    const y = t.metrics[m];
    return typeof y === 'number' && Number.isFinite(y) ? [{ x: trialNumber(t), y }] : [];
  });
  const drops = timeSeries(vs, (p, _lv, tMs) => ratePoints(p.series.drops, tMs));
  return {
    ppsPerTrial: vs.map((lv) => ({ label: lv.label, rx: rate(lv, 'rx_pps'), xmit: rate(lv, 'xmit_pps'), offered: rate(lv, 'offered_pps') })),
    occupancy: { ...occupancy, source: atEnqueue ? 'at-enqueue' : 'sampled' },
    occupancyByCapacity: byCapacity(vs).map((group) => ({ capacity: group[0]!.capacity, ...shares(group, occupancyOf, (lv, x) => x / lv.capacity) })),
    occupancyTime: timeSeries(vs, (p, lv, tMs) => gaugePoints(p.occupancySeries.values.map((v) => v / lv.capacity), tMs)),
    latency: hasLatency ? shares(vs, (t) => probeOf(t)?.latencyNs, (_lv, x) => x) : null,
    // A trial whose sampler kept no drop series (counters: drops are not sampled per tick) is not a series of zeros.
    dropsTime: drops.filter((v) => v.points.length > 0),
    dropsUnsampled: drops.filter((v) => v.points.length === 0).map((v) => v.label),
    lockBySide: vs.map((lv) => ({
      label: lv.label, xmit: lock(lv, 'lock_contention_xmit'), read: lock(lv, 'lock_contention_read'),
      measured: measured(lv.variant).some((t) => typeof t.metrics.lock_contention_count === 'number'),
    })),
  };
}
