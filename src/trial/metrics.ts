// The pure step of a trial: what it read (TrialReadings) -> its flat metrics record and its
// cross-checks. No I/O: a saved result's metrics can be recomputed from its readings alone.
//
// Where each count comes from (README "Metrics"):
//   reads     the tap's tx_packets: tun counts it in tun_put_user, when the reader copies a
//             packet out (a dequeue counter), and the consumer's own count
//   drops     the tap's tx_dropped, counted in tun_net_xmit when the queue is full
//   accepted  reads + the change in occupancy over the window (occupancy read from the queue
//             by the sampler); with probes off the change is unknown and taken as 0 (it is at
//             most the queue's capacity, against millions of packets in a window)
// Rates of kernel counters use the span between the two counter reads; probe counts (lock
// waits) use the span between the first and last sampler tick inside the window.
import { emptyMetrics, type TrialMetrics } from '../metrics.ts';
import { jainIndex } from './fairness.ts';
import type { CounterDeltas, CrossCheck, Histogram, QdiscCounters, TransferReadings, TrialReadings } from '../types.ts';
import { completionNs, senderNs } from './transfer.ts';
import { percentileUs, type SockperfReport } from '../workload/generators/sockperf.ts';

type Instant = 'quietBefore' | 'windowStart' | 'windowEnd' | 'quietAfter';

/** Whether every packet of the trial went through the tap's qdisc (so its counters count them all). */
export function allThroughQdisc(r: TrialReadings): boolean {
  const q = r.qdisc;
  if (!q || q.kind === 'noqueue') return false;
  // trafgen's qdisc bypass ('accepted' without noqueue) and pktgen's start_xmit skip the qdisc.
  const bypass = (counts: TrialReadings['generatorCounts'] | undefined, g: TrialReadings['generator'] | undefined) => counts === 'accepted' || (g?.tool === 'pktgen' && g.command.some((c) => c.includes('xmit_mode start_xmit')));
  return !bypass(r.generatorCounts, r.generator) && !(r.background && bypass(r.backgroundCounts, r.background));
}

/**
 * Sent/lost accounting of the lab tap between two instants (issues 13 and 23):
 *   sent = delivered + qdisc drops + device drops + queued
 * `sent` is what was handed to dev_queue_xmit on the tap: from the qdisc's own counters
 * (sent + drops + backlog change - requeued-and-held change) when every packet passed it;
 * otherwise (noqueue, a generator bypassing the qdisc) nothing counts attempts before tun, and
 * sent = tx_packets + tx_dropped + ring change by definition. `delivered` is the tap's
 * tx_packets (packets the reader copied out), `devDrops` its tx_dropped, `queued` the qdisc
 * backlog change + the ring's occupancy change (known only with probes; 0 over the quiet span)
 * - the change of `held`.
 *
 * `held`: a packet the qdisc dequeued (counted in its "sent") and then requeued because the
 * driver's queue was stopped sits in its backlog too, so it is counted twice until it leaves.
 * Only a kernel that stops the tap's queue (backpressure) holds one; at a drained instant
 * (the quiet edges) it holds none, so the quiet span closes exactly on every kernel. Over the
 * window the caller passes the held packets it knows of (0 when unknown: then `sent` may be
 * over by at most one packet per stopped queue, never more).
 *
 * A drop the sender is told about (NET_XMIT_DROP) is sent and lost, even where trafgen or
 * pktgen then sends the frame again. Where each drop happened is in `drops` (dropsByPlace).
 */
export interface TapAccounts {
  sent: number;
  delivered: number;
  qdiscDrops: number;
  /** The tap's tx_dropped: tun's own drops plus the core's at a stopped queue (one counter). */
  tunDrops: number;
  queued: number;
  lost: number;
  /** Where `sent` came from. */
  sentSource: 'qdisc' | 'tap';
  /** Each drop by where it happened. */
  drops: DropsByPlace;
}

type Span = { from: Instant; to: Instant };

