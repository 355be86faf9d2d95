// Types at the boundaries of the pipeline:
//   profile -> plan -> trial -> raw samples -> metrics -> (analysis) summary -> comparison -> report
// The result file (result.json) is a Result; its schema version changes whenever a field's
// meaning changes (src/result/upgrade.ts reads the older versions). Everything here is plain JSON data.
import type { TrialMetrics } from './metrics.ts';
import type { Profile, ProbeLevel, ProbeSettings, VmSettings, Workload } from './profile/schema.ts';
import type { TunOffsets } from './probes/btf-offsets.ts';
import type { QdiscCountField, QdiscStats } from './lab/qdisc.ts';
import type { Iperf3Report } from './workload/generators/iperf3.ts';
import type { SockperfReport } from './workload/generators/sockperf.ts';

/** 3: each fact saved once: a trial's probe samples and generator report live in its readings
 * only (version 2 also held a copy of each on the trial). */
export const RESULT_SCHEMA_VERSION = 3 as const;

// ---------------------------------------------------------------- capabilities
export type TunQueue = 'ptr_ring' | 'skb_array' | 'sk_receive_queue' | 'unknown';
export type ProbeBackend = 'tracepoint' | 'kprobe' | 'fentry';

export interface Availability {
  available: boolean;
  /** Why not, or how it was found. */
  reason: string;
}

export interface Capabilities {
  kernel: { release: string; version: string; arch: string };
  host: { hostname: string; cpus: number; cpuModel: string; memoryMiB: number };
  root: boolean;
  devNetTun: Availability;
  netns: Availability;
  /** queueModeSwitch: struct tun_file has tunbench's `bool skq` (kernel/ patch: tun.queue_mode).
   * backpressureSwitch: /sys/module/tun/parameters/backpressure exists (kernel/ patch 0002). */
  tun: { queue: TunQueue; evidence: string; queueModeSwitch?: boolean; backpressureSwitch?: boolean };
  btf: Availability;
  tracefs: Availability & { path: string | null };
  /** The per-packet part's attach points ('full' level), found by attaching a trial probe. */
  probeBackends: Record<ProbeBackend, Availability>;
  /** The interval sampler of every probe level: queues read through BTF offsets. */
  sampler: Availability & { offsets: TunOffsets | null };
  /** Numeric skb_drop_reason values read from the kfree_skb tracepoint format (they change between kernels). */
  dropReasons: Record<string, number>;
  bpftrace: Availability & { version: string | null };
  trafgen: Availability & { version: string | null };
  pktgen: Availability;
  vhostNet: Availability;
  kvm: Availability;
  qemu: Availability & { version: string | null };
  sink: Availability & { path: string | null };
  /** Absent in results from before issue 13. */
  wire?: Availability & { path: string | null };
  iperf3?: Availability & { version: string | null };
  /** sockperf (request/response workloads); absent in results from before it. */
  sockperf?: Availability & { version: string | null };
  /** Root qdiscs this kernel attaches (tried on the loopback of a throw-away namespace). */
  qdiscs?: Record<string, Availability>;
  /** sch_netem (consumer wire's rttMs), tried the same way; absent in older results. */
  netem?: Availability;
}

// ---------------------------------------------------------------- plan
export interface PlannedTrial {
  /** Position in the run order, 0-based. */
  index: number;
  variant: string;
  /** Repetition number within the variant (warm-ups are negative: -1, -2 ...). */
  repetition: number;
  warmup: boolean;
  /** Probe level for this trial (differs from the variant's own only for overhead trials). */
  probeLevel: ProbeLevel;
  /** true for the extra probes-off copy that measures probe overhead. */
  overhead: boolean;
}

export interface ResolvedVariant {
  name: string;
  baseline: boolean;
  /** Compared against this variant instead of the baseline. */
  compareTo?: string;
  description?: string;
  workload: Workload;
  probes: ProbeSettings;
  /** target vm: the VM this variant's trials run in (the profile's vm with the variant's overrides). */
  vm?: VmSettings;
}

export interface Plan {
  seed: number;
  order: 'interleaved' | 'shuffled';
  variants: ResolvedVariant[];
  trials: PlannedTrial[];
}

