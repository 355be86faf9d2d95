// Chart specifications: the one source of every chart. The HTML page hands them to the
// inlined Chart.js, the PNG renderer to chartjs-node-canvas. Plain JSON (no functions), so
// they can be embedded in the page as data.
import type { ChartConfiguration } from 'chart.js';
import { median } from '../analysis/descriptive.ts';
import { isMeasured } from '../analysis/summary.ts';
import type { Histogram, TrialResult, VariantResult } from '../types.ts';
import { mergeHistograms } from '../trial/metrics.ts';
import { nsRange } from '../analysis/format.ts';

/** A variant as it appears in a report (labels are prefixed A:/B: when two results are compared). */
export interface ReportVariant {
  label: string;
  variant: VariantResult;
  /** Queue capacity in packets (tx_queue_len x queues). */
  capacity: number;
}

export interface ChartSpec {
  id: string;
  title: string;
  /** What the chart shows and where the numbers come from. */
  caption: string;
  config: ChartConfiguration;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
export const colour = (i: number): string => PALETTE[i % PALETTE.length]!;

/** At most `max` points: every k-th point (k = ceil(n / max)), averaging each group so spikes keep their weight. */
export function downsample(values: number[], max = 300): number[] {
  if (values.length <= max) return values;
  const k = Math.ceil(values.length / max);
  const out: number[] = [];
  for (let i = 0; i < values.length; i += k) {
    const g = values.slice(i, i + k);
    out.push(g.reduce((s, x) => s + x, 0) / g.length);
  }
  return out;
}

const measured = (v: VariantResult): TrialResult[] => v.trials.filter(isMeasured);
const probeOf = (t: TrialResult) => t.readings?.probe ?? null;
const firstWithProbe = (v: VariantResult) => measured(v).find((t) => probeOf(t) !== null);

function base(title: string, xTitle: string, yTitle: string): ChartConfiguration['options'] {
  return {
    animation: false,
    responsive: false,
    plugins: { title: { display: true, text: title }, legend: { display: true, position: 'bottom' } },
    scales: { x: { title: { display: true, text: xTitle } }, y: { title: { display: true, text: yTitle }, beginAtZero: true } },
  };
}

function ppsPerTrial(vs: ReportVariant[]): ChartSpec {
  const datasets = vs.flatMap((rv, i) => [
    { label: `${rv.label} rx`, data: measured(rv.variant).map((t, k) => ({ x: k + 1, y: (t.metrics.rx_pps ?? 0) / 1e6 })), backgroundColor: colour(i), borderColor: colour(i), pointStyle: 'circle', pointRadius: 4 },
    { label: `${rv.label} xmit`, data: measured(rv.variant).map((t, k) => ({ x: k + 1, y: (t.metrics.xmit_pps ?? 0) / 1e6 })), backgroundColor: colour(i), borderColor: colour(i), pointStyle: 'triangle', pointRadius: 4 },
  ]);
  return {
    id: 'pps-per-trial',
    title: 'Packets per second, each measured trial',
    caption: 'Each point is one trial (warm-ups excluded): rx = the reader\'s count, xmit = accepted by tun_net_xmit. The headline table gives each median with its distribution-free interval.',
    config: { type: 'scatter', data: { datasets }, options: { ...base('pps per trial', 'trial', 'Mpps'), scales: { x: { title: { display: true, text: 'trial' }, ticks: { stepSize: 1 } }, y: { title: { display: true, text: 'Mpps' }, beginAtZero: true } } } } as ChartConfiguration,
  };
}

function histBars(vs: ReportVariant[], pick: (t: TrialResult) => Histogram | null | undefined, scale: (rv: ReportVariant, x: number) => number): { labels: string[]; datasets: object[] } {
  const merged = vs.map((rv) => measured(rv.variant).map(pick).filter((h): h is Histogram => !!h).reduce((a, h) => mergeHistograms(a, h), { buckets: [] } as Histogram));
  const keys = [...new Set(vs.flatMap((rv, i) => merged[i]!.buckets.map((b) => scale(rv, b.min))))].sort((a, b) => a - b);
  const labels = keys.map((k) => String(Number(k.toPrecision(3))));
  const datasets = vs.map((rv, i) => {
    const total = merged[i]!.buckets.reduce((s, b) => s + b.count, 0) || 1;
    const byKey = new Map(merged[i]!.buckets.map((b) => [scale(rv, b.min), b.count / total]));
    return { label: rv.label, data: keys.map((k) => byKey.get(k) ?? 0), backgroundColor: `${colour(i)}99`, borderColor: colour(i), borderWidth: 1 };
  });
  return { labels, datasets };
}

/** Occupancy samples binned like the at-enqueue histogram (about 64 buckets over capacity). */
function sampledHistogram(values: number[], capacity: number): Histogram {
  const step = Math.max(1, Math.ceil((capacity + 1) / 64));
  const counts = new Map<number, number>();
  for (const v of values) counts.set(Math.floor(v / step) * step, (counts.get(Math.floor(v / step) * step) ?? 0) + 1);
  return { buckets: [...counts.entries()].sort((x, y) => x[0] - y[0]).map(([min, count]) => ({ min, max: min + step - 1, count })) };
}

function occupancyHistogram(vs: ReportVariant[]): ChartSpec {
  const atEnqueue = vs.some((rv) => measured(rv.variant).some((t) => probeOf(t)?.occupancyAtEnqueue));
  const { labels, datasets } = histBars(vs, (t) => { const p = probeOf(t); return atEnqueue ? p?.occupancyAtEnqueue : p ? sampledHistogram(p.occupancySeries.values, t.readings?.capacity ?? 1 + Math.max(...p.occupancySeries.values, 0)) : null; }, (rv, x) => x / rv.capacity);
  return {
    id: 'occupancy-histogram',
    title: atEnqueue ? 'Queue occupancy seen at enqueue' : 'Queue occupancy, sampled',
    caption: atEnqueue
      ? 'Share of packets entering tun_net_xmit by the occupancy of their queue at that moment (full level: read from the queue per packet), as a fraction of capacity (tx_queue_len x queues), all measured trials.'
      : `Share of sampler ticks by queue occupancy (read from the ring, or sk_receive_queue in skq mode, every sample interval: time-weighted), as a fraction of capacity (tx_queue_len x queues), all measured trials. The full probe level adds the occupancy each packet sees at enqueue.`,
    config: { type: 'bar', data: { labels, datasets }, options: base(atEnqueue ? 'occupancy at enqueue' : 'occupancy, sampled', 'occupancy (fraction of capacity, bucket start)', atEnqueue ? 'share of packets' : 'share of samples') } as ChartConfiguration,
  };
}

function series(vs: ReportVariant[], id: string, title: string, caption: string, yTitle: string, pick: (t: TrialResult, rv: ReportVariant) => number[] | null, intervalMs: (t: TrialResult) => number): ChartSpec {
  const datasets = vs.flatMap((rv, i) => {
    const t = firstWithProbe(rv.variant);
    if (!t) return [];
    const raw = pick(t, rv) ?? [];
    const ds = downsample(raw);
    const step = (raw.length / Math.max(ds.length, 1)) * intervalMs(t) / 1000;
    return [{ label: rv.label, data: ds.map((y, k) => ({ x: Number((k * step).toFixed(3)), y })), borderColor: colour(i), backgroundColor: colour(i), pointRadius: 0, borderWidth: 1.5, showLine: true }];
  });
  return { id, title, caption, config: { type: 'scatter', data: { datasets }, options: base(title, 'seconds into the window', yTitle) } as ChartConfiguration };
}

function latency(vs: ReportVariant[]): ChartSpec | null {
  if (!vs.some((rv) => measured(rv.variant).some((t) => (probeOf(t)?.latencyNs?.buckets.length ?? 0) > 0))) return null;
  const { labels: starts, datasets } = histBars(vs, (t) => probeOf(t)?.latencyNs, (_rv, x) => x);
  // Power-of-two buckets: each label is its range ("4.1 us .. 8.19 us"), not a precise-looking edge.
  const labels = starts.map((l) => { const lo = Number(l); return nsRange(lo, lo > 0 ? lo * 2 : 1); });
  return {
    id: 'latency',
    title: 'Queueing latency (full probe level)',
    caption: 'Time from net_dev_start_xmit (tracepoint backend) or tun_net_xmit entry (kprobe/fentry) to the copy to the reader, per packet, all measured trials (power-of-two buckets, each labelled with its range: the latency of a packet is known only to its bucket).',
    config: { type: 'bar', data: { labels, datasets }, options: base('queueing latency', 'latency bucket (power of two)', 'share of packets') } as ChartConfiguration,
  };
}

function lockBySide(vs: ReportVariant[]): ChartSpec {
  const med = (xs: number[]) => (xs.length ? median(xs) : 0);
  const pick = (rv: ReportVariant, k: 'lock_contention_xmit' | 'lock_contention_read') => med(measured(rv.variant).map((t) => t.metrics[k]).filter((x): x is number => x !== null));
  return {
    id: 'lock-contention',
    title: 'Lock contention by side',
    caption: "Median contended acquisitions per second of the queue's own locks (lock:contention_begin/end filtered by address): the ring's producer_lock (xmit side) and consumer_lock (read side), or the one sk_receive_queue lock in skq mode (side by waiter).",
    config: {
      type: 'bar',
      data: {
        labels: vs.map((rv) => rv.label),
        datasets: [
          { label: 'xmit side', data: vs.map((rv) => pick(rv, 'lock_contention_xmit')), backgroundColor: '#1f77b499' },
          { label: 'read side', data: vs.map((rv) => pick(rv, 'lock_contention_read')), backgroundColor: '#d6272899' },
        ],
      },
      options: base('lock contention', 'variant', 'contentions per second'),
    } as ChartConfiguration,
  };
}

export function buildCharts(vs: ReportVariant[]): ChartSpec[] {
  const iv = (t: TrialResult) => probeOf(t)?.occupancySeries.intervalMs ?? 10;
  const charts: (ChartSpec | null)[] = [
    ppsPerTrial(vs),
    occupancyHistogram(vs),
    series(vs, 'occupancy-time', 'Queue occupancy over time', 'Occupancy read from the queue itself at every sample interval (ptr_ring producer - consumer_head, or sk_receive_queue qlen in skq mode), as a fraction of capacity, first measured trial of each variant (averaged down to at most 300 points).', 'fraction of capacity', (t, rv) => probeOf(t) ? probeOf(t)!.occupancySeries.values.map((v) => v / rv.capacity) : null, iv),
    latency(vs),
    series(vs, 'drops-time', 'Drops over time', 'Packets dropped by tun_net_xmit per sample interval, first measured trial of each variant.', 'drops per interval', (t) => probeOf(t)?.series.drops ?? null, (t) => probeOf(t)?.series.intervalMs ?? 10),
    lockBySide(vs),
  ];
  return charts.filter((c): c is ChartSpec => c !== null);
}
