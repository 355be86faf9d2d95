// Types at the boundaries of the pipeline:
//   profile -> plan -> trial -> raw samples -> metrics -> (analysis) summary -> comparison -> report
// The result file (result.json) is a Result; its schema version changes whenever a field's
// meaning changes. Everything here is plain JSON data.
import type { TrialMetrics } from './metrics.ts';
import type { Profile, ProbeLevel, ProbeSettings, Workload } from './profile/schema.ts';

export const RESULT_SCHEMA_VERSION = 1 as const;

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
  /** queueModeSwitch: struct tun_file has tunbench's `bool skq` (kernel/ patch: tun.queue_mode). */
  tun: { queue: TunQueue; evidence: string; queueModeSwitch?: boolean };
  btf: Availability;
  tracefs: Availability & { path: string | null };
  /** Found by attaching a trial probe, not by guessing. */
  probeBackends: Record<ProbeBackend, Availability>;
  /** Numeric skb_drop_reason values read from the kfree_skb tracepoint format (they change between kernels). */
  dropReasons: Record<string, number>;
  bpftrace: Availability & { version: string | null };
  trafgen: Availability & { version: string | null };
  pktgen: Availability;
  vhostNet: Availability;
  kvm: Availability;
  qemu: Availability & { version: string | null };
  sink: Availability & { path: string | null };
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
}

export interface Plan {
  seed: number;
  order: 'interleaved' | 'shuffled';
  variants: ResolvedVariant[];
  trials: PlannedTrial[];
}

// ---------------------------------------------------------------- raw reports
export interface GeneratorReport {
  tool: 'trafgen' | 'pktgen';
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
}

export interface ConsumerReport {
  tool: 'sink' | 'guest';
  packets: number;
  bytes: number;
  /** Packets per queue (index = queue). */
  perQueue: number[];
  /** Seconds the consumer ran (its own clock). */
  seconds: number;
  command: string[];
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

/** What the probes measured over the window: absolute counts, before metrics are derived. */
export interface ProbeSamples {
  backend: ProbeBackend;
  level: ProbeLevel;
  windowSeconds: number;
  /** Packets accepted into the queue (tun_net_xmit returned OK and did not drop). */
  xmit: number;
  /** Drops at tun_net_xmit (all reasons): the exact total. */
  dropsTotal: number;
  /** Those drops by reason name (FULL_RING, ...); 'unattributed' where the kernel gave none. */
  drops: Record<string, number>;
  /** Packets copied to the reader by tun_do_read. */
  reads: number;
  /** Occupancy samples at a fixed interval, in packets (all queues together). */
  occupancySeries: { intervalMs: number; values: number[] };
  /** queue: read from the ring / sk_receive_queue at each enqueue (kprobe, fentry); accepted-minus-read:
   * derived from the cumulative counts at each tick (tracepoint). Absent in older results. */
  occupancySource?: 'queue' | 'accepted-minus-read';
  /** Exact backends on a kernel with tunbench's tun patch: packets enqueued since attach by the
   * queue their tun_file used (tun_file.skq read through BTF): evidence of the queue in use. */
  enqueuesByQueueMode?: { ring: number; skq: number };
  /** Occupancy seen at each enqueue, in packets. */
  occupancyAtEnqueue: Histogram;
  /** Per-interval counts for time-series charts. */
  series: { intervalMs: number; xmit: number[]; drops: number[]; reads: number[] };
  lock: {
    xmit: { count: number; waitNs: number; waitHist: Histogram };
    read: { count: number; waitNs: number; waitHist: Histogram };
  };
  /** Queueing latency in ns (full level only). */
  latencyNs: Histogram | null;
  /** Lines bpftrace printed that were not data (warnings), kept for the record. */
  messages: string[];
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
  counters: CounterDeltas | null;
  crossCheck: CrossCheck[];
  generator: GeneratorReport | null;
  consumer: ConsumerReport | null;
  /** Probe samples kept for charts (time series and histograms). */
  probe: ProbeSamples | null;
  /** The queue the reader got, read from its fdinfo (tap.queueMode ring|skq only). */
  queueMode?: 'ring' | 'skq';
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
}

export interface VariantResult {
  name: string;
  baseline: boolean;
  compareTo?: string;
  description?: string;
  workload: Workload;
  probes: ProbeSettings;
  trials: TrialResult[];
}

export interface Result {
  schemaVersion: typeof RESULT_SCHEMA_VERSION;
  tool: { name: 'tunbench'; version: string };
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
}