// ---------------------------------------------------------------- raw reports
export interface GeneratorReport {
  tool: 'trafgen' | 'pktgen' | 'iperf3' | 'sockperf';
  /** Packets the generator says it sent during the window (null when it cannot say). */
  packetsSent: number | null;
  /** Packets it says it failed to send (pktgen errors, trafgen send failures). */
  errors: number | null;
  /** Its own rate figure, when it prints one. */
  reportedPps: number | null;
  /** Seconds the generator ran (its own clock, or wall time between start and stop). */
  seconds: number | null;
  command: string[];
  /** Anything it printed that we keep for the record (trimmed). */
  output: string;
  /** iperf3 only: the flow's figures from its JSON end record (receiver side). */
  flow?: FlowReport;
  /** sockperf only: the request/response test's figures (round trips in microseconds, as
   * sockperf prints them, over its own valid span; src/workload/generators/sockperf.ts). */
  rr?: SockperfReport;
}

/** What an iperf3 test reported, as a trial saves it: its figures from iperf3's JSON end record
 * (Iperf3Report, src/workload/generators/iperf3.ts: seconds exclude the omitted ramp-up,
 * goodput is the receiver's, retransmits TCP only), the UDP loss flattened. */
export type FlowReport = Pick<Iperf3Report, 'protocol' | 'streams' | 'seconds' | 'goodputBps' | 'receivedBytes' | 'sentBytes' | 'retransmits' | 'congestion' | 'tcpMss'> & {
  /** UDP: datagrams sent and those the server found missing; null for TCP. */
  udpSentPackets: number | null;
  udpLostPackets: number | null;
  /** Each stream's figures from the end record (iperf3 end.streams, in its order); absent in
   * results saved before they were kept. */
  perStream?: FlowStreamReport[];
};

/** One iperf3 stream: what its receiver got, and (TCP) what its sender retransmitted. */
export interface FlowStreamReport {
  goodputBps: number;
  receivedBytes: number;
  sentBytes: number;
  /** TCP only (null for UDP). */
  retransmits: number | null;
}

export interface ConsumerReport {
  tool: 'sink' | 'guest' | 'wire';
  packets: number;
  bytes: number;
  /** Packets per queue (index = queue). */
  perQueue: number[];
  /** Seconds the consumer ran (its own clock). */
  seconds: number;
  command: string[];
  /** wire only: frames moved in each direction (read from one tap, written into the other). */
  toPeer?: { packets: number; bytes: number; written: number; writeErrors: number };
  toLab?: { packets: number; bytes: number; written: number; writeErrors: number };
}

/** The root qdisc's counters at one instant (tc -s; src/lab/qdisc.ts), as a trial saves them. */
export type QdiscCounters = Pick<QdiscStats, QdiscCountField> & {
  /** fq_codel's drop_overlimit (tc -s xstats): its drops at enqueue, at its limit; the rest of
   * its drops are CoDel's at dequeue. Absent for qdiscs that do not split their drops. */
  dropsOverlimit?: number | null;
  tNs: number;
};

/** Each lab queue's tun state from the reader's /proc/PID/fdinfo (a kernel with tunbench's
 * patch 0002), summed over the queues: one read per instant, no program anywhere. */
export interface TunQueueState {
  /** Packets tun_net_xmit dropped (full ring, filters) since the queues attached. */
  tunDrops: number;
  /** Stops and wakes by tun's backpressure since attach. */
  stops: number;
  wakes: number;
  /** Queues stopped (__QUEUE_STATE_DRV_XOFF) at this instant. */
  stopped: number;
  /** The device's tx_dropped read at the same instant as tunDrops (/proc/PID/net/dev of the
   * reader, back to back with its fdinfo, retried until tx_dropped did not move across the
   * fdinfo read): tx_dropped - tunDrops is the core's drops at a stopped queue, exactly. */
  txDropped?: number;
}

/** The lab tap's qdisc over a trial: the kind asked for and read back, its counters at the
 * four instants of the tap counters, and samples during the window. */
export interface QdiscReadings {
  /** tap.qdisc of the profile. */
  requested: string;
  /** The root qdisc tc read back after setting it (what really ran). */
  kind: string;
  at: Record<'quietBefore' | 'windowStart' | 'windowEnd' | 'quietAfter', QdiscCounters>;
  /** Backlog (packets) and cumulative drops / requeues read every intervalMs during the window. */
  samples: { intervalMs: number; backlogPackets: number[]; drops: number[]; requeues: number[] };
}

export interface DeviceCounters {
  tx_packets: number;
  tx_bytes: number;
  tx_dropped: number;
  tx_errors: number;
}

export interface CounterDeltas {
  /** Deltas over the measurement window, read from /sys/class/net/<tap>/statistics in the lab namespace. */
  tx_packets: number;
  tx_dropped: number;
  tx_bytes: number;
  /** Consumer's own count over the window. */
  consumer_packets: number;
  /** Generator's own count over the window, when it reports one. */
  generator_packets: number | null;
}

