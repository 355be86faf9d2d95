// Cut the measurement window out of the probe ticks and turn it into ProbeSamples.
// Counters are cumulative since attach, when the queue was empty (probes attach before the
// generator starts), so occupancy at a tick is accepted - read at that tick.
import type { Histogram, ProbeBackend, ProbeSamples } from '../types.ts';
import type { Counters, HistName, HistSnapshot, ParsedProbeOutput, Tick } from './parse.ts';
import { occupancyBuckets } from './render.ts';
import { reasonName } from './drop-reasons.ts';

export interface ProbeTotals {
  xmit: number;
  drops: number;
  reads: number;
}

export interface WindowedProbes {
  window: ProbeSamples;
  /** Totals since attach (for the cross-check over the quiet span). */
  total: ProbeTotals;
}

/** Subtract histogram a from b bucket by bucket (b later than a). */
export function histogramDelta(a: Histogram | undefined, b: Histogram | undefined): Histogram {
  if (!b) return { buckets: [] };
  const before = new Map((a?.buckets ?? []).map((x) => [`${x.min}:${x.max}`, x.count]));
  return { buckets: b.buckets.map((x) => ({ ...x, count: x.count - (before.get(`${x.min}:${x.max}`) ?? 0) })).filter((x) => x.count > 0) };
}

const diff = (a: Counters, b: Counters): Counters =>
  Object.fromEntries(Object.keys(b).map((k) => [k, b[k as keyof Counters] - a[k as keyof Counters]])) as Counters;

/** The tick nearest to time t. */
function nearest<T extends { t: number }>(xs: T[], t: number): T | undefined {
  let best: T | undefined;
  for (const x of xs) if (!best || Math.abs(x.t - t) < Math.abs(best.t - t)) best = x;
  return best;
}

/** Occupancy histogram from the time series, weighting each sample by the packets enqueued in its interval. */
export function occupancyFromSeries(values: number[], enqueued: number[], capacity: number): Histogram {
  const { step } = occupancyBuckets(capacity);
  const counts = new Map<number, number>();
  values.forEach((v, i) => {
    const w = enqueued[i] ?? 0;
    if (w <= 0) return;
    const lo = Math.floor(v / step) * step;
    counts.set(lo, (counts.get(lo) ?? 0) + w);
  });
  return { buckets: [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([lo, count]) => ({ min: lo, max: lo + step - 1, count })) };
}

export interface WindowOptions {
  backend: ProbeBackend;
  level: 'counters' | 'full';
  capacity: number;
  sampleMs: number;
  /** CLOCK_MONOTONIC ns of the window's start and end. */
  start: number;
  end: number;
  dropReasons: Record<string, number>;
}

export function cutWindow(parsed: ParsedProbeOutput, o: WindowOptions): WindowedProbes {
  const ticks = parsed.ticks;
  const first = ticks.find((t) => t.t >= o.start) ?? ticks[ticks.length - 1];
  const lastCandidates = ticks.filter((t) => t.t <= o.end);
  const last = lastCandidates[lastCandidates.length - 1];
  if (!first || !last || last.t <= first.t) {
    throw new Error(`the probes produced too few samples for the window (${ticks.length} ticks); is the window shorter than the ${o.sampleMs} ms sample interval?`);
  }
  const inWindow: Tick[] = ticks.filter((t) => t.t >= first.t && t.t <= last.t);
  const c = diff(first.counts, last.counts);
  const windowSeconds = (last.t - first.t) / 1e9;

  // Per-interval series and occupancy over time.
  const xmit: number[] = [];
  const drops: number[] = [];
  const reads: number[] = [];
  const occupancy: number[] = [];
  // Exact backends read the occupancy from the queue itself; the tracepoint backend derives it.
  const fromQueue = inWindow.some((t) => t.qlen !== undefined);
  for (let i = 1; i < inWindow.length; i++) {
    const a = inWindow[i - 1]!.counts;
    const b = inWindow[i]!.counts;
    xmit.push(b.xmit - a.xmit);
    drops.push(b.xdrop - a.xdrop);
    reads.push(b.reads - a.reads);
    occupancy.push(fromQueue ? (inWindow[i]!.qlen ?? 0) : Math.max(0, b.xmit - b.reads));
  }

  // Drops by reason over the window. The reason map is read a few microseconds after the
  // drop total at each tick, so the two differ by a handful; only when the totals since
  // attach show drops without a reason (kernels without reasons, no BTF) is the remainder
  // reported as 'unattributed'.
  const byReason: Record<string, number> = {};
  for (const [r, n] of Object.entries(last.reasons)) {
    const d = n - (first.reasons[r] ?? 0);
    if (d > 0) byReason[reasonName(o.dropReasons, Number(r))] = d;
  }
  const endRecord = parsed.end ?? ticks[ticks.length - 1]!;
  const reasonless = endRecord.counts.xdrop - Object.values(endRecord.reasons).reduce((s, x) => s + x, 0);
  const attributed = Object.values(byReason).reduce((s, x) => s + x, 0);
  if (reasonless > 0 && c.xdrop > attributed) byReason.unattributed = c.xdrop - attributed;

  const hs = parsed.histSnapshots;
  // Histograms are printed every 10th tick only. When no snapshot precedes the window's
  // start, the baseline is the empty maps at attach (exact: nothing was counted before).
  const attachBaseline: HistSnapshot = { t: parsed.attachedAt ?? 0, hists: {} };
  const h0: HistSnapshot | undefined = hs.some((h) => h.t <= first.t) ? nearest(hs, first.t) : attachBaseline;
  const h1: HistSnapshot | undefined = nearest(hs, last.t);
  const hd = (name: HistName): Histogram => (h0 && h1 && h1.t > h0.t ? histogramDelta(h0.hists[name], h1.hists[name]) : { buckets: [] });

  const window: ProbeSamples = {
    backend: o.backend,
    level: o.level,
    windowSeconds,
    xmit: c.xmit,
    dropsTotal: c.xdrop,
    drops: byReason,
    reads: c.reads,
    occupancySeries: { intervalMs: o.sampleMs, values: occupancy },
    occupancySource: fromQueue ? 'queue' : 'accepted-minus-read',
    occupancyAtEnqueue: o.level === 'full' || fromQueue ? hd('occ') : occupancyFromSeries(occupancy, xmit, o.capacity),
    series: { intervalMs: o.sampleMs, xmit, drops, reads },
    lock: {
      xmit: { count: c.lock_x, waitNs: c.lock_x_ns, waitHist: hd('lock_x_hist') },
      read: { count: c.lock_r, waitNs: c.lock_r_ns, waitHist: hd('lock_r_hist') },
    },
    latencyNs: o.level === 'full' ? hd('lat') : null,
    messages: parsed.messages.filter((m) => !/RLIMIT_MEMLOCK/.test(m)).slice(0, 20),
  };
  if (parsed.queueModes) window.enqueuesByQueueMode = parsed.queueModes;
  const endCounts = endRecord.counts;
  return { window, total: { xmit: endCounts.xmit, drops: endCounts.xdrop, reads: endCounts.reads } };
}
