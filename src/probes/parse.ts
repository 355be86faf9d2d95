// Parse bpftrace's JSON-lines output of probes/sampler.bt (+ per-packet.bt) into ticks:
// gauges (occupancy per queue, full per queue) and cumulative counters at a monotonic time,
// histogram snapshots, the handshakes, and the final totals of the END block.
import type { Histogram } from '../types.ts';

/** Cumulative since attach. xmit and reads exist at the 'full' level only. */
export const COUNTERS = ['lock_x', 'lock_r', 'lock_x_ns', 'lock_r_ns', 'xmit', 'reads'] as const;
export type CounterName = (typeof COUNTERS)[number];
export type Counters = Record<CounterName, number>;
export const HISTS = ['lock_x_hist', 'lock_r_hist', 'occ', 'lat'] as const;
export type HistName = (typeof HISTS)[number];

export interface Tick {
  /** CLOCK_MONOTONIC ns (bpftrace nsecs). */
  t: number;
  counts: Counters;
  /** Packets in each queue at this tick (queue index -> packets); queues not yet found are absent. */
  qlen: Record<string, number>;
  /** Queues that would refuse a packet at this tick (queue index -> 0/1). */
  qfull: Record<string, number>;
  /** Drops at tun_net_xmit by numeric skb_drop_reason, cumulative (read by bpftrace's user
   * space a little after the tick: use for the breakdown and the END totals). */
  reasons: Record<string, number>;
  /** Drops at tun_net_xmit so far, captured at the tick itself (absent in older output). */
  dropsAtTick?: number;
  /** Each tx queue stopped (1) or not (0) at this tick, and the packets its qdisc requeued and
   * holds (the sampler's "txq" record; absent in older output and without the offsets). */
  txqStopped?: Record<string, number>;
  held?: Record<string, number>;
}

export interface HistSnapshot {
  t: number;
  hists: Partial<Record<HistName, Histogram>>;
  /** Cumulative lock counts printed with the snapshot (the sampler prints them every 10th tick;
   * absent in older output, which printed them on every tick). */
  counts?: Counters;
}

export interface ParsedProbeOutput {
  attachedAt: number | null;
  /** The queues the handshake found: queue index -> tun_file address (decimal string). */
  handshakes: Record<string, string>;
  ticks: Tick[];
  histSnapshots: HistSnapshot[];
  end: { t: number; counts: Counters; reasons: Record<string, number>; hists: Partial<Record<HistName, Histogram>> } | null;
  /** Queues found by mode (0 ring, 1 skq), from the END record. */
  queueModes: { ring: number; skq: number } | null;
  /** Non-data lines (warnings), kept for the record. */
  messages: string[];
}

const zero = (): Counters => ({ lock_x: 0, lock_r: 0, lock_x_ns: 0, lock_r_ns: 0, xmit: 0, reads: 0 });

interface JsonLine {
  type?: string;
  data?: unknown;
}

function toHistogram(v: unknown): Histogram {
  const rows = Array.isArray(v) ? (v as { min?: number; max?: number; count?: number }[]) : [];
  return { buckets: rows.map((r) => ({ min: r.min ?? 0, max: r.max ?? null, count: r.count ?? 0 })) };
}

const numbers = (v: unknown): Record<string, number> =>
  v && typeof v === 'object' ? Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, n]) => typeof n === 'number')) as Record<string, number> : {};

type Sink = { counts: Counters; reasons: Record<string, number>; hists: Partial<Record<HistName, Histogram>>; tick?: Tick; isEnd?: boolean; snapshot?: HistSnapshot };

