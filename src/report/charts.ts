// Chart specifications: the one source of every chart. The HTML page hands them to the
// inlined Chart.js, the PNG renderer to chartjs-node-canvas. Plain JSON (no functions), so
// they can be embedded in the page as data. The numbers come from the Analysis
// (src/analysis/chart-series.ts); here they get titles, captions, axes, units and colours.
import type { ChartConfiguration } from 'chart.js';
import type { ChartSeries, HistogramShares } from '../analysis/types.ts';
import { nsRange } from './format.ts';
import { OKABE_ITO, POINT_STYLES, RATE_STYLE, variantColours, withAlpha } from './palette.ts';

export interface ChartSpec {
  id: string;
  title: string;
  /** What the chart shows and where the numbers come from; for a chart left undrawn, why. */
  caption: string;
  /** null: nothing worth drawing (no series, all zero, not measured): the caption says so in a sentence. */
  config: ChartConfiguration | null;
}

/** A sentence in place of a chart that would be empty. */
const note = (id: string, title: string, sentence: string): ChartSpec => ({ id, title, caption: sentence, config: null });

function base(title: string, xTitle: string, yTitle: string): ChartConfiguration['options'] {
  return {
    animation: false,
    responsive: false,
    plugins: { title: { display: true, text: title }, legend: { display: true, position: 'bottom', labels: { usePointStyle: true } } },
    scales: { x: { title: { display: true, text: xTitle } }, y: { title: { display: true, text: yTitle }, beginAtZero: true } },
  };
}

/** Offered, accepted and delivered of each trial, each rate its own colour and mark (palette.ts);
 * several variants are told apart by point style, their offered rate by a dashed line through their trials. */
function ppsPerTrial(s: ChartSeries): ChartSpec {
  const mpps = (ps: { x: number; y: number }[]) => ps.map((p) => ({ x: p.x, y: p.y / 1e6 }));
  const several = s.ppsPerTrial.length > 1;
  const datasets = s.ppsPerTrial.flatMap((v, i) => {
    const mark = (role: 'xmit' | 'rx') => (several ? POINT_STYLES[i % POINT_STYLES.length]! : RATE_STYLE[role].pointStyle);
    const name = (what: string) => (several ? `${v.label}: ${what}` : what);
    const out: object[] = [];
    if (v.offered?.length) {
      out.push({ label: name('offered'), data: mpps(v.offered), borderColor: RATE_STYLE.offered.colour, backgroundColor: RATE_STYLE.offered.colour, borderDash: RATE_STYLE.offered.dash, borderWidth: 1.5, showLine: true, pointStyle: several ? POINT_STYLES[i % POINT_STYLES.length] : 'line', pointRadius: several ? 3 : 0 });
    }
    out.push({ label: name('accepted (xmit)'), data: mpps(v.xmit), borderColor: RATE_STYLE.xmit.colour, backgroundColor: RATE_STYLE.xmit.colour, pointStyle: mark('xmit'), pointRadius: 5 });
    out.push({ label: name('delivered (rx)'), data: mpps(v.rx), borderColor: RATE_STYLE.rx.colour, backgroundColor: RATE_STYLE.rx.colour, pointStyle: mark('rx'), pointRadius: 4 });
    return out;
  });
  const offered = s.ppsPerTrial.some((v) => v.offered?.length);
  return {
    id: 'pps-per-trial',
    title: 'Packets per second, each measured trial',
    caption: `Each point is one trial, at its number as the run numbered it (warm-ups excluded): ${offered ? 'offered = what the generator sent (black dashed line), ' : ''}accepted (xmit) = taken into the queue by tun_net_xmit, delivered (rx) = the reader's count.${offered ? ' The gap between offered and accepted was dropped (at the qdisc or at tun_net_xmit); accepted and delivered differ by what was still queued.' : ''}${several ? ' Colours are the rates; point styles tell the variants apart.' : ''} The headline table gives each median with its distribution-free interval.`,
    config: { type: 'scatter', data: { datasets }, options: { ...base('packets per second per trial', 'trial (as the run numbered it)', 'Mpps'), scales: { x: { title: { display: true, text: 'trial (as the run numbered it)' }, ticks: { stepSize: 1 } }, y: { title: { display: true, text: 'Mpps' }, beginAtZero: true } } } } as ChartConfiguration,
  };
}