export interface Histogram {
  /** Buckets as bpftrace prints them: [min, max] inclusive (max null for the last open bucket). */
  buckets: { min: number; max: number | null; count: number }[];
}

/** What the probes measured, cut to the window (first to last sampler tick inside it), plus
 * their totals since attach (the quiet span) for the cross-checks. The sampler
 * (probes/sampler.bt) reads the queues at every tick at every probe level; the per-packet
 * fields come from probes/per-packet.bt at the 'full' level only (null otherwise). */
export interface ProbeSamples {
  /** The per-packet part's xmit attach point ('full'); null at 'counters' (no per-packet program). */
  backend: ProbeBackend | null;
  level: ProbeLevel;
  /** First to last sampler tick inside the measurement window. */
  windowSeconds: number;
  /** Queues whose struct tun_file the handshake found (one per queue of the tap). */
  queuesFound: number;
  /** Queues found by the queue they use (tunbench's patched kernel tells ring from skq). */
  queuesByMode?: { ring: number; skq: number };
  /** 'queue': read from the ring (or sk_receive_queue) itself. Older results: accepted-minus-read. */
  occupancySource?: 'queue' | 'accepted-minus-read';
  /** Occupancy at each tick of the window, in packets, all queues summed. */
  /** Queue occupancy at every sampler tick in the window; tMs: each tick's time in ms after the
   * window's first tick (absent in results from before it was kept: the nominal interval then). */
  occupancySeries: { intervalMs: number; values: number[]; tMs?: number[] };
  /** Per tick: how many queues would have refused a packet at that instant (ptr_ring's own full test). */
  fullSeries?: number[];
  /** Stop/wake of the tap's tx queues (src/probes/stop-wake.ts), from each queue's stopped flag
   * read at the ticks; absent where it was not read (results from before issue 23). */
  txq?: import('./probes/stop-wake.ts').TxqStopWake;
  /** Packets the qdisc requeued and held (counted in its sent and its backlog) at the window's
   * first and last ticks, all queues (absent where not read). */
  heldAtStart?: number;
  heldAtEnd?: number;
  /** Occupancy at the first and the last tick of the window (accepted = reads + their difference). */
  occupancyAtStart?: number;
  occupancyAtEnd?: number;
  /** Drops at tun_net_xmit in the window (skb:kfree_skb located in tun_net_xmit), all reasons;
   * 'full' only (null at 'counters', which runs no program per drop: drops are tx_dropped's). */
  dropsTotal: number | null;
  /** Those drops by reason name (FULL_RING, ...); empty at 'counters'. */
  drops: Record<string, number>;
  /** 'full': packets entering tun_net_xmit on the tap (accepted + dropped); null at 'counters'. */
  xmit: number | null;
  /** 'full': packets copied to the reader (skb:skb_copy_datagram_iovec by the reader); null at 'counters'. */
  reads: number | null;
  /** 'full': occupancy seen by each packet entering tun_net_xmit, read from its queue. */
  occupancyAtEnqueue: Histogram | null;
  /** Per-interval counts for time-series charts (xmit, drops and reads at 'full' only): the k-th
   * spans ticks k and k+1 (occupancySeries.tMs). */
  series: { intervalMs: number; xmit: number[]; drops: number[]; reads: number[] };
  /** Contended acquisitions of the queue's own locks (lock:contention_* filtered by address),
   * counted over `seconds` (the span of the sampler's snapshots nearest the window's edges;
   * absent in older results: windowSeconds); null when not measured (probes.locks off). */
  lock: {
    seconds?: number;
    xmit: { count: number; waitNs: number; waitHist: Histogram };
    read: { count: number; waitNs: number; waitHist: Histogram };
  } | null;
  /** Queueing latency in ns (full level only). */
  latencyNs: Histogram | null;
  /** Totals since the probes attached (the quiet span), for the cross-checks. */
  totals: { drops: number | null; xmit: number | null; reads: number | null };
  /** CPU time the probes' eBPF programs ran in the window (kernel.bpf_stats_enabled, from the
   * programs' fdinfo run_time_ns/run_cnt); null where the kernel does not keep it. */
  bpf: { runTimeNs: number; runCount: number; programs: number; byProgram?: Record<string, { name?: string; runTimeNs: number; runCount: number }> } | null;
  /** Lines bpftrace printed that were not data (warnings), kept for the record. */
  messages: string[];
}

