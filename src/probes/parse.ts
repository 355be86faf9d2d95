// Parse bpftrace's -f json output of a tunbench probe script into ticks: cumulative
// counters at a monotonic time, histogram snapshots, and the final totals.
import type { Histogram } from '../types.ts';

export const COUNTERS = ['xmit', 'xdrop', 'reads', 'lock_x', 'lock_r', 'lock_x_ns', 'lock_r_ns'] as const;
/** Exact backends also print @qlen[queue]: occupancy read from the queue (a gauge, summed over queues). */
export type CounterName = (typeof COUNTERS)[number];
export type Counters = Record<CounterName, number>;
export const HISTS = ['lock_x_hist', 'lock_r_hist', 'occ', 'lat'] as const;
export type HistName = (typeof HISTS)[number];

export interface Tick {
  /** CLOCK_MONOTONIC ns (bpftrace nsecs). */
  t: number;
  counts: Counters;
  /** Occupancy read from the queue(s) at the last enqueue (exact backends only), all queues summed. */
  qlen?: number;
  /** Drops by numeric skb_drop_reason, cumulative. */
  reasons: Record<string, number>;
}

export interface HistSnapshot {
  t: number;
  hists: Partial<Record<HistName, Histogram>>;
}

export interface ParsedProbeOutput {
  attachedAt: number | null;
  ticks: Tick[];
  histSnapshots: HistSnapshot[];
  end: (Tick & { hists: Partial<Record<HistName, Histogram>> }) | null;
  /** Exact backends on a kernel with tunbench's patch: enqueues by queue mode since attach (end record). */
  queueModes: { ring: number; skq: number } | null;
  /** Non-data lines (warnings), kept for the record. */
  messages: string[];
}

const zero = (): Counters => ({ xmit: 0, xdrop: 0, reads: 0, lock_x: 0, lock_r: 0, lock_x_ns: 0, lock_r_ns: 0 });

interface JsonLine {
  type?: string;
  data?: unknown;
}

function toHistogram(v: unknown): Histogram {
  const rows = Array.isArray(v) ? (v as { min?: number; max?: number; count?: number }[]) : [];
  return { buckets: rows.map((r) => ({ min: r.min ?? 0, max: r.max ?? null, count: r.count ?? 0 })) };
}

export function parseProbeOutput(text: string): ParsedProbeOutput {
  const out: ParsedProbeOutput = { attachedAt: null, ticks: [], histSnapshots: [], end: null, queueModes: null, messages: [] };
  // Where map lines go: the current tick, the current histogram snapshot, or the end record.
  let target: { counts: Counters; reasons: Record<string, number>; hists: Partial<Record<HistName, Histogram>> } | null = null;
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
      const m = /^(tunbench-attached|tick|hists|end|done) (\d+)/.exec(j.data.trim());
      if (!m) {
        out.messages.push(j.data.trim());
        continue;
      }
      const t = Number(m[2]);
      if (m[1] === 'tunbench-attached') out.attachedAt = t;
      else if (m[1] === 'done') target = null; // bpftrace's own exit dump of the cleared maps follows: not data
      else if (m[1] === 'tick') {
        const prev = out.ticks[out.ticks.length - 1];
        const tick: Tick = { t, counts: prev ? { ...prev.counts } : zero(), reasons: prev ? { ...prev.reasons } : {} };
        out.ticks.push(tick);
        target = { counts: tick.counts, reasons: tick.reasons, hists: {} };
      } else if (m[1] === 'hists') {
        const snap: HistSnapshot = { t, hists: {} };
        out.histSnapshots.push(snap);
        target = { counts: zero(), reasons: {}, hists: snap.hists };
      } else {
        const last = out.ticks[out.ticks.length - 1];
        out.end = { t, counts: last ? { ...last.counts } : zero(), reasons: last ? { ...last.reasons } : {}, hists: {} };
        target = out.end;
      }
      continue;
    }
    if ((j.type === 'map' || j.type === 'hist' || j.type === 'lhist') && j.data && typeof j.data === 'object' && target) {
      for (const [name, value] of Object.entries(j.data as Record<string, unknown>)) {
        const key = name.replace(/^@/, '');
        if ((COUNTERS as readonly string[]).includes(key) && typeof value === 'number') target.counts[key as CounterName] = value;
        else if (key === 'qmode' && value && typeof value === 'object' && target === out.end) {
          const m = value as Record<string, number>;
          out.queueModes = { ring: m['0'] ?? 0, skq: m['1'] ?? 0 };
        } else if (key === 'qlen' && value && typeof value === 'object' && out.ticks.length > 0 && target !== out.end) {
          out.ticks[out.ticks.length - 1]!.qlen = Object.values(value as Record<string, number>).reduce((a, b) => a + b, 0);
        } else if (key === 'reason' && value && typeof value === 'object') {
          for (const [r, n] of Object.entries(value as Record<string, number>)) target.reasons[r] = n;
        } else if ((HISTS as readonly string[]).includes(key)) target.hists[key as HistName] = toHistogram(value);
      }
      continue;
    }
    if (j.type === 'attached_probes' || j.type === 'map' || j.type === 'hist' || j.type === 'lhist') continue;
    out.messages.push(line);
  }
  return out;
}