/** Three significant digits: a bucket start as a label. */
const sig3 = (x: number): number => Number(x.toPrecision(3));

function bars(h: HistogramShares, label: (start: number) => string, colours: Map<string, string>): { labels: string[]; datasets: object[] } {
  return {
    labels: h.buckets.map(label),
    datasets: h.variants.map((v) => ({ label: v.label, data: v.shares, backgroundColor: withAlpha(colours.get(v.label) ?? '#777777', 0.75), borderColor: colours.get(v.label) ?? '#777777', borderWidth: 1 })),
  };
}

/** One colour per variant over the whole report (A/B by side in a comparison): every variant the run has, in order. */
const coloursOf = (s: ChartSeries): Map<string, string> => variantColours(s.ppsPerTrial.map((v) => v.label));

/** One histogram per queue capacity: variants of different ring sizes never share a category axis. */
function occupancyHistograms(s: ChartSeries): ChartSpec[] {
  const atEnqueue = s.occupancy.source === 'at-enqueue';
  const groups: (HistogramShares & { capacity: number | null })[] = s.occupancyByCapacity ?? (s.occupancy.variants.length ? [{ ...s.occupancy, capacity: null }] : []);
  const title = atEnqueue ? 'Queue occupancy seen at enqueue' : 'Queue occupancy, sampled';
  if (groups.length === 0) return [note('occupancy-histogram', title, 'No occupancy was sampled: the probes were off in every variant (probes.level counters or full reads the queue every sample interval).')];
  const colours = coloursOf(s);
  return groups.map((g) => {
    const { labels, datasets } = bars(g, (k) => `${sig3(k * 100)}%`, colours);
    const cap = g.capacity === null ? '' : ` (capacity ${g.capacity.toLocaleString('en-US')} packets)`;
    return {
      id: groups.length > 1 && g.capacity !== null ? `occupancy-histogram-${g.capacity}` : 'occupancy-histogram',
      title: `${title}${cap}`,
      caption: `${atEnqueue
        ? 'Share of packets entering tun_net_xmit by the occupancy of their queue at that moment (full level: read from the queue per packet), as a percentage of capacity (tx_queue_len x queues), all measured trials.'
        : 'Share of sampler ticks by queue occupancy (read from the ring, or sk_receive_queue in skq mode, every sample interval: time-weighted), as a percentage of capacity (tx_queue_len x queues), all measured trials. The full probe level adds the occupancy each packet sees at enqueue.'}${groups.length > 1 ? ' One chart per queue capacity.' : ''}`,
      config: { type: 'bar', data: { labels, datasets }, options: base(`${atEnqueue ? 'occupancy at enqueue' : 'occupancy, sampled'}${cap}`, 'occupancy (% of capacity, bucket start)', atEnqueue ? 'share of packets' : 'share of samples') } as ChartConfiguration,
    };
  });
}

function timeChart(s: ChartSeries, series: { label: string; points: { x: number; y: number }[] }[], id: string, title: string, caption: string, yTitle: string, empty: string): ChartSpec {
  if (series.every((v) => v.points.length === 0)) return note(id, title, empty);
  // A variant keeps its colour when another has no series (probes off): colours are given over all variants.
  const colours = coloursOf(s);
  const datasets = series.map((v) => ({ label: v.label, data: v.points, borderColor: colours.get(v.label), backgroundColor: colours.get(v.label), pointRadius: 0, borderWidth: 1.5, showLine: true, pointStyle: 'line' }));
  return { id, title, caption, config: { type: 'scatter', data: { datasets }, options: base(title, 'seconds into the window', yTitle) } as ChartConfiguration };
}

function latency(s: ChartSeries): ChartSpec | null {
  if (!s.latency) return null;
  // Power-of-two buckets: each label is its range ("4.1 us .. 8.19 us"), not a precise-looking edge.
  const { labels, datasets } = bars(s.latency, (k) => { const lo = sig3(k); return nsRange(lo, lo > 0 ? lo * 2 : 1); }, coloursOf(s));
  return {
    id: 'latency',
    title: 'Queueing latency (full probe level)',
    caption: 'Time from net_dev_start_xmit (tracepoint backend) or tun_net_xmit entry (kprobe/fentry) to the copy to the reader, per packet, all measured trials (power-of-two buckets, each labelled with its range: the latency of a packet is known only to its bucket).',
    config: { type: 'bar', data: { labels, datasets }, options: base('queueing latency', 'latency bucket (power of two)', 'share of packets') } as ChartConfiguration,
  };
}

