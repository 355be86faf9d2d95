// The multicast burst's readings and their pure reading: per tap, what the sender's frames
// became (delivered to the tap's reader, dropped by tun or the stopped queue, dropped by the
// qdisc, still queued), with exact checks over the quiet span; and the sender's figures.
import type { Iperf2Report } from '../workload/generators/iperf2.ts';
import type { CrossCheck, DeviceCounters, TransferReadings, TunQueueState } from '../types.ts';
import { completionNs, senderNs } from './transfer.ts';

/** A qdisc's counts at one instant (tc -s). */
export interface McastQdiscAt { sentPackets: number; drops: number; backlogPackets: number; requeues: number }

/** One tap at one instant: device counters, its qdisc, and (patched kernels) tun's fdinfo. */
export interface McastTapAt {
  tNs: number;
  dev: DeviceCounters;
  qdisc: McastQdiscAt;
  tun?: TunQueueState;
}

export interface McastTapReadings {
  index: number;
  name: string;
  /** workload.unread: its reader was stopped for the whole transfer. */
  unread: boolean;
  /** The reader's own count before the traffic and after the drain (a stopped reader cannot answer in between). */
  reader: { quietBefore: number; quietAfter: number };
  quietBefore: McastTapAt;
  /** At the transfer's end (or its deadline), before any unread reader is resumed. */
  transferEnd: McastTapAt;
  quietAfter: McastTapAt;
}

export interface McastReadings {
  group: string;
  qdiscKind: string;
  /** Frames the sender's interface sent (its veth's tx_packets) over the quiet span and up to the transfer's end. */
  sender: {
    quietBefore: DeviceCounters; transferEnd: DeviceCounters; quietAfter: DeviceCounters;
    command: string[];
    exitCode: number | null;
    report: Iperf2Report;
    /** Its threads' wait channels when the deadline passed with the sender unfinished. */
    wchanAtDeadline?: string[];
    output: string;
  };
  transfer: TransferReadings;
  /** When the unread readers were stopped and resumed. */
  unreadStoppedNs: number | null;
  unreadResumedNs: number | null;
  drain: { complete: boolean; seconds: number };
  /** generator.ownerTrace: per device, the skbs it was handed that were the sender socket's own (charged) and clones, over the burst (probes/mcast-owner.bt). */
  owner?: { devices: Record<string, { charged: number; clones: number }>; bridge: string; senderDev: string; senderPort: string | null; rawFile: string };
  taps: McastTapReadings[];
}

export interface McastTapAccount {
  index: number;
  name: string;
  unread: boolean;
  /** Frames the qdisc was handed over the quiet span (sent + drops + backlog change). */
  handed: number;
  delivered: number;
  /** The tap's tx_dropped: tun's full ring (stock) or the core at a stopped queue (backpressure). */
  tunDrops: number;
  qdiscDrops: number;
  /** delivered / the sender's frames. */
  deliveredRatio: number | null;
  /** At the transfer's end: frames in the ring (qdisc sent - read - tun drops, less the one frame a
   * qdisc holds requeued at a stopped queue) and in the qdisc (its backlog, that frame included). */
  queuedAtEnd: { ring: number; qdisc: number };
  /** Frames the reader took after the transfer's end (an unread tap: after it was resumed). */
  readAfterEnd: number;
  /** tun's queue stopped at the transfer's end / after the drain (patched kernels; null: not known). */
  stoppedAtEnd: number | null;
  stoppedAfter: number | null;
  /** An unread tap's queue recovered: once its reader came back it took everything queued,
   * nothing is left in the qdisc and the queue is not stopped. null for a read tap. */
  recovered: boolean | null;
}

const handedOver = (a: McastTapAt, b: McastTapAt) => (b.qdisc.sentPackets - a.qdisc.sentPackets) + (b.qdisc.drops - a.qdisc.drops) + (b.qdisc.backlogPackets - a.qdisc.backlogPackets);

export function senderFrames(r: McastReadings): number {
  return r.sender.quietAfter.tx_packets - r.sender.quietBefore.tx_packets;
}