/**
 * Where the drops happened, at every probe level, from sources that cost nothing per packet:
 *   qdiscLimit / qdiscAqm   the qdisc's drops (tc -s), split for fq_codel by its drop_overlimit
 *                           (at enqueue, its limit) against the rest (CoDel, at dequeue)
 *   tun                     tun_net_xmit's own drops (FULL_RING, filters): tun's per-queue
 *                           tun_drops (fdinfo, patch 0002); or the full level's kfree_skb at
 *                           tun_net_xmit (quiet span only); or all of tx_dropped when no queue
 *                           of the tap was ever stopped (nothing else adds to it then)
 *   stoppedQueue            the core's drops at a stopped queue (noqueue: __dev_queue_xmit drops
 *                           and counts in the same tx_dropped): tx_dropped - tun
 *   unattributed            tx_dropped no source splits (a kernel that stops queues, without
 *                           patch 0002's counts and without the full level)
 */
export interface DropsByPlace {
  qdiscLimit: number | null;
  qdiscAqm: number | null;
  tun: number | null;
  stoppedQueue: number | null;
  unattributed: number;
  /** What split tx_dropped between tun and the stopped queue. */
  source: 'fdinfo' | 'probe' | 'never-stopped' | 'none';
}

export function dropsByPlace(r: TrialReadings, { from, to }: Span): DropsByPlace {
  const devDrops = r.tap[to].tx_dropped - r.tap[from].tx_dropped;
  const q = r.qdisc;
  let qdiscLimit: number | null = null;
  let qdiscAqm: number | null = null;
  if (q && q.kind !== 'noqueue') {
    const a = q.at[from];
    const b = q.at[to];
    const drops = b.drops - a.drops;
    if (a.dropsOverlimit != null && b.dropsOverlimit != null) {
      qdiscLimit = b.dropsOverlimit - a.dropsOverlimit;
      qdiscAqm = drops - qdiscLimit;
    } else if (q.kind === 'pfifo_fast' || q.kind === 'fq') {
      // No AQM: every drop is at enqueue (the band's or the flow's limit).
      qdiscLimit = drops;
      qdiscAqm = 0;
    }
  }
  // The device counters are read by another process, apart from the fdinfo: under traffic the
  // difference can come out below zero, which no count can be; it is then not known.
  const split = (tun: number, source: DropsByPlace['source']): DropsByPlace => ({ qdiscLimit, qdiscAqm, tun, stoppedQueue: devDrops - tun < 0 ? null : devDrops - tun, unattributed: 0, source });
  const tq = r.tunQueues;
  const ta = tq?.[from];
  const tb = tq?.[to];
  if (ta && tb) {
    const tun = tb.tunDrops - ta.tunDrops;
    // tx_dropped read at the fdinfo's own instants: the split is exact. (The device counters
    // of the span are read by another process, earlier: under traffic tun's count moves in
    // between, and their difference went negative on stock tun under TCG.)
    if (ta.txDropped !== undefined && tb.txDropped !== undefined) {
      return { qdiscLimit, qdiscAqm, tun, stoppedQueue: tb.txDropped - ta.txDropped - tun, unattributed: 0, source: 'fdinfo' };
    }
    // No queue stopped in the span (none stopped at either end, no stop between): the core
    // dropped nothing at a stopped queue, whatever the device counters read elsewhere say.
    if (ta.stopped === 0 && tb.stopped === 0 && tb.stops === ta.stops) {
      return { qdiscLimit, qdiscAqm, tun, stoppedQueue: 0, unattributed: 0, source: 'fdinfo' };
    }
    return split(tun, 'fdinfo');
  }
  const p = r.probe;
  if (from === 'quietBefore' && to === 'quietAfter' && p?.totals && p.totals.drops !== null && r.generator?.tool !== 'pktgen' && r.generator?.tool !== 'iperf3' && r.generator?.tool !== 'sockperf') {
    return split(p.totals.drops, 'probe');
  }
  const stop = p?.txq;
  if (stop && stop.everStopped === false) return split(devDrops, 'never-stopped');
  return { qdiscLimit, qdiscAqm, tun: null, stoppedQueue: null, unattributed: devDrops, source: 'none' };
}

