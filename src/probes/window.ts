// Cut the measurement window out of the sampler's ticks and turn it into ProbeSamples.
// Cumulative counts span the first to the last tick inside the window (and are divided by
// that span, not by the wall-clock window); gauges (occupancy, full) are every tick's.
import type { Histogram, ProbeBackend, ProbeSamples } from '../types.ts';
import type { Counters, HistName, HistSnapshot, ParsedProbeOutput, Tick } from './parse.ts';
import { reasonName } from './drop-reasons.ts';
import { stopWake } from './stop-wake.ts';

/** Subtract histogram a from b bucket by bucket (b later than a). */
export function histogramDelta(a: Histogram | undefined, b: Histogram | undefined): Histogram {
  if (!b) return { buckets: [] };
  const before = new Map((a?.buckets ?? []).map((x) => [`${x.min}:${x.max}`, x.count]));
  return { buckets: b.buckets.map((x) => ({ ...x, count: x.count - (before.get(`${x.min}:${x.max}`) ?? 0) })).filter((x) => x.count > 0) };
}

const diff = (a: Counters, b: Counters): Counters =>
  Object.fromEntries(Object.keys(b).map((k) => [k, b[k as keyof Counters] - a[k as keyof Counters]])) as Counters;

/** The snapshot nearest to time t. */
function nearest<T extends { t: number }>(xs: T[], t: number): T | undefined {
  let best: T | undefined;
  for (const x of xs) if (!best || Math.abs(x.t - t) < Math.abs(best.t - t)) best = x;
  return best;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((s, x) => s + x, 0);
/** Drops so far at a tick: captured with the tick where the script does so, else the reasons map. */
const dropsAt = (t: Tick) => t.dropsAtTick ?? sum(t.reasons);

export interface WindowOptions {
  backend: ProbeBackend | null;
  level: 'counters' | 'full';
  sampleMs: number;
  /** The lock contention tracepoints were attached (else the window has no lock figures). */
  locks?: boolean;
  /** CLOCK_MONOTONIC ns of the window's start and end. */
  start: number;
  end: number;
  dropReasons: Record<string, number>;
  bpf: ProbeSamples['bpf'];
}

export function cutWindow(parsed: ParsedProbeOutput, o: WindowOptions): ProbeSamples {
  const inWindow: Tick[] = parsed.ticks.filter((t) => t.t >= o.start && t.t <= o.end);
  const first = inWindow[0];
  const last = inWindow[inWindow.length - 1];
  if (!first || !last || last.t <= first.t) {
    throw new Error(`the probes produced too few samples for the window (${inWindow.length} ticks inside it); is the window shorter than the ${o.sampleMs} ms sample interval?`);
  }
  const c = diff(first.counts, last.counts);
  const full = o.level === 'full';

  const occupancy = inWindow.map((t) => sum(t.qlen));
  const fullSeries = inWindow.map((t) => sum(t.qfull));
  const xmit: number[] = [];
  const drops: number[] = [];
  const reads: number[] = [];
  for (let i = 1; i < inWindow.length; i++) {
    const a = inWindow[i - 1]!;
    const b = inWindow[i]!;
    if (full) {
      drops.push(dropsAt(b) - dropsAt(a));
      xmit.push(b.counts.xmit - a.counts.xmit);
      reads.push(b.counts.reads - a.counts.reads);
    }
  }
  const byReason: Record<string, number> = {};
  if (full) for (const [r, n] of Object.entries(last.reasons)) {
    const d = n - (first.reasons[r] ?? 0);
    if (d > 0) byReason[reasonName(o.dropReasons, Number(r))] = d;
  }

  const hs = parsed.histSnapshots;
  // Histograms are printed every 10th tick only. When no snapshot precedes the window's
  // start, the baseline is the empty maps at attach (exact: nothing was counted before).
  const attachBaseline: HistSnapshot = { t: parsed.attachedAt ?? 0, hists: {} };
  const h0 = hs.some((h) => h.t <= first.t) ? nearest(hs, first.t) : attachBaseline;
  const h1 = nearest(hs, last.t);
  const hd = (name: HistName): Histogram => (h0 && h1 && h1.t > h0.t ? histogramDelta(h0.hists[name], h1.hists[name]) : { buckets: [] });

  // Lock counts: from the snapshots every 10th tick (over their own span), or, in older output
  // that printed them on every tick, from the window's first and last ticks.
  const snapCounts = hs.some((h) => h.counts !== undefined);
  const none: Counters = { lock_x: 0, lock_r: 0, lock_x_ns: 0, lock_r_ns: 0, xmit: 0, reads: 0 };
  const lc0 = snapCounts ? h0?.counts ?? none : first.counts;
  const lc1 = snapCounts ? h1?.counts ?? lc0 : last.counts;
  const lockSeconds = snapCounts ? (h1 && h0 && h1.t > h0.t ? (h1.t - h0.t) / 1e9 : 0) : (last.t - first.t) / 1e9;
  const lk = diff(lc0, lc1);
  const endRecord = parsed.end ?? { counts: parsed.ticks[parsed.ticks.length - 1]!.counts, reasons: parsed.ticks[parsed.ticks.length - 1]!.reasons };
  const modes = parsed.queueModes;
  // Stop/wake (issue 23): the window's ticks, and the last tick of all (the sampler runs on
  // through the drain) for "still stopped after the drain".
  const withTxq = inWindow.filter((t) => t.txqStopped !== undefined);
  let txq: ProbeSamples['txq'];
  let held: { atStart: number; atEnd: number } | null = null;
  if (withTxq.length === inWindow.length) {
    const nq = Math.max(0, ...inWindow.map((t) => Object.keys(t.txqStopped!).length));
    const row = (t: Tick) => [...Array(nq).keys()].map((q) => t.txqStopped?.[String(q)] ?? 0);
    const lastOfAll = parsed.ticks[parsed.ticks.length - 1]!;
    txq = stopWake(inWindow.map((t) => t.t), inWindow.map(row), lastOfAll.txqStopped ? row(lastOfAll).map((s) => s === 1) : undefined);
    held = { atStart: sum(first.held ?? {}), atEnd: sum(last.held ?? {}) };
  }
  return {
    ...(txq ? { txq } : {}),
    ...(held ? { heldAtStart: held.atStart, heldAtEnd: held.atEnd } : {}),
    backend: full ? o.backend : null,
    level: o.level,
    windowSeconds: (last.t - first.t) / 1e9,
    queuesFound: Object.keys(parsed.handshakes).length,
    ...(modes ? { queuesByMode: modes } : {}),
    occupancySource: 'queue',
    // Each tick's own time: on a busy machine bpftrace's interval ticks arrive late (p99 30 ms
    // of a 10 ms interval seen), so charts place the samples on these, not on the nominal interval.
    occupancySeries: { intervalMs: o.sampleMs, values: occupancy, tMs: inWindow.map((t) => Math.round((t.t - first.t) / 1e4) / 100) },
    fullSeries,
    occupancyAtStart: occupancy[0]!,
    occupancyAtEnd: occupancy[occupancy.length - 1]!,
    dropsTotal: full ? dropsAt(last) - dropsAt(first) : null,
    drops: byReason,
    xmit: full ? c.xmit : null,
    reads: full ? c.reads : null,
    occupancyAtEnqueue: full ? hd('occ') : null,
    series: { intervalMs: o.sampleMs, xmit, drops, reads },
    lock: o.locks === false ? null : {
      seconds: lockSeconds,
      xmit: { count: lk.lock_x, waitNs: lk.lock_x_ns, waitHist: hd('lock_x_hist') },
      read: { count: lk.lock_r, waitNs: lk.lock_r_ns, waitHist: hd('lock_r_hist') },
    },
    latencyNs: full ? hd('lat') : null,
    totals: { drops: full ? sum(endRecord.reasons) : null, xmit: full ? endRecord.counts.xmit : null, reads: full ? endRecord.counts.reads : null },
    bpf: o.bpf,
    messages: parsed.messages.filter((m) => !/RLIMIT_MEMLOCK|Addrspace mismatch|^\/args->cmd|^~+$/.test(m)).slice(0, 20),
  };
}