export function tapAccount(t: McastTapReadings, frames: number, drained: boolean): McastTapAccount {
  const b = t.quietBefore, e = t.transferEnd, a = t.quietAfter;
  // A qdisc meeting a stopped queue (backpressure) dequeues one frame and requeues it: that frame
  // is in its sent count and in its backlog. With the queue seen stopped and a backlog, one
  // frame of the backlog is that one, not in the ring.
  const held = (e.tun?.stopped ?? 0) > 0 && e.qdisc.backlogPackets > 0 ? 1 : 0;
  const ringAtEnd = (e.qdisc.sentPackets - b.qdisc.sentPackets) - (e.dev.tx_packets - b.dev.tx_packets) - (e.dev.tx_dropped - b.dev.tx_dropped) - held;
  const queuedAtEnd = { ring: ringAtEnd, qdisc: e.qdisc.backlogPackets - b.qdisc.backlogPackets };
  const readAfterEnd = a.dev.tx_packets - e.dev.tx_packets;
  const stoppedAfter = a.tun ? a.tun.stopped : null;
  const delivered = t.reader.quietAfter - t.reader.quietBefore;
  return {
    index: t.index,
    name: t.name,
    unread: t.unread,
    handed: handedOver(b, a),
    delivered,
    tunDrops: a.dev.tx_dropped - b.dev.tx_dropped,
    qdiscDrops: a.qdisc.drops - b.qdisc.drops,
    deliveredRatio: frames > 0 ? delivered / frames : null,
    queuedAtEnd,
    readAfterEnd,
    stoppedAtEnd: e.tun ? e.tun.stopped : null,
    stoppedAfter,
    // Recovered: after the drain nothing is left (the reader runs and stood still: the ring is
    // empty; the qdisc's backlog is 0; the queue is not stopped), the span's account closes, and
    // what was queued at the transfer's end was taken.
    recovered: t.unread ? drained && a.qdisc.backlogPackets === 0 && (stoppedAfter ?? 0) === 0 && delivered + (a.dev.tx_dropped - b.dev.tx_dropped) + (a.qdisc.drops - b.qdisc.drops) === handedOver(b, a) && (queuedAtEnd.ring + queuedAtEnd.qdisc === 0 || readAfterEnd > 0) : null,
  };
}

function exact(name: string, probe: number, counter: number): CrossCheck {
  return { name, probe, counter, relativeDifference: Math.abs(probe - counter) / Math.max(counter, 1), tolerance: 0, ok: probe === counter };
}

/** Every tap's account must close exactly over the quiet span (the queues drained). */
export function mcastChecks(r: McastReadings): CrossCheck[] {
  const frames = senderFrames(r);
  const out: CrossCheck[] = [];
  for (const t of r.taps) {
    const a = tapAccount(t, frames, r.drain.complete);
    const tx = t.quietAfter.dev.tx_packets - t.quietBefore.dev.tx_packets;
    out.push(exact(`${t.name}: the reader's count vs the tap's tx_packets`, a.delivered, tx));
    out.push(exact(`${t.name}: delivered + qdisc drops + tx_dropped vs handed to the qdisc`, a.delivered + a.qdiscDrops + a.tunDrops, a.handed));
    out.push(exact(`${t.name}: handed to the qdisc vs the sender's frames (the bridge floods each to every port)`, a.handed, frames));
  }
  return out;
}

/** The sender was blocked: it had not finished at the deadline and had seen no write error
 * (its socket send call was waiting, not failing). */
export function senderBlocked(r: McastReadings): boolean {
  return r.transfer.senderDoneNs === null && (r.sender.report.writeErrors ?? 0) === 0;
}

export interface McastSummary {
  senderFrames: number;
  senderNs: number | null;
  completionNs: number | null;
  dnf: boolean;
  blocked: boolean;
  writeErrors: number | null;
  taps: McastTapAccount[];
  /** The lowest delivered ratio among the taps that were read. */
  readDeliveredMin: number | null;
  /** Every unread tap recovered (null: none unread). */
  unreadRecovered: boolean | null;
  /** generator.ownerTrace: the sender socket's own skbs (charged to its send buffer) the unread taps were handed (null: no trace or none unread). */
  unreadCharged: number | null;
  /** generator.ownerTrace: the taps that were handed any of the sender socket's own skbs (null: no trace). */
  chargedTaps: string[] | null;
}

export function summariseMcast(r: McastReadings): McastSummary {
  const frames = senderFrames(r);
  const taps = r.taps.map((t) => tapAccount(t, frames, r.drain.complete));
  const read = taps.filter((t) => !t.unread).map((t) => t.deliveredRatio).filter((x): x is number => x !== null);
  const unread = taps.filter((t) => t.unread);
  return {
    senderFrames: frames,
    senderNs: senderNs(r.transfer),
    completionNs: completionNs(r.transfer),
    dnf: r.transfer.verdict !== 'completed',
    blocked: senderBlocked(r),
    writeErrors: r.sender.report.writeErrors,
    taps,
    readDeliveredMin: read.length ? Math.min(...read) : null,
    unreadRecovered: unread.length ? unread.every((t) => t.recovered === true) : null,
    unreadCharged: r.owner && unread.length ? unread.reduce((a, t) => a + (r.owner!.devices[t.name]?.charged ?? 0), 0) : null,
    chargedTaps: r.owner ? r.taps.filter((t) => (r.owner!.devices[t.name]?.charged ?? 0) > 0).map((t) => t.name) : null,
  };
}