/** The change of the qdisc's requeued-and-held packets over the window, from the sampler's
 * first and last ticks in it (0 where it did not read them). */
export function heldChange(r: TrialReadings): number {
  const p = r.probe;
  return p && p.heldAtStart !== undefined && p.heldAtEnd !== undefined ? p.heldAtEnd - p.heldAtStart : 0;
}

export function tapAccounts(r: TrialReadings, from: Instant, to: Instant, ringChange = 0, heldChange = 0): TapAccounts | null {
  const q = r.qdisc;
  if (!q) return null;
  const a: QdiscCounters = q.at[from];
  const b: QdiscCounters = q.at[to];
  const delivered = r.tap[to].tx_packets - r.tap[from].tx_packets;
  const tunDrops = r.tap[to].tx_dropped - r.tap[from].tx_dropped;
  const viaQdisc = allThroughQdisc(r);
  const qdiscDrops = q.kind === 'noqueue' ? 0 : b.drops - a.drops;
  const backlogChange = q.kind === 'noqueue' ? 0 : b.backlogPackets - a.backlogPackets;
  const queued = backlogChange + ringChange - heldChange;
  // The qdisc's "sent" counts what it handed to tun: delivered + tun's drops + the ring's
  // change (+ what it requeued and holds); adding the ring's change again would count it twice.
  const sent = viaQdisc ? b.sentPackets - a.sentPackets + qdiscDrops + backlogChange - heldChange : delivered + qdiscDrops + tunDrops + queued;
  return { sent, delivered, qdiscDrops, tunDrops, queued, lost: qdiscDrops + tunDrops, sentSource: viaQdisc ? 'qdisc' : 'tap', drops: dropsByPlace(r, { from, to }) };
}

/** Whether a qdisc's drops reach the sender as an error (so trafgen and pktgen count and
 * resend them): pfifo_fast and fq drop at enqueue with NET_XMIT_DROP; fq_codel answers
 * NET_XMIT_SUCCESS or NET_XMIT_CN (which net_xmit_errno turns into 0) even for the packet it
 * dropped, and CoDel's drops at dequeue reach nobody. */
export function qdiscDropsToldToSender(kind: string): boolean {
  return kind !== 'fq_codel' && kind !== 'noqueue';
}