/** What one trial read, raw, at the stage boundary trial -> metrics: the metrics and the
 * cross-checks are a pure function of this record (src/trial/metrics.ts), so a saved
 * result's metrics can be recomputed from it alone. Times are CLOCK_MONOTONIC ns. */
export interface TrialReadings {
  /** Packets the queues hold (tx_queue_len x queues). */
  capacity: number;
  queues: number;
  window: { startNs: number; endNs: number };
  /** Tap statistics (in the lab namespace) at four instants: before the generator started
   * (quiet), at the window's start and end, and after the queue drained (quiet). */
  tap: Record<'quietBefore' | 'windowStart' | 'windowEnd' | 'quietAfter', DeviceCounters & { tNs: number }>;
  /** The consumer's own count at the same four instants. */
  consumer: Record<'quietBefore' | 'windowStart' | 'windowEnd' | 'quietAfter', { tNs: number; packets: number; bytes: number }>;
  /** CPU seconds (utime + stime) of the generator's, the consumer's and bpftrace's processes at the window's edges. */
  cpuSeconds: { generator: [number, number] | null; consumer: [number, number] | null; probes?: [number, number] | null };
  /** Whether the consumer had read everything queued (its count stopped moving) before the probes stopped. */
  drain: { complete: boolean; seconds: number };
  generator: GeneratorReport | null;
  /** What the generator's count means: 'offered', every packet it handed to the stack (the
   * qdisc path, pktgen: a packet tun dropped still counts as sent); 'accepted', only those the
   * driver took (trafgen with qdisc bypass: tun's NET_XMIT_DROP is reported back to it). */
  generatorCounts: 'offered' | 'accepted';
  /** The probes' samples (null at probe level off). */
  probe: ProbeSamples | null;
  /** The lab tap's qdisc (absent in results from before issue 13). */
  qdisc?: QdiscReadings;
  /** workload.background's report, when a flood ran beside the generator. */
  background?: GeneratorReport | null;
  /** Whether the background flood's count includes packets tun dropped (as generatorCounts). */
  backgroundCounts?: 'offered' | 'accepted';
  /** The wire consumer's peer tap: its counters at the quiet edges (frames the receiver sent back). */
  peerTap?: Record<'quietBefore' | 'quietAfter', DeviceCounters & { tNs: number }>;
  /** tun's own per-queue counts at the four instants (absent: a kernel without patch 0002). */
  tunQueues?: Partial<Record<'quietBefore' | 'windowStart' | 'windowEnd' | 'quietAfter', TunQueueState>>;
  /** workload.transfer: the transfer's times and verdict (the window is the transfer). */
  transfer?: TransferReadings;
}

/** A fixed transfer timed to completion (workload.transfer; src/trial/transfer.ts). Times are
 * CLOCK_MONOTONIC ns. */
export interface TransferReadings {
  /** The amount asked for: packets (a flood) or bytes (iperf3). */
  packets?: number;
  bytes?: number;
  deadlineSeconds: number;
  /** The generator's start (the window's start). */
  startNs: number;
  /** When the generator exited by itself, having sent its amount; null: not by the deadline. */
  senderDoneNs: number | null;
  /** The reader's last count change after the sender finished (a snapshot's time); null when
   * it took nothing after the sender's end, or never read (stall without resume). */
  lastReadNs: number | null;
  verdict: 'completed' | 'did-not-finish';
  /** Why it did not finish, or what "completed" leaves out. */
  reason?: string;
  /** workload.stall: when the reader was stopped (SIGSTOP) and resumed (SIGCONT); a stall
   * without forSeconds is resumed only once the transfer ended, to drain. */
  stall?: { afterSeconds: number; forSeconds: number | null; stoppedNs: number | null; resumedNs: number | null };
}

export interface CrossCheck {
  /** What is compared, e.g. 'accepted (probe) vs tx_packets (counter)'. */
  name: string;
  probe: number;
  counter: number;
  /** |probe - counter| / max(counter, 1). */
  relativeDifference: number;
  tolerance: number;
  /** For exact checks: the probe may be short by at most this many (explained where it is set). */
  allowedShortBy?: number;
  ok: boolean;
}

