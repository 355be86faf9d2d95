// The per-trial metrics: one flat record per trial. This registry is the single place that
// says what each metric means, where it comes from, and which direction is better. The
// statistics, the gate, the report and the README all read it.

export type Direction = 'higher' | 'lower';

export interface MetricInfo {
  /** Unit shown in tables. */
  unit: 'pps' | 'ratio' | 'fraction' | 'count' | 'ns' | 'percent';
  /** Which direction is better. */
  better: Direction;
  /** The lowest probe level at which it is measured ('off' = kernel counters or reports alone). */
  level: 'off' | 'counters' | 'full';
  /** One-line definition. */
  definition: string;
  /** Where the number comes from. */
  source: string;
}

export const METRICS = {
  offered_pps: {
    unit: 'pps', better: 'higher', level: 'off',
    definition: 'Packets per second the generator handed to the kernel during the window.',
    source: 'Generator report (trafgen packet count, or pktgen pkts-sofar) over the measurement window; for a rate-limited run this is the requested load.',
  },
  xmit_pps: {
    unit: 'pps', better: 'higher', level: 'off',
    definition: 'Packets per second accepted into the tap queue by tun_net_xmit.',
    source: 'Probes: net:net_dev_xmit with rc=NETDEV_TX_OK on the lab tap (tracepoint backend), or tun_net_xmit returning NETDEV_TX_OK (kretprobe/kretfunc: kprobe and fentry backends); with probes off: tap tx_packets delta / window.',
  },
  rx_pps: {
    unit: 'pps', better: 'higher', level: 'off',
    definition: 'Packets per second taken off the queue by the consumer (tun_do_read).',
    source: "Consumer's own count (sink packets read, or the guest's receive counter) over the window; probes (skb:skb_copy_datagram_iovec by the reader; tun_do_read returning > 0 for the exact backends) cross-check it.",
  },
  drop_pps: {
    unit: 'pps', better: 'lower', level: 'off',
    definition: 'Packets per second dropped by tun_net_xmit because the queue was full (or for another reason at that site).',
    source: 'Probes: net:net_dev_xmit rc != 0 (tracepoint) or tun_net_xmit returning NET_XMIT_DROP (exact backends), reasons from skb:kfree_skb (FULL_RING reported separately); counter: tap tx_dropped delta.',
  },
  drop_ratio: {
    unit: 'ratio', better: 'lower', level: 'off',
    definition: 'drops / (accepted + drops) at tun_net_xmit during the window.',
    source: 'Derived from xmit and drop counts (probes when on, kernel counters otherwise).',
  },
  occupancy_mean: {
    unit: 'fraction', better: 'lower', level: 'counters',
    definition: 'Mean queue occupancy as a fraction of capacity (tx_queue_len x queues), sampled at a fixed interval.',
    source: 'Probes: exact backends read the queue at each enqueue ((producer - consumer_head) mod size of the ptr_ring, or sk_receive_queue.qlen in the patched kernel skq mode); the tracepoint backend derives it as packets accepted minus packets read since attach. result trials[].probe.occupancySource says which.',
  },
  occupancy_p99: {
    unit: 'fraction', better: 'lower', level: 'counters',
    definition: '99th percentile of the occupancy seen by each enqueued packet, as a fraction of capacity.',
    source: 'Probes: histogram of occupancy at each enqueue.',
  },
  occupancy_full_fraction: {
    unit: 'fraction', better: 'lower', level: 'counters',
    definition: 'Fraction of the occupancy samples in which the queue was full (occupancy >= capacity).',
    source: 'Probes: occupancy time series.',
  },
  lock_contention_count: {
    unit: 'count', better: 'lower', level: 'counters',
    definition: 'Contended spinlock acquisitions per second in the xmit and read contexts together.',
    source: 'Probes: lock:contention_begin in the xmit and read contexts: tracepoint backend, any lock taken by the generator process / the reader process; exact backends, a lock taken inside tun_net_xmit / tun_do_read (producer_lock, consumer_lock, or the one sk_receive_queue lock in skq mode).',
  },
  lock_contention_xmit: {
    unit: 'count', better: 'lower', level: 'counters',
    definition: 'Contended lock acquisitions per second in the xmit context (generator threads).',
    source: 'Probes: lock:contention_begin in the generator process (tracepoint backend) or inside tun_net_xmit (exact backends).',
  },
  lock_contention_read: {
    unit: 'count', better: 'lower', level: 'counters',
    definition: 'Contended lock acquisitions per second in the read context (consumer).',
    source: 'Probes: lock:contention_begin in the reader process (tracepoint backend) or inside tun_do_read (exact backends).',
  },
  lock_wait_total_ns: {
    unit: 'ns', better: 'lower', level: 'counters',
    definition: 'Total time spent waiting on contended locks per second of window, both sides.',
    source: 'Probes: lock:contention_end minus contention_begin per thread.',
  },
  lock_wait_p99_ns: {
    unit: 'ns', better: 'lower', level: 'counters',
    definition: '99th percentile of one contended wait.',
    source: 'Probes: histogram of contention_end - contention_begin.',
  },
  latency_p50_ns: {
    unit: 'ns', better: 'lower', level: 'full',
    definition: 'Median queueing latency: time from acceptance in tun_net_xmit to the copy to the reader.',
    source: 'Probes (full level only): per-packet timestamp keyed by skb address at net_dev_start_xmit (tracepoint) or tun_net_xmit entry (exact backends), read at skb:skb_copy_datagram_iovec.',
  },
  latency_p99_ns: {
    unit: 'ns', better: 'lower', level: 'full',
    definition: '99th percentile queueing latency.',
    source: 'As latency_p50_ns.',
  },
  cpu_generator_pct: {
    unit: 'percent', better: 'lower', level: 'off',
    definition: 'CPU time used by the generator process during the window, percent of one CPU.',
    source: '/proc/PID/stat utime+stime deltas.',
  },
  cpu_consumer_pct: {
    unit: 'percent', better: 'lower', level: 'off',
    definition: 'CPU time used by the consumer process during the window, percent of one CPU.',
    source: '/proc/PID/stat utime+stime deltas.',
  },
} as const satisfies Record<string, MetricInfo>;

export type MetricName = keyof typeof METRICS;
export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];

/** One flat record per trial; null where the metric was not measured at this probe level. */
export type TrialMetrics = Record<MetricName, number | null>;

export function emptyMetrics(): TrialMetrics {
  return Object.fromEntries(METRIC_NAMES.map((m) => [m, null])) as TrialMetrics;
}

export function isMetricName(s: string): s is MetricName {
  return Object.prototype.hasOwnProperty.call(METRICS, s);
}
