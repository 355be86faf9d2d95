// Chart specifications: the one source of every chart. The HTML page hands them to the
// inlined Chart.js, the PNG renderer to chartjs-node-canvas. Plain JSON (no functions), so
// they can be embedded in the page as data. The numbers come from the Analysis
// (src/analysis/chart-series.ts); here they get titles, captions, axes, units and colours.
import type { ChartConfiguration } from 'chart.js';
import type { ChartSeries, HistogramShares } from '../analysis/types.ts';
import { nsRange } from './format.ts';

export interface ChartSpec {
  id: string;
  title: string;
  /** What the chart shows and where the numbers come from. */
  caption: string;
  config: ChartConfiguration;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
export const colour = (i: number): string => PALETTE[i % PALETTE.length]!;

function base(title: string, xTitle: string, yTitle: string): ChartConfiguration['options'] {
  return {
    animation: false,
    responsive: false,
    plugins: { title: { display: true, text: title }, legend: { display: true, position: 'bottom' } },
    scales: { x: { title: { display: true, text: xTitle } }, y: { title: { display: true, text: yTitle }, beginAtZero: true } },
  };
}

function ppsPerTrial(s: ChartSeries): ChartSpec {
  const mpps = (ps: { x: number; y: number }[]) => ps.map((p) => ({ x: p.x, y: p.y / 1e6 }));
  const datasets = s.ppsPerTrial.flatMap((v, i) => [
    { label: `${v.label} rx`, data: mpps(v.rx), backgroundColor: colour(i), borderColor: colour(i), pointStyle: 'circle', pointRadius: 4 },
    { label: `${v.label} xmit`, data: mpps(v.xmit), backgroundColor: colour(i), borderColor: colour(i), pointStyle: 'triangle', pointRadius: 4 },
  ]);
  return {
    id: 'pps-per-trial',
    title: 'Packets per second, each measured trial',
    caption: 'Each point is one trial (warm-ups excluded): rx = the reader\'s count, xmit = accepted by tun_net_xmit. The headline table gives each median with its distribution-free interval.',
    config: { type: 'scatter', data: { datasets }, options: { ...base('pps per trial', 'trial', 'Mpps'), scales: { x: { title: { display: true, text: 'trial' }, ticks: { stepSize: 1 } }, y: { title: { display: true, text: 'Mpps' }, beginAtZero: true } } } } as ChartConfiguration,
  };
}

/** Three significant digits: a bucket start as a label. */
const sig3 = (x: number): number => Number(x.toPrecision(3));

function bars(h: HistogramShares, label: (start: number) => string): { labels: string[]; datasets: object[] } {
  return {
    labels: h.buckets.map(label),
    datasets: h.variants.map((v, i) => ({ label: v.label, data: v.shares, backgroundColor: `${colour(i)}99`, borderColor: colour(i), borderWidth: 1 })),
  };
}

function occupancyHistogram(s: ChartSeries): ChartSpec {
  const atEnqueue = s.occupancy.source === 'at-enqueue';
  const { labels, datasets } = bars(s.occupancy, (k) => String(sig3(k)));
  return {
    id: 'occupancy-histogram',
    title: atEnqueue ? 'Queue occupancy seen at enqueue' : 'Queue occupancy, sampled',
    caption: atEnqueue
      ? 'Share of packets entering tun_net_xmit by the occupancy of their queue at that moment (full level: read from the queue per packet), as a fraction of capacity (tx_queue_len x queues), all measured trials.'
      : `Share of sampler ticks by queue occupancy (read from the ring, or sk_receive_queue in skq mode, every sample interval: time-weighted), as a fraction of capacity (tx_queue_len x queues), all measured trials. The full probe level adds the occupancy each packet sees at enqueue.`,
    config: { type: 'bar', data: { labels, datasets }, options: base(atEnqueue ? 'occupancy at enqueue' : 'occupancy, sampled', 'occupancy (fraction of capacity, bucket start)', atEnqueue ? 'share of packets' : 'share of samples') } as ChartConfiguration,
  };
}

function timeChart(s: ChartSeries, series: { label: string; points: { x: number; y: number }[] }[], id: string, title: string, caption: string, yTitle: string): ChartSpec {
  // A variant keeps its colour when another has no series (probes off): its place among all variants.
  const place = (label: string) => Math.max(0, s.ppsPerTrial.findIndex((v) => v.label === label));
  const datasets = series.map((v) => ({ label: v.label, data: v.points, borderColor: colour(place(v.label)), backgroundColor: colour(place(v.label)), pointRadius: 0, borderWidth: 1.5, showLine: true }));
  return { id, title, caption, config: { type: 'scatter', data: { datasets }, options: base(title, 'seconds into the window', yTitle) } as ChartConfiguration };
}

function latency(s: ChartSeries): ChartSpec | null {
  if (!s.latency) return null;
  // Power-of-two buckets: each label is its range ("4.1 us .. 8.19 us"), not a precise-looking edge.
  const { labels, datasets } = bars(s.latency, (k) => { const lo = sig3(k); return nsRange(lo, lo > 0 ? lo * 2 : 1); });
  return {
    id: 'latency',
    title: 'Queueing latency (full probe level)',
    caption: 'Time from net_dev_start_xmit (tracepoint backend) or tun_net_xmit entry (kprobe/fentry) to the copy to the reader, per packet, all measured trials (power-of-two buckets, each labelled with its range: the latency of a packet is known only to its bucket).',
    config: { type: 'bar', data: { labels, datasets }, options: base('queueing latency', 'latency bucket (power of two)', 'share of packets') } as ChartConfiguration,
  };
}

function lockBySide(s: ChartSeries): ChartSpec {
  return {
    id: 'lock-contention',
    title: 'Lock contention by side',
    caption: "Median contended acquisitions per second of the queue's own locks (lock:contention_begin/end filtered by address): the ring's producer_lock (xmit side) and consumer_lock (read side), or the one sk_receive_queue lock in skq mode (side by waiter).",
    config: {
      type: 'bar',
      data: {
        labels: s.lockBySide.map((v) => v.label),
        datasets: [
          { label: 'xmit side', data: s.lockBySide.map((v) => v.xmit), backgroundColor: '#1f77b499' },
          { label: 'read side', data: s.lockBySide.map((v) => v.read), backgroundColor: '#d6272899' },
        ],
      },
      options: base('lock contention', 'variant', 'contentions per second'),
    } as ChartConfiguration,
  };
}

export function buildCharts(s: ChartSeries): ChartSpec[] {
  const charts: (ChartSpec | null)[] = [
    ppsPerTrial(s),
    occupancyHistogram(s),
    timeChart(s, s.occupancyTime, 'occupancy-time', 'Queue occupancy over time', 'Occupancy read from the queue itself at every sampler tick (ptr_ring producer - consumer_head, or sk_receive_queue qlen in skq mode), as a fraction of capacity, placed at the tick\'s own time, first measured trial of each variant (averaged down to at most 300 points).', 'fraction of capacity'),
    latency(s),
    timeChart(s, s.dropsTime, 'drops-time', 'Drops over time', 'Packets dropped by tun_net_xmit per second, each count over the real time between its sampler ticks (a late tick does not show as a burst), first measured trial of each variant.', 'drops per second'),
    lockBySide(s),
  ];
  return charts.filter((c): c is ChartSpec => c !== null);
}
