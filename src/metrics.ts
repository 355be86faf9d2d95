// The per-trial metrics: one flat record per trial. This registry is the single place that
// says what each metric means, where it comes from, and which direction is better. The
// statistics, the gate, the report and the README all read it.

export type Direction = 'higher' | 'lower';

export interface MetricInfo {
  /** Unit shown in tables. */
  unit: 'pps' | 'ratio' | 'fraction' | 'count' | 'packets' | 'bps' | 'ns' | 'percent' | 'tps';
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
    definition: 'Packets per second the generator handed to the kernel.',
    source: 'Generator report: trafgen packet count or pktgen pkts-sofar over its own run time; for a rate-limited run, the requested load.',
  },
  xmit_pps: {
    unit: 'pps', better: 'higher', level: 'off',
    definition: 'Packets per second accepted into the tap queue by tun_net_xmit: packets read plus the change in occupancy over the window.',
    source: 'Kernel counter and sampler: tap tx_packets delta (tun counts it when the reader copies a packet, in tun_put_user) + occupancy at the last minus the first sampler tick of the window (read from the queue); with probes off the occupancy change is unknown and taken as 0 (at most the queue capacity over the window). Divided by the span between the two counter reads.',
  },
  rx_pps: {
    unit: 'pps', better: 'higher', level: 'off',
    definition: 'Packets per second taken off the queue by the consumer (tun_do_read).',
    source: "Consumer's own count (sink packets read, or the guest's receive counter) over its own clock; cross-checked against the tap's tx_packets over the quiet span.",
  },
  drop_pps: {
    unit: 'pps', better: 'lower', level: 'off',
    definition: 'Packets per second dropped by tun_net_xmit (the queue was full).',
    source: 'Kernel counter: tap tx_dropped delta (counted in tun_net_xmit). At the full level a probe also attributes drops to reasons (skb:kfree_skb located in tun_net_xmit, FULL_RING) and must agree exactly over the quiet span; the counters level runs no program per drop.',
  },
  drop_ratio: {
    unit: 'ratio', better: 'lower', level: 'off',
    definition: 'drops / (accepted + drops) at tun_net_xmit during the window.',
    source: 'Derived from drop_pps and xmit_pps counts (same sources).',
  },
  sent_pps: {
    unit: 'pps', better: 'higher', level: 'off',
    definition: 'Packets per second handed to the lab tap (sent/lost accounting): delivered + dropped in the qdisc + dropped at tun + the change of what is queued, over the window; every packet through the tap counts (a background flood, iperf3 flows and their ACK-less control traffic alike).',
    source: "Qdisc counters (tc -s, root qdisc): sent + drops + backlog change, read with the tap counters at the window's edges; with noqueue (or a generator that bypasses the qdisc) tap tx_packets + tx_dropped + ring occupancy change instead.",
  },
  lost_pps: {
    unit: 'pps', better: 'lower', level: 'off',
    definition: 'Packets per second lost on the way to the consumer: dropped in the qdisc plus dropped at tun (the queue was full).',
    source: 'Qdisc drops delta (tc -s) + tap tx_dropped delta over the window. A drop the sender is told about (NET_XMIT_DROP: a qdisc drop, or tun\'s under noqueue) is lost too, even where trafgen or pktgen sends that frame again.',
  },
  lost_ratio: {
    unit: 'ratio', better: 'lower', level: 'off',
    definition: 'lost / sent over the window (sent/lost accounting: sent = delivered + qdisc drops + tun drops + queued).',
    source: 'Derived from lost_pps and sent_pps (same sources); cross-checked exactly over the quiet span (see "How a trial runs").',
  },
  qdisc_drop_pps: {
    unit: 'pps', better: 'lower', level: 'off',
    definition: "Packets per second the tap's root qdisc dropped itself (its queue limit, or its AQM: fq_codel's CoDel).",
    source: "tc -j -s qdisc show: the root qdisc's drops delta over the window (mq: summed over its children by the kernel). 0 with noqueue.",
  },
  qdisc_requeue_pps: {
    unit: 'pps', better: 'lower', level: 'off',
    definition: 'Packets per second the qdisc had to put back because the driver refused them (NETDEV_TX_BUSY, or a stopped queue).',
    source: "tc -s: the root qdisc's requeues delta over the window.",
  },
  tun_drop_pps: {
    unit: 'pps', better: 'lower', level: 'off',
    definition: "Packets per second tun_net_xmit dropped itself (its full ring: FULL_RING; its filters), told apart from the core's drops at a stopped queue that land in the same tx_dropped.",
    source: "tun's per-queue tun_drops in the reader's /proc/PID/fdinfo (tunbench's patch 0002), read at the window's edges; without it: all of tx_dropped when no queue was seen stopped, null when one was (unattributable).",
  },
  stopped_queue_drop_pps: {
    unit: 'pps', better: 'lower', level: 'off',
    definition: 'Packets per second the core dropped at a stopped tx queue (noqueue on a kernel that stops the queue: __dev_queue_xmit drops and counts in tx_dropped).',
    source: "tx_dropped delta - tun_drop_pps's count, tx_dropped read at the fdinfo's own instants (the reader's /proc/PID/net/dev, read before and after its fdinfo until it stood still), so the split is exact under traffic; 0 on a kernel that never stops the queue; null when unattributable.",
  },
  qdisc_aqm_drop_pps: {
    unit: 'pps', better: 'lower', level: 'off',
    definition: "Packets per second the qdisc's AQM dropped after queueing them (fq_codel's CoDel, at dequeue); the rest of qdisc_drop_pps is at its limit, at enqueue. No sender is told of these.",
    source: "tc -s: fq_codel's drops - drop_overlimit delta over the window; 0 for pfifo_fast and fq (no AQM); null for other qdiscs.",
  },
  txq_stopped_fraction: {
    unit: 'fraction', better: 'lower', level: 'counters',
    definition: 'Fraction of the window the tap\'s tx queues spent stopped by the driver (__QUEUE_STATE_DRV_XOFF), mean over the queues.',
    source: "The interval sampler: each queue's netdev_queue.state at every tick (sample and hold).",
  },
  txq_longest_stop_ns: {
    unit: 'ns', better: 'lower', level: 'counters',
    definition: 'The longest stop of any tx queue seen in the window, from the tick that saw it stopped to the tick that saw it woken (or the last tick).',
    source: 'The interval sampler, as txq_stopped_fraction.',
  },
  txq_hangs: {
    unit: 'count', better: 'lower', level: 'off',
    definition: 'Queues stopped at the end of the window and still stopped after the drain: stopped and never woken (a sender blocked for good). Its time is in the trial record.',
    source: "The interval sampler's last tick and the reader's fdinfo txq_stopped after the drain (patch 0002); without samples, fdinfo's txq_stopped after the drain alone.",
  },
  txq_stops: {
    unit: 'count', better: 'lower', level: 'off',
    definition: "Stops of the tap's tx queues in the window, all queues.",
    source: "tun's bp_stops in the reader's fdinfo (patch 0002: exact) at the window's edges; else the sampler's ticks (stops longer than a tick).",
  },
  qdisc_backlog_mean: {
    unit: 'packets', better: 'lower', level: 'off',
    definition: 'Mean number of packets waiting in the qdisc (before tun_net_xmit) during the window, sampled every 50 ms (time-weighted).',
    source: "tc -s (one long-lived tc -batch process answering each sample): the root qdisc's backlog (qlen) in packets.",
  },
  goodput_bps: {
    unit: 'bps', better: 'higher', level: 'off',
    definition: 'Bits per second of payload delivered to the receiver behind the tap (iperf3 flows; null for floods).',
    source: "iperf3 --json end record, receiver side (sum_received; UDP: what was sent less what the server found missing), over iperf3's own measured seconds (its --omit covers the trial's ramp-up, and its test outlives the window by at most 1 s).",
  },
  retransmits: {
    unit: 'count', better: 'lower', level: 'off',
    definition: "TCP segments the iperf3 client retransmitted during its measured seconds, all streams (a count, not a rate; null for UDP and floods).",
    source: 'iperf3 --json: sum_sent.retransmits (Linux tcpi_total_retrans of each stream).',
  },
  stream_fairness: {
    unit: 'ratio', better: 'higher', level: 'off',
    definition: "Jain's fairness index over the iperf3 streams' goodput, (Σx)² / (n·Σx²): 1 when every stream got the same, 1/n when one got everything (null for floods, or when no stream delivered anything).",
    source: "iperf3 --json: each stream's receiver bits_per_second (end.streams[].receiver; UDP: the stream's rate less its lost share), over iperf3's measured seconds; src/trial/fairness.ts.",
  },
  stream_goodput_min_bps: {
    unit: 'bps', better: 'higher', level: 'off',
    definition: 'Goodput of the slowest iperf3 stream (bits per second at the receiver); with goodput_bps / streams, how far the worst stream falls below its fair share.',
    source: "iperf3 --json: the least of the streams' receiver bits_per_second (as stream_fairness).",
  },
  stream_goodput_max_bps: {
    unit: 'bps', better: 'higher', level: 'off',
    definition: 'Goodput of the fastest iperf3 stream (bits per second at the receiver).',
    source: "iperf3 --json: the greatest of the streams' receiver bits_per_second (as stream_fairness). Each stream's goodput and retransmits are kept in the trial's generator.flow.perStream.",
  },
  udp_lost_ratio: {
    unit: 'ratio', better: 'lower', level: 'off',
    definition: 'UDP datagrams the server found missing / datagrams the client sent (iperf3 UDP flows; null otherwise).',
    source: 'iperf3 --json: lost_packets / packets of the end record (sequence gaps seen by the server).',
  },
  rr_latency_p50_ns: {
    unit: 'ns', better: 'lower', level: 'off',
    definition: 'Request/response (generator sockperf): median round-trip time of one transaction, a request through the lab tap to the server behind it and the reply back (null for other generators).',
    source: "sockperf ping-pong --full-rtt: its percentile 50.000 line (microseconds, 3 decimals), over sockperf's valid span: from 0.4 s after its test started (the trial's ramp-up counts from that start) to about 1 s after the window.",
  },
  rr_latency_p99_ns: {
    unit: 'ns', better: 'lower', level: 'off',
    definition: '99th percentile round-trip time of a request/response transaction (sockperf).',
    source: "sockperf's percentile 99.000 line, as rr_latency_p50_ns.",
  },
  rr_latency_p999_ns: {
    unit: 'ns', better: 'lower', level: 'off',
    definition: '99.9th percentile round-trip time of a request/response transaction (sockperf); with fewer than 1000 transactions it is the slowest one.',
    source: "sockperf's percentile 99.900 line, as rr_latency_p50_ns.",
  },
  rr_latency_max_ns: {
    unit: 'ns', better: 'lower', level: 'off',
    definition: 'Slowest request/response round trip of the test (sockperf).',
    source: "sockperf's <MAX> observation line, as rr_latency_p50_ns. Every percentile sockperf prints (25 to 99.999), its mean, minimum and message counts are kept in the trial's generator.rr.",
  },
  rr_transactions_per_s: {
    unit: 'tps', better: 'higher', level: 'off',
    definition: 'Request/response transactions completed per second (replies received; with mps: max one transaction in flight, so about 1 / mean round trip).',
    source: "sockperf's [Valid Duration] line: ReceivedMessages / RunTime, over its valid span (as rr_latency_p50_ns).",
  },
  occupancy_mean: {
    unit: 'fraction', better: 'lower', level: 'counters',
    definition: 'Mean queue occupancy over the window as a fraction of capacity (tx_queue_len x queues), sampled at a fixed interval (time-weighted).',
    source: 'Sampler (interval probe): each queue read from its struct tun_file through BTF offsets: ptr_ring (producer - consumer_head) mod size, or sk_receive_queue.qlen in the patched kernel\'s skq mode; queues summed.',
  },
  occupancy_p99: {
    unit: 'fraction', better: 'lower', level: 'counters',
    definition: '99th percentile of the sampled occupancy (time-weighted), as a fraction of capacity.',
    source: 'Sampler: the occupancy time series.',
  },
  occupancy_full_fraction: {
    unit: 'fraction', better: 'lower', level: 'counters',
    definition: 'Fraction of samples (per queue) in which the queue would have refused a packet.',
    source: "Sampler: ptr_ring's own full test (__ptr_ring_full: the producer's slot still holds an skb; consumed slots are cleared in batches, so a ring refuses packets a little before producer - consumer_head reaches its size); skq: qlen >= tx_queue_len.",
  },
  occupancy_enqueue_mean: {
    unit: 'fraction', better: 'lower', level: 'full',
    definition: 'Mean occupancy seen by each packet entering tun_net_xmit (packet-weighted), as a fraction of capacity.',
    source: "Per-packet probe (full level): the packet's queue read at tun_net_xmit entry, lhist; compare with occupancy_mean (time-weighted).",
  },
  lock_contention_count: {
    unit: 'count', better: 'lower', level: 'counters',
    definition: "Contended acquisitions per second of the queue's own locks, both sides.",
    source: "With probes.locks (default: on at full, off at counters). Sampler: lock:contention_begin/end filtered by lock address: the ring's producer_lock and consumer_lock (or the one sk_receive_queue lock in skq mode) of each queue found by the handshake. Per second of the ticks' span.",
  },
  lock_contention_xmit: {
    unit: 'count', better: 'lower', level: 'counters',
    definition: 'Contended acquisitions per second of the producer side: ptr_ring producer_lock (skq: the queue lock, by any thread but the reader).',
    source: 'With probes.locks (default: on at full, off at counters). Sampler: lock:contention_begin on that address.',
  },
  lock_contention_read: {
    unit: 'count', better: 'lower', level: 'counters',
    definition: "Contended acquisitions per second of the consumer side: ptr_ring consumer_lock (skq: the queue lock, by the reader's threads).",
    source: 'With probes.locks (default: on at full, off at counters). Sampler: lock:contention_begin on that address.',
  },
  lock_wait_total_ns: {
    unit: 'ns', better: 'lower', level: 'counters',
    definition: "Time spent waiting on the queue's contended locks per second, both sides.",
    source: 'With probes.locks (default: on at full, off at counters). Sampler: lock:contention_end minus contention_begin per thread, on those addresses.',
  },
  lock_wait_p99_ns: {
    unit: 'ns', better: 'lower', level: 'counters',
    definition: "99th percentile of one contended wait on the queue's locks.",
    source: 'With probes.locks (default: on at full, off at counters). Sampler: histogram of contention_end - contention_begin.',
  },
  latency_p50_ns: {
    unit: 'ns', better: 'lower', level: 'full',
    definition: 'Median queueing latency: from tun_net_xmit entry to the copy to the reader.',
    source: 'Per-packet probe (full level): timestamp keyed by skb address at net_dev_start_xmit (tracepoint), tun_net_xmit entry (kprobe, fentry), read at skb:skb_copy_datagram_iovec by the reader.',
  },
  latency_p99_ns: {
    unit: 'ns', better: 'lower', level: 'full',
    definition: '99th percentile queueing latency.',
    source: 'As latency_p50_ns.',
  },
  probe_cpu_pct: {
    unit: 'percent', better: 'lower', level: 'counters',
    definition: "CPU time spent in the probes' eBPF programs during the window, percent of one CPU.",
    source: 'Kernel BPF run-time statistics (kernel.bpf_stats_enabled = 1 during the trial): run_time_ns of every program bpftrace holds, from its fdinfo, at the window\'s edges. Excludes bpftrace\'s user-space process (reading the tick records and maps; see probe_process_cpu_pct).',
  },
  probe_process_cpu_pct: {
    unit: 'percent', better: 'lower', level: 'counters',
    definition: "CPU time used by bpftrace's own process during the window (reading the sampler's records: ten ticks to a record at counters, a record and the maps every tick at full), percent of one CPU.",
    source: 'Run time (schedstat, as cpu_generator_pct) of the bpftrace process; it competes with the generator and the reader for CPUs, which probe_cpu_pct (eBPF programs only) does not show.',
  },
  cpu_generator_pct: {
    unit: 'percent', better: 'lower', level: 'off',
    definition: 'CPU time used by the generator process during the window, percent of one CPU.',
    source: 'The scheduler\'s run time of every thread of the generator\'s processes (/proc/PID/task/TID/schedstat, ns), window end minus start; /proc/PID/stat utime+stime where the kernel keeps no schedstat. Null for pktgen (kernel threads).',
  },
  cpu_consumer_pct: {
    unit: 'percent', better: 'lower', level: 'off',
    definition: 'CPU time used by the consumer process during the window, percent of one CPU.',
    source: 'As cpu_generator_pct, for the consumer\'s process (the sink, the wire, or QEMU with all its threads).',
  },
  generator_cpu_ns_per_packet: {
    unit: 'ns', better: 'lower', level: 'off',
    definition: 'CPU time the sender spends per packet it hands to the tap: the generator\'s CPU time in the window (its system calls, the qdisc, tun_net_xmit and anything attached there run in its context) over the packets handed to the tap in the window. What a probe on the transmit path costs the sender shows here first.',
    source: 'cpu_generator_pct\'s CPU time (schedstat) / sent packets of the window (sent/lost accounting: every attempt, drops included); floods only (null with iperf3, a background flood or pktgen).',
  },
  consumer_cpu_ns_per_packet: {
    unit: 'ns', better: 'lower', level: 'off',
    definition: 'CPU time the reader spends per packet it takes off the queue: the consumer\'s CPU time in the window over the packets it read in the window.',
    source: 'cpu_consumer_pct\'s CPU time (schedstat) / the consumer\'s own count of packets read in the window.',
  },
  completion_ns: {
    unit: 'ns', better: 'lower', level: 'off',
    definition: 'A fixed transfer (workload.transfer): time from the generator\'s start until the sender had handed over its whole amount and the reader had taken the last packet it would get; null when it did not finish by the deadline (see transfer_dnf).',
    source: "The harness's monotonic clock: the generator's start; its exit by itself (trafgen --num, pktgen count, iperf3 -n: all sent; iperf3 ends once the server has its bytes); the read of the tap's tx_packets (tun counts a packet as the reader copies it; one ip -s link every 20 ms after the sender's end, readable while the reader is stopped) at which it last moved before standing still for 200 ms with the reader running. Resolution about 30 ms; a reader that is never resumed (stall without forSeconds) leaves the sender's end.",
  },
  transfer_sender_ns: {
    unit: 'ns', better: 'lower', level: 'off',
    definition: 'A fixed transfer: time from the generator\'s start until it had sent its whole amount (it exited by itself); a sender blocked by a stopped queue or a stalled reader shows here; null when it had not by the deadline.',
    source: "The harness's monotonic clock: the generator's start and its process's exit (pktgen: its blocking start write returning).",
  },
  transfer_dnf: {
    unit: 'count', better: 'lower', level: 'off',
    definition: 'A fixed transfer: 1 when it did not finish by its deadline (the sender had not sent everything, or the reader was still taking packets or still stopped), else 0; null without a transfer. The median over trials is 0 or 1; the reason is in the trial record.',
    source: "The transfer's verdict (trials[].readings.transfer.verdict and reason).",
  },
  mcast_read_delivered_min: {
    unit: 'ratio', better: 'higher', level: 'off',
    definition: 'A multicast burst (generator mcast): the lowest share of the sender\'s frames that a tap\'s reader received, among the taps that were read (workload.unread excluded): what happened to the other receivers\' traffic.',
    source: "Each sink's own count over the quiet span (cross-checked exactly with the tap's tx_packets) / the sender's frames (its veth's tx_packets over the same span, cross-checked exactly with what each tap's qdisc was handed).",
  },
  mcast_sender_errors: {
    unit: 'count', better: 'lower', level: 'off',
    definition: 'A multicast burst: write() calls of the sender that returned an error (ENOBUFS and the like): what a sender is told when a queue drops instead of holding.',
    source: "iperf 2's own count (-e: the Write/Err column of its total line); null when it printed none (stopped at the deadline before its report).",
  },
  mcast_sender_blocked: {
    unit: 'count', better: 'lower', level: 'off',
    definition: 'A multicast burst: 1 when the sender had not sent its amount by the deadline while seeing no write error (its socket send waited: send buffer held by frames parked at a queue), else 0.',
    source: "The transfer's verdict (the sender's process had not exited) and iperf 2's error count; the wait channels of its threads at the deadline are in trials[].multicast.sender.wchanAtDeadline.",
  },
  mcast_unread_recovered: {
    unit: 'count', better: 'higher', level: 'off',
    definition: 'A multicast burst with workload.unread: 1 when every unread tap\'s queue recovered once its reader was resumed after the transfer (it took everything queued, the qdisc is empty, the queue is not stopped), else 0; null without an unread tap.',
    source: "The tap's tx_packets and tc -s backlog at the transfer's end and after the drain; tun's fdinfo txq_stopped where the kernel has tunbench's patch 0002.",
  },
  mcast_unread_charged: {
    unit: 'count', better: 'lower', level: 'off',
    definition: "A multicast burst with workload.unread and generator.ownerTrace: how many of the skbs handed to the unread taps were the sender socket's own (the bridge's original, still charged to its send buffer), not clones. Frames of these parked at a stopped queue hold the sender's send buffer: the mechanism by which one unread receiver can block the sender. null without the trace or without an unread tap.",
    source: "probes/mcast-owner.bt: net:net_dev_queue on the unread taps, skb->sk set (skb_clone clears it); per device in trials[].multicast.owner.",
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
