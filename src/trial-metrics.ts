// Raw samples of one trial -> its flat metrics record (see src/metrics.ts for definitions).
// Rates use the measurement window; the cross-check uses the quiet span from before the
// generator started to after the queue drained, so probe and counter totals can be
// compared exactly, without the skew of reading two sources while packets fly.
import { emptyMetrics, type TrialMetrics } from './metrics.ts';
import type { CounterDeltas, CrossCheck, DeviceCounters, GeneratorReport, Histogram, ProbeSamples } from './types.ts';

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

export interface MetricInputs {
  windowSeconds: number;
  capacity: number;
  /** Counter deltas over the window (tap statistics). */
  windowCounters: DeviceCounters;
  /** Consumer's packets over the window and its own seconds for them. */
  consumerPackets: number;
  consumerSeconds: number;
  generator: GeneratorReport | null;
  /** Probe samples over the window, or null at probe level off. */
  probe: ProbeSamples | null;
  cpu: { generatorPct: number | null; consumerPct: number | null };
}

export function deriveMetrics(i: MetricInputs): TrialMetrics {
  const m = emptyMetrics();
  const w = i.windowSeconds;
  const p = i.probe;
  const xmit = p ? p.xmit : i.windowCounters.tx_packets;
  const drops = p ? p.dropsTotal : i.windowCounters.tx_dropped;
  m.xmit_pps = xmit / w;
  m.drop_pps = drops / w;
  m.drop_ratio = xmit + drops > 0 ? drops / (xmit + drops) : 0;
  m.rx_pps = i.consumerSeconds > 0 ? i.consumerPackets / i.consumerSeconds : null;
  const g = i.generator;
  if (g && g.packetsSent !== null && g.seconds) m.offered_pps = g.packetsSent / g.seconds;
  else if (g?.reportedPps != null) m.offered_pps = g.reportedPps;
  m.cpu_generator_pct = i.cpu.generatorPct;
  m.cpu_consumer_pct = i.cpu.consumerPct;
  if (p) {
    const occ = p.occupancySeries.values;
    const occMean = mean(occ);
    m.occupancy_mean = occMean === null ? null : occMean / i.capacity;
    const p99 = histogramQuantile(p.occupancyAtEnqueue, 0.99);
    m.occupancy_p99 = p99 === null ? null : Math.min(p99, i.capacity) / i.capacity;
    m.occupancy_full_fraction = occ.length === 0 ? null : occ.filter((v) => v >= i.capacity).length / occ.length;
    m.lock_contention_xmit = p.lock.xmit.count / w;
    m.lock_contention_read = p.lock.read.count / w;
    m.lock_contention_count = (p.lock.xmit.count + p.lock.read.count) / w;
    m.lock_wait_total_ns = (p.lock.xmit.waitNs + p.lock.read.waitNs) / w;
    m.lock_wait_p99_ns = histogramQuantile(mergeHistograms(p.lock.xmit.waitHist, p.lock.read.waitHist), 0.99);
    if (p.latencyNs) {
      m.latency_p50_ns = histogramQuantile(p.latencyNs, 0.5);
      m.latency_p99_ns = histogramQuantile(p.latencyNs, 0.99);
    }
  }
  return m;
}

function check(name: string, probe: number, counter: number, tolerance: number, exact = false, shortBy = 0): CrossCheck {
  const relativeDifference = Math.abs(probe - counter) / Math.max(counter, 1);
  const ok = exact ? probe <= counter && counter - probe <= shortBy : relativeDifference <= tolerance;
  return { name, probe, counter, relativeDifference, tolerance: exact ? 0 : tolerance, ok, ...(shortBy > 0 ? { allowedShortBy: shortBy } : {}) };
}

export interface CrossCheckInputs {
  /** Probe totals over the quiet span. */
  probe: { xmit: number; drops: number; reads: number };
  /** Counter deltas over the same span. */
  counters: CounterDeltas;
  tolerance: number;
  /** Reads the probe cannot see: a kretprobe misses a read that was already blocked in
   * tun_do_read when the probes attached (at most one per reader thread: the queue count). */
  readsInFlightAtAttach?: number;
}

/**
 * Probe counts against the kernel's and the consumer's own counts over the quiet span.
 * accepted vs tx_packets within the tolerance (the tap also counts the odd packet the
 * stack sends itself); drops must equal tx_dropped; reads must equal the consumer's count.
 */
export function crossCheck(i: CrossCheckInputs): CrossCheck[] {
  return [
    check('accepted (probe) vs tx_packets (tap counter)', i.probe.xmit, i.counters.tx_packets, i.tolerance),
    check('drops at tun_net_xmit (probe) vs tx_dropped (tap counter)', i.probe.drops, i.counters.tx_dropped, i.tolerance, true),
    check('reads by tun_do_read (probe) vs packets read (consumer)', i.probe.reads, i.counters.consumer_packets, i.tolerance, true, i.readsInFlightAtAttach ?? 0),
  ];
}

/** An exact backend's totals against the tracepoint backend's on the same traffic (quiet span). */
export function crossValidate(backend: string, exact: { xmit: number; drops: number; reads: number }, tracepoint: { xmit: number; drops: number; reads: number }, tolerance: number): CrossCheck[] {
  return [
    check(`accepted: ${backend} vs tracepoint backend`, exact.xmit, tracepoint.xmit, tolerance),
    check(`drops: ${backend} vs tracepoint backend`, exact.drops, tracepoint.drops, tolerance),
    check(`reads: ${backend} vs tracepoint backend`, exact.reads, tracepoint.reads, tolerance),
  ];
}