/** Value at quantile q (0..1) of a bucketed histogram: the upper edge of the bucket holding it (lower edge for the open last bucket). */
export function histogramQuantile(h: Histogram, q: number): number | null {
  const total = h.buckets.reduce((s, b) => s + b.count, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (const b of h.buckets) {
    seen += b.count;
    if (seen >= rank && b.count > 0) return b.max ?? b.min;
  }
  const last = h.buckets[h.buckets.length - 1]!;
  return last.max ?? last.min;
}

/** Mean of a bucketed histogram, each bucket at its midpoint. */
export function histogramMean(h: Histogram): number | null {
  const total = h.buckets.reduce((s, b) => s + b.count, 0);
  if (total === 0) return null;
  return h.buckets.reduce((s, b) => s + b.count * (b.max === null ? b.min : (b.min + b.max) / 2), 0) / total;
}

export function mergeHistograms(a: Histogram, b: Histogram): Histogram {
  const map = new Map<string, { min: number; max: number | null; count: number }>();
  for (const bucket of [...a.buckets, ...b.buckets]) {
    const k = `${bucket.min}:${bucket.max}`;
    const e = map.get(k);
    if (e) e.count += bucket.count;
    else map.set(k, { ...bucket });
  }
  return { buckets: [...map.values()].sort((x, y) => x.min - y.min) };
}

const mean = (xs: number[]) => (xs.length === 0 ? null : xs.reduce((s, x) => s + x, 0) / xs.length);

/** Quantile q of raw values (nearest rank). */
export function quantile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** Packets accepted into the queue over the window: reads + the change in occupancy. */
export function acceptedInWindow(r: TrialReadings): number {
  const reads = r.tap.windowEnd.tx_packets - r.tap.windowStart.tx_packets;
  const p = r.probe;
  const change = p && p.occupancyAtStart !== undefined && p.occupancyAtEnd !== undefined ? p.occupancyAtEnd - p.occupancyAtStart : 0;
  return reads + change;
}

export function deriveMetrics(r: TrialReadings): TrialMetrics {
  const m = emptyMetrics();
  const span = (r.tap.windowEnd.tNs - r.tap.windowStart.tNs) / 1e9;
  const windowSeconds = (r.window.endNs - r.window.startNs) / 1e9;
  if (span <= 0 || windowSeconds <= 0) return m;
  const accepted = acceptedInWindow(r);
  const drops = r.tap.windowEnd.tx_dropped - r.tap.windowStart.tx_dropped;
  m.xmit_pps = accepted / span;
  m.drop_pps = drops / span;
  m.drop_ratio = accepted + drops > 0 ? drops / (accepted + drops) : 0;
  const cs = (r.consumer.windowEnd.tNs - r.consumer.windowStart.tNs) / 1e9;
  m.rx_pps = cs > 0 ? (r.consumer.windowEnd.packets - r.consumer.windowStart.packets) / cs : null;
  const g = r.generator;
  if (g && g.packetsSent !== null && g.seconds) m.offered_pps = g.packetsSent / g.seconds;
  else if (g?.reportedPps != null) m.offered_pps = g.reportedPps;
  const pct = (x: [number, number] | null) => (x ? ((x[1] - x[0]) / windowSeconds) * 100 : null);
  m.cpu_generator_pct = pct(r.cpuSeconds.generator);
  m.cpu_consumer_pct = pct(r.cpuSeconds.consumer);
  m.probe_process_cpu_pct = pct(r.cpuSeconds.probes ?? null);
  flowAndQdiscMetrics(r, m, span);
  perPacketCosts(r, m);
  if (r.transfer) transferMetrics(r.transfer, m);

  const p = r.probe;
  if (!p) return m;
  const occ = p.occupancySeries.values;
  const occMean = mean(occ);
  m.occupancy_mean = occMean === null ? null : occMean / r.capacity;
  const p99 = quantile(occ, 0.99);
  m.occupancy_p99 = p99 === null ? null : Math.min(p99, r.capacity) / r.capacity;
  const fullSeries = p.fullSeries ?? [];
  m.occupancy_full_fraction = fullSeries.length === 0 ? null : fullSeries.reduce((s, f) => s + f, 0) / (fullSeries.length * r.queues);
  if (p.occupancyAtEnqueue) {
    const e = histogramMean(p.occupancyAtEnqueue);
    m.occupancy_enqueue_mean = e === null ? null : Math.min(e, r.capacity) / r.capacity;
  }
  const lock = p.lock;
  const w = lock ? lock.seconds ?? p.windowSeconds : 0;
  if (lock && w > 0) {
    m.lock_contention_xmit = lock.xmit.count / w;
    m.lock_contention_read = lock.read.count / w;
    m.lock_contention_count = (lock.xmit.count + lock.read.count) / w;
    m.lock_wait_total_ns = (lock.xmit.waitNs + lock.read.waitNs) / w;
  }
  if (lock) m.lock_wait_p99_ns = histogramQuantile(mergeHistograms(lock.xmit.waitHist, lock.read.waitHist), 0.99);
  if (p.latencyNs) {
    m.latency_p50_ns = histogramQuantile(p.latencyNs, 0.5);
    m.latency_p99_ns = histogramQuantile(p.latencyNs, 0.99);
  }
  if (p.bpf) m.probe_cpu_pct = (p.bpf.runTimeNs / 1e9 / windowSeconds) * 100;
  return m;
}

/** A fixed transfer's completion time, the sender's time and the did-not-finish verdict. */
export function transferMetrics(t: TransferReadings, m: TrialMetrics): void {
  m.completion_ns = completionNs(t);
  m.transfer_sender_ns = senderNs(t);
  m.transfer_dnf = t.verdict === 'completed' ? 0 : 1;
}

/**
 * CPU nanoseconds per packet on each side: the generator's CPU time over the packets handed to
 * the tap in the window (floods only: trafgen, no background; the accounting's `sent` counts
 * every attempt, drops included), the consumer's over the packets it read in the window.
 */
export function perPacketCosts(r: TrialReadings, m: TrialMetrics): void {
  const g = r.cpuSeconds.generator;
  const tool = r.generator?.tool;
  if (g && (tool === 'trafgen') && !r.background && r.qdisc) {
    const p = r.probe;
    const ring = p && p.occupancyAtStart !== undefined && p.occupancyAtEnd !== undefined ? p.occupancyAtEnd - p.occupancyAtStart : 0;
    const acc = tapAccounts(r, 'windowStart', 'windowEnd', ring, heldChange(r));
    if (acc && acc.sent > 0) m.generator_cpu_ns_per_packet = ((g[1] - g[0]) * 1e9) / acc.sent;
  }
  const c = r.cpuSeconds.consumer;
  const read = r.consumer.windowEnd.packets - r.consumer.windowStart.packets;
  if (c && read > 0) m.consumer_cpu_ns_per_packet = ((c[1] - c[0]) * 1e9) / read;
}

/** The qdisc's, the accounting's and the flow's metrics (absent readings leave them null). */
function flowAndQdiscMetrics(r: TrialReadings, m: TrialMetrics, span: number): void {
  const q = r.qdisc;
  if (q) {
    const a = q.at.windowStart;
    const b = q.at.windowEnd;
    const qspan = (b.tNs - a.tNs) / 1e9;
    if (qspan > 0) {
      m.qdisc_drop_pps = (b.drops - a.drops) / qspan;
      m.qdisc_requeue_pps = (b.requeues - a.requeues) / qspan;
    }
    m.qdisc_backlog_mean = mean(q.samples.backlogPackets);
    const p = r.probe;
    const ring = p && p.occupancyAtStart !== undefined && p.occupancyAtEnd !== undefined ? p.occupancyAtEnd - p.occupancyAtStart : 0;
    const acc = tapAccounts(r, 'windowStart', 'windowEnd', ring, heldChange(r));
    if (acc) {
      m.sent_pps = acc.sent / span;
      m.lost_pps = acc.lost / span;
      m.lost_ratio = acc.sent > 0 ? acc.lost / acc.sent : 0;
    }
  }
  const d = dropsByPlace(r, { from: 'windowStart', to: 'windowEnd' });
  m.tun_drop_pps = d.tun === null ? null : d.tun / span;
  m.stopped_queue_drop_pps = d.stoppedQueue === null ? null : d.stoppedQueue / span;
  const qspan2 = q ? (q.at.windowEnd.tNs - q.at.windowStart.tNs) / 1e9 : 0;
  m.qdisc_aqm_drop_pps = d.qdiscAqm === null || qspan2 <= 0 ? null : d.qdiscAqm / qspan2;
  const tq = r.tunQueues;
  const txq = r.probe?.txq;
  if (tq?.windowStart && tq.windowEnd) m.txq_stops = tq.windowEnd.stops - tq.windowStart.stops;
  else if (txq) m.txq_stops = txq.queues.reduce((s, x) => s + x.stops, 0);
  if (txq && txq.queues.length > 0) {
    m.txq_stopped_fraction = txq.queues.reduce((s, x) => s + x.stoppedFraction, 0) / txq.queues.length;
    m.txq_longest_stop_ns = Math.max(...txq.queues.map((x) => x.longestStopNs));
    m.txq_hangs = txq.queues.filter((x) => x.hang !== null).length;
  } else if (tq?.quietAfter) {
    // No stop/wake samples: the reader's fdinfo after the drain still says which queues are stopped.
    m.txq_hangs = tq.quietAfter.stopped;
  }
  const rr = r.generator?.rr;
  if (rr) rrMetrics(rr, m);
  const f = r.generator?.flow;
  if (f) {
    m.goodput_bps = f.goodputBps;
    m.retransmits = f.protocol === 'tcp' ? f.retransmits : null;
    m.udp_lost_ratio = f.protocol === 'udp' && f.udpSentPackets ? (f.udpLostPackets ?? 0) / f.udpSentPackets : null;
    const per = (f.perStream ?? []).map((x) => x.goodputBps);
    if (per.length > 0) {
      m.stream_fairness = jainIndex(per);
      m.stream_goodput_min_bps = Math.min(...per);
      m.stream_goodput_max_bps = Math.max(...per);
    }
  }
}

/** A request/response test's round-trip percentiles (sockperf prints microseconds) and rate. */
export function rrMetrics(rr: SockperfReport, m: TrialMetrics): void {
  const ns = (us: number | null) => (us === null ? null : Math.round(us * 1000));
  // Without --full-rtt sockperf prints half the round trip; tunbench always passes it, but a
  // report that says otherwise is doubled rather than taken for a round trip.
  const k = rr.measure === 'rtt' ? 1 : 2;
  const at = (p: number) => { const v = percentileUs(rr, p); return v === null ? null : v * k; };
  m.rr_latency_p50_ns = ns(at(50));
  m.rr_latency_p99_ns = ns(at(99));
  m.rr_latency_p999_ns = ns(at(99.9));
  m.rr_latency_max_ns = ns(rr.maxUs * k);
  m.rr_transactions_per_s = rr.seconds > 0 ? rr.transactionsPerSecond : null;
}

/** The quiet span's counter deltas: from before the generator started to after the queue drained. */
export function quietCounters(r: TrialReadings): CounterDeltas {
  const a = r.tap.quietBefore;
  const b = r.tap.quietAfter;
  return {
    tx_packets: b.tx_packets - a.tx_packets,
    tx_dropped: b.tx_dropped - a.tx_dropped,
    tx_bytes: b.tx_bytes - a.tx_bytes,
    consumer_packets: r.consumer.quietAfter.packets - r.consumer.quietBefore.packets,
    generator_packets: r.generator?.packetsSent ?? null,
  };
}

function exact(name: string, probe: number, counter: number): CrossCheck {
  return { name, probe, counter, relativeDifference: Math.abs(probe - counter) / Math.max(counter, 1), tolerance: 0, ok: probe === counter };
}

/**
 * Every count against a second, independent source, over the quiet span (nothing flows at
 * its edges, so no timing skew): exact equality is expected.
 *   reads:    the tap's tx_packets vs the consumer's own count
 *   sent:     the generator's count vs tx_packets + tx_dropped (every packet read or dropped),
 *             or vs tx_packets where the generator only counts what the driver accepted
 *   drops:    the sampler's kfree_skb at tun_net_xmit vs tx_dropped (not with pktgen, whose
 *             skbs are shared: their drop is not the last reference, so it is not traced)
 *   'full':   packets entering tun_net_xmit (per-packet probe) vs tx_packets + tx_dropped;
 *             copies to the reader (per-packet probe) vs the consumer's count
 */
export function crossChecks(r: TrialReadings): CrossCheck[] {
  const q = quietCounters(r);
  const out = [exact('packets read: tap tx_packets (counted in tun_put_user) vs the consumer\'s count', q.tx_packets, q.consumer_packets)];
  const acc = tapAccounts(r, 'quietBefore', 'quietAfter');
  if (acc && acc.sentSource === 'qdisc') {
    // The qdisc's own count of what it was handed against the consumer's and tun's counts.
    const delivered = q.consumer_packets;
    out.push(exact(`sent = delivered + qdisc drops + tun drops + queued: qdisc ${r.qdisc!.kind} (sent + drops + backlog change) vs the consumer's count + qdisc drops + tx_dropped + backlog change`, acc.sent, delivered + acc.qdiscDrops + acc.tunDrops + acc.queued));
  }
  if (r.qdisc && r.generator?.tool !== 'iperf3' && r.generator?.tool !== 'sockperf' && !r.background && r.generator && r.generator.packetsSent !== null && acc) {
    // The generator's own count: every frame it handed over, less those whose drop it was told
    // about (it counts them as errors, trafgen and pktgen then send the frame again).
    // Through a qdisc only its drops reach the sender (tun's return code is swallowed by
    // sch_direct_xmit); with noqueue or a bypass, tun's NET_XMIT_DROP does.
    const viaQdisc = acc.sentSource === 'qdisc';
    const toldOfQdisc = qdiscDropsToldToSender(r.qdisc.kind);
    // fq_codel at its limit drops a batch from its fattest flow and, when that is the arriving
    // packet's flow, returns NET_XMIT_CN: that packet was queued, yet pktgen counts an error and
    // sends it again (seen with a reader stopped for 1 s on a backpressure kernel: 131 errors,
    // sent = pktgen's 200,000 + 131). trafgen is not told (a packet socket maps CN to 0).
    const cn = !toldOfQdisc && r.qdisc.kind === 'fq_codel' && r.generator.tool === 'pktgen' ? r.generator.errors ?? 0 : 0;
    const told = viaQdisc ? (toldOfQdisc ? acc.qdiscDrops : cn) : acc.tunDrops;
    const whose = viaQdisc ? (toldOfQdisc ? 'the qdisc\'s' : cn > 0 ? `${r.qdisc.kind}'s congestion notices (NET_XMIT_CN at its limit; pktgen's errors, each frame sent again)` : `none: ${r.qdisc.kind} tells the sender of no drop`) : 'tun\'s and the stopped queue\'s';
    out.push(exact(`packets sent (generator's count + the drops reported back to it: ${whose}) vs sent (sent/lost accounting)`, r.generator.packetsSent + told, acc.sent));
  } else if (!r.qdisc && q.generator_packets !== null) {
    out.push(r.generatorCounts === 'accepted'
      ? exact('packets sent (generator, qdisc bypass: tun\'s drops are reported back to it) vs tx_packets (tap counter)', q.generator_packets, q.tx_packets)
      : exact('packets sent (generator) vs tx_packets + tx_dropped (tap counters)', q.generator_packets, q.tx_packets + q.tx_dropped));
  }
  const p = r.probe;
  if (p) {
    // pktgen holds a reference on every skb it sends, so tun's kfree_skb_reason() on a drop is
    // not the last reference and skb:kfree_skb never fires: no reasons to check for pktgen.
    const dropsName = 'drops at tun_net_xmit (probe: skb:kfree_skb) vs tx_dropped (tap counter)';
    if (p.totals.drops === null) {
      // 'counters' runs no program per drop: tx_dropped is the only drop count.
    } else if (r.generator?.tool === 'iperf3' || r.generator?.tool === 'sockperf') {
      // With TCP flows the probe came out short of tx_dropped by a few dozen drops in some
      // trials (29 of 1,192 with one stream; 35 of 285,208 and 45 of 113,074 with 8 streams
      // beside a flood): drops tx_dropped counts that no kfree_skb located in tun_net_xmit
      // explains, cause not found yet (an skb whose free there is not the last reference is
      // not traced, as with pktgen). The probe may be short by 64 + 0.1%, never over; README.
      const c = exact(dropsName, p.totals.drops, q.tx_dropped);
      const allowed = 64 + Math.ceil(q.tx_dropped * 0.001);
      out.push({ ...c, allowedShortBy: allowed, ok: p.totals.drops <= q.tx_dropped && q.tx_dropped - p.totals.drops <= allowed });
    } else if (r.generator?.tool !== 'pktgen') out.push(exact(dropsName, p.totals.drops, q.tx_dropped));
    if (p.totals.xmit !== null) out.push(exact(`packets entering tun_net_xmit (probe: ${p.backend ?? 'per-packet'}) vs tx_packets + tx_dropped`, p.totals.xmit, q.tx_packets + q.tx_dropped));
    if (p.totals.reads !== null) out.push(exact('copies to the reader (probe: skb:skb_copy_datagram_iovec) vs the consumer\'s count', p.totals.reads, q.consumer_packets));
  }
  return out;
}