function lockBySide(s: ChartSeries): ChartSpec {
  const id = 'lock-contention';
  const title = 'Lock contention by side';
  // `measured` is absent in older analyses: then a variant with a count was measured.
  const measured = s.lockBySide.filter((v) => v.measured ?? (v.xmit > 0 || v.read > 0));
  if (measured.length === 0) return note(id, title, "Lock contention was not measured: the queue's lock probes (lock:contention_begin/end) run at the full probe level, and at counters only with probes.locks: true.");
  if (measured.every((v) => v.xmit === 0 && v.read === 0)) return note(id, title, `No lock contention: the queue's locks were never contended in ${measured.length === s.lockBySide.length ? 'any' : `the ${measured.map((v) => v.label).join(', ')}`} measured trial (lock:contention_begin/end filtered to the ring's producer/consumer locks or the sk_receive_queue lock).`);
  return {
    id,
    title,
    caption: `Median contended acquisitions per second of the queue's own locks (lock:contention_begin/end filtered by address): the ring's producer_lock (xmit side) and consumer_lock (read side), or the one sk_receive_queue lock in skq mode (side by waiter).${measured.length < s.lockBySide.length ? ` Not measured in ${s.lockBySide.filter((v) => !measured.includes(v)).map((v) => v.label).join(', ')} (no lock probes at its level).` : ''}`,
    config: {
      type: 'bar',
      data: {
        labels: measured.map((v) => v.label),
        datasets: [
          { label: 'xmit side (producer)', data: measured.map((v) => v.xmit), backgroundColor: withAlpha(OKABE_ITO.skyBlue, 0.8), borderColor: OKABE_ITO.skyBlue, borderWidth: 1 },
          { label: 'read side (consumer)', data: measured.map((v) => v.read), backgroundColor: withAlpha(OKABE_ITO.vermillion, 0.8), borderColor: OKABE_ITO.vermillion, borderWidth: 1 },
        ],
      },
      options: base('lock contention', 'variant', 'contentions per second'),
    } as ChartConfiguration,
  };
}

/** Every chart, or the sentence that stands for it; config null = not drawn. */
export function buildCharts(s: ChartSeries): ChartSpec[] {
  const noSampler = 'Nothing to draw over time: no variant had the interval sampler (the probes were off).';
  const unsampled = s.dropsUnsampled ?? [];
  const dropsWhy = 'drops per tick come from the full probe level (skb:kfree_skb at tun_net_xmit); at counters they are counted over the whole window from the tap\'s tx_dropped (the headline table and the sent/lost accounts).';
  const notSampled = `Not sampled in ${unsampled.join(', ')}: ${dropsWhy}`;
  const allZero = s.dropsTime.length > 0 && s.dropsTime.every((v) => v.points.every((p) => p.y === 0));
  const charts: (ChartSpec | null)[] = [
    ppsPerTrial(s),
    ...occupancyHistograms(s),
    timeChart(s, s.occupancyTime, 'occupancy-time', 'Queue occupancy over time', 'Occupancy read from the queue itself at every sampler tick (ptr_ring producer - consumer_head, or sk_receive_queue qlen in skq mode), as a fraction of capacity, placed at the tick\'s own time, first measured trial of each variant (averaged down to at most 300 points).', 'fraction of capacity', noSampler),
    latency(s),
    s.dropsTime.length === 0 && unsampled.length > 0
      ? note('drops-time', 'Drops over time', `Not sampled in any variant (${unsampled.join(', ')}): ${dropsWhy}`)
      : allZero
        ? note('drops-time', 'Drops over time', `No drops at tun_net_xmit in the first measured trial of any variant${unsampled.length ? ' whose drops were sampled' : ''}: the queue never refused a packet, so there is no drop series to draw.${unsampled.length ? ` ${notSampled}` : ''}`)
        : timeChart(s, s.dropsTime, 'drops-time', 'Drops over time', `Packets dropped by tun_net_xmit per second, each count over the real time between its sampler ticks (a late tick does not show as a burst), first measured trial of each variant.${unsampled.length ? ` ${notSampled}` : ''}`, 'drops per second', noSampler),
    lockBySide(s),
  ];
  return charts.filter((c): c is ChartSpec => c !== null);
}