export function parseProbeOutput(text: string): ParsedProbeOutput {
  const out: ParsedProbeOutput = { attachedAt: null, handshakes: {}, ticks: [], histSnapshots: [], end: null, queueModes: null, messages: [] };
  // Where map lines go: the current tick, the current histogram snapshot, or the end record.
  let target: Sink | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    let j: JsonLine;
    try {
      j = JSON.parse(line) as JsonLine;
    } catch {
      out.messages.push(line);
      continue;
    }
    if (j.type === 'printf' && typeof j.data === 'string') {
      const text = j.data.trim();
      const hs = /^handshake (\d+) (\d+)$/.exec(text);
      if (hs) {
        out.handshakes[hs[1]!] = hs[2]!;
        continue;
      }
      const m = /^(tunbench-attached|ticks|tick|txq|hists|end|done) (\d+)((?: -?\d+)*)$/.exec(text);
      if (!m) {
        out.messages.push(text);
        continue;
      }
      const t = Number(m[2]);
      if (m[1] === 'tunbench-attached') out.attachedAt = t;
      else if (m[1] === 'done') target = null; // bpftrace's own exit dump of the cleared maps follows: not data
      else if (m[1] === 'txq') {
        // Older output: printed right after its tick, in the same probe firing: it belongs to the last tick.
        const tick = out.ticks[out.ticks.length - 1];
        const rest = m[3]!.trim() === '' ? [] : m[3]!.trim().split(' ').map(Number);
        if (tick) {
          tick.txqStopped = {};
          tick.held = {};
          for (let q = 0; q < rest.length / 2; q++) {
            if (rest[2 * q]! < 0) continue;
            tick.txqStopped[String(q)] = rest[2 * q]!;
            tick.held[String(q)] = Math.max(0, rest[2 * q + 1]!);
          }
        }
      } else if (m[1] === 'tick' || m[1] === 'ticks') {
        // "ticks <count> <slots> <per queue> ..." carries <slots> ticks of equal width, the first
        // <count> valid; each: the time, the full level's drops so far, then <per queue> values a
        // queue (packets, full; with the tx queue: stopped, held). "tick <ns> ..." is one tick
        // of two values a queue (older output).
        const values = m[3]!.trim() === '' ? [] : m[3]!.trim().split(' ').map(Number);
        const records: number[][] = [];
        let perQueue = 2;
        if (m[1] === 'tick') records.push([t, ...values]);
        else {
          const slots = values.shift() ?? 0;
          perQueue = values.shift() ?? 0;
          const width = slots > 0 ? values.length / slots : 0;
          if (!Number.isInteger(width) || width < 1 || t > slots || (perQueue !== 2 && perQueue !== 4)) {
            out.messages.push(text);
            continue;
          }
          for (let i = 0; i < t; i++) records.push(values.slice(i * width, (i + 1) * width));
        }
        for (const [time, ...rest] of records) {
          const prev = out.ticks[out.ticks.length - 1];
          const tick: Tick = { t: time!, counts: prev ? { ...prev.counts } : zero(), qlen: {}, qfull: {}, reasons: prev ? { ...prev.reasons } : {} };
          // After the time: the drop count at the full level (one value more than whole queues),
          // then each queue's values, -1 for a queue not found yet. Older output: the drop
          // count alone, with the queues in maps that follow.
          if (rest.length % perQueue === 1) tick.dropsAtTick = rest.shift()!;
          if (perQueue === 4) {
            tick.txqStopped = {};
            tick.held = {};
          }
          for (let q = 0; q < Math.floor(rest.length / perQueue); q++) {
            const v = rest.slice(q * perQueue, (q + 1) * perQueue);
            if (v[0]! < 0) continue;
            tick.qlen[String(q)] = v[0]!;
            tick.qfull[String(q)] = v[1]!;
            if (perQueue === 4 && v[2]! >= 0) {
              tick.txqStopped![String(q)] = v[2]!;
              tick.held![String(q)] = Math.max(0, v[3]!);
            }
          }
          out.ticks.push(tick);
          target = { counts: tick.counts, reasons: tick.reasons, hists: {}, tick };
        }
      } else if (m[1] === 'hists') {
        const snap: HistSnapshot = { t, hists: {} };
        out.histSnapshots.push(snap);
        const counts = zero();
        target = { counts, reasons: {}, hists: snap.hists, snapshot: snap };
      } else {
        const last = out.ticks[out.ticks.length - 1];
        out.end = { t, counts: last ? { ...last.counts } : zero(), reasons: last ? { ...last.reasons } : {}, hists: {} };
        target = { ...out.end, isEnd: true };
      }
      continue;
    }
    if ((j.type === 'map' || j.type === 'hist' || j.type === 'lhist') && j.data && typeof j.data === 'object') {
      if (!target) continue;
      for (const [name, value] of Object.entries(j.data as Record<string, unknown>)) {
        const key = name.replace(/^@/, '');
        if ((COUNTERS as readonly string[]).includes(key) && typeof value === 'number') {
          target.counts[key as CounterName] = value;
          if (target.snapshot) target.snapshot.counts = target.counts;
        }
        else if (key === 'qlen' && target.tick) target.tick.qlen = numbers(value);
        else if (key === 'qfull' && target.tick) target.tick.qfull = numbers(value);
        else if (key === 'qmode' && target.isEnd) {
          const q = numbers(value);
          out.queueModes = { ring: q['0'] ?? 0, skq: q['1'] ?? 0 };
        } else if (key === 'reason') {
          for (const [r, n] of Object.entries(numbers(value))) target.reasons[r] = n;
        } else if ((HISTS as readonly string[]).includes(key)) target.hists[key as HistName] = toHistogram(value);
      }
      continue;
    }
    if (j.type === 'attached_probes') continue;
    out.messages.push(line);
  }
  return out;
}