// ---------------------------------------------------------------- trial and result
export interface TrialResult {
  index: number;
  variant: string;
  repetition: number;
  warmup: boolean;
  overhead: boolean;
  startedAt: string;
  status: 'ok' | 'failed';
  error?: string;
  windowSeconds: number;
  probeLevel: ProbeLevel;
  probeBackend: ProbeBackend | null;
  metrics: TrialMetrics;
  /** What the trial read; metrics, counters and crossCheck are derived from it. The generator's
   * report and the probes' samples (charts: time series and histograms) are here and only here
   * (readings.generator, readings.probe). Absent in failed trials that stopped before it was read. */
  readings?: TrialReadings;
  /** A multicast burst (generator mcast): what it read, per tap; its metrics and checks are a
   * pure function of it (src/trial/mcast-account.ts). Such a trial has no `readings`. */
  multicast?: import('./trial/mcast-account.ts').McastReadings;
  counters: CounterDeltas | null;
  crossCheck: CrossCheck[];
  consumer: ConsumerReport | null;
  /** The queue the reader got, read from its fdinfo (tap.queueMode ring|skq only). */
  queueMode?: 'ring' | 'skq';
  /** tun's backpressure each reader's queue took, read from its fdinfo (tap.backpressure set only). */
  backpressure?: boolean;
  /** Raw bpftrace output file, relative to the result folder. */
  rawProbeFile: string | null;
}

/** How a 'vm' target's guest ran (recorded by the host). */
export interface VmEnvironment {
  kernel: { release: string; source: 'debian-package' | 'path'; image: string; spec: string };
  accel: 'kvm' | 'tcg';
  accelReason: string;
  /** Under TCG: multi-threaded (QEMU's default) or single-threaded (-accel tcg,thread=single, on a QEMU known to corrupt multi-threaded guests), with QEMU's version and why. */
  tcgThreading?: { mode: 'multi' | 'single'; qemuVersion: string | null; reason: string };
  cpus: number;
  memoryMiB: number;
  /** Seconds from QEMU start to the guest running the bench command. */
  bootSeconds: number;
  /** Seconds from QEMU start to its end (boot + capability detection + trials). */
  totalSeconds: number;
  /** Console of the guest, relative to the result folder. */
  consoleLog: string;
  /** Appended to the kernel command line (vm.cmdline). */
  cmdline?: string;
  /** Several VMs in one run: seconds spent pausing and resuming VMs between trials, and how often. */
  switches?: { count: number; seconds: number };
  /** The inactivity watchdog: seconds without a console line or a finished trial before the VM is killed. */
  watchdogSeconds?: number;
}

/** Where one variant's trials ran, when variants ran on different kernels (one VM each) in
 * one run; absent when every variant shares the run's environment. */
export interface VariantEnvironment {
  /** The VM's name (variant names of a --kernel run are made of it). */
  vmName: string;
  kernel: Capabilities['kernel'];
  tun: Capabilities['tun'];
  capabilities: Capabilities;
  /** The full level's per-packet attach point this variant used (null at counters/off): with
   * backend auto, the best one that every kernel of the run offers. */
  probeBackend: ProbeBackend | null;
  vm: VmEnvironment;
}

/** A variant as the plan resolved it (name, workload, probes, vm), with where it ran and its trials. */
export interface VariantResult extends ResolvedVariant {
  environment?: VariantEnvironment;
  trials: TrialResult[];
}

import type { ProbeCost } from './analysis/probe-cost.ts';

export interface Result {
  schemaVersion: typeof RESULT_SCHEMA_VERSION;
  /** commit: the git commit tunbench ran from (+dirty: with local changes), null outside a checkout; absent before schema 2's later results. */
  tool: { name: 'tunbench'; version: string; commit?: string | null };
  id: string;
  status: 'complete' | 'incomplete' | 'failed';
  /** Why a run is incomplete or failed (signal, error). */
  statusReason?: string;
  startedAt: string;
  finishedAt: string | null;
  /** argv that reproduces the run. */
  command: string[];
  profile: Profile;
  /** Where the profile came from (path). */
  profileSource: string;
  environment: {
    kernel: Capabilities['kernel'];
    tun: Capabilities['tun'];
    host: Capabilities['host'];
    target: 'host' | 'vm';
    /** For target vm: the capabilities above are the guest's; this is how the guest ran. */
    vm?: VmEnvironment;
    capabilities: Capabilities;
  };
  plan: Plan;
  variants: VariantResult[];
  warnings: string[];
  /** The stored calibration of this machine, kernel and probe scripts (tunbench calibrate),
   * attached at run time where variants have no probes-off twins: what the probes cost. */
  probeCalibration?: ProbeCalibrationRef;
}

/** A calibration as a result carries it: where it is stored, when measured, the cost per level. */
export interface ProbeCalibrationRef {
  file: string;
  measuredAt: string;
  rounds: number;
  costs: Partial<Record<'counters' | 'full', ProbeCost>>;
}
