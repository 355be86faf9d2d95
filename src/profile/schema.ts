// The profile schema: the one source of truth for what a profile may say. It validates
// profiles (strict: unknown keys are errors) and yields profiles/profile.schema.json.
import { z } from 'zod'; import { METRIC_NAMES, type MetricName } from '../metrics.ts';

/** The root qdisc kinds a tap may be given (tap.qdisc); default leaves the kernel's own. */
export const QDISC_KINDS = ['default', 'noqueue', 'pfifo_fast', 'fq_codel', 'fq'] as const;
export type QdiscKind = (typeof QDISC_KINDS)[number];

/** The tap device(s) of the lab. */
export const TapSchema = z.strictObject({
  /** Queue capacity per queue (tx_queue_len; the ring size is set from it when the tap is attached). */
  txQueueLen: z.number().int().min(1).max(65536).default(1000),
  mtu: z.number().int().min(68).max(65535).default(1500),
  /** Number of queues; > 1 makes a multi-queue tap with one reader per queue. */
  queues: z.number().int().min(1).max(16).default(1),
  /** How tun picks a packet's queue on a multi-queue tap: absent (or 'flow') tun's own flow hash
   * (tun_automq_select_queue: one flow, one queue); 'cpu' a steering program the sink attaches
   * (TUNSETSTEERINGEBPF: queue = sending CPU % queues), so generator thread i, pinned to CPU i,
   * fills queue i alone. sweep.threads sets it. Consumer sink only. */
  steering: z.enum(['flow', 'cpu']).optional(),
  /** Which queue the tap's readers get: the kernel's default, or (on a kernel with tunbench's
   * tun patch, see kernel/) the ptr_ring or the old sk_receive_queue, set through
   * /sys/module/tun/parameters/queue_mode before the queue is attached. */
  queueMode: z.enum(['default', 'ring', 'skq']).default('default'),
  /** tun's backpressure (kernel/ patch 0002): true stops the tx queue when a ring fills instead
   * of tail-dropping, false drops as stock tun does; absent leaves the kernel's setting alone.
   * Set through /sys/module/tun/parameters/backpressure before the queues attach, restored at
   * teardown, and checked in each reader's fdinfo ("backpressure:"). Ring queues only. */
  backpressure: z.boolean().optional(),
  /** The tap's root qdisc, set with tc in the lab namespace before any traffic and read back
   * (recorded per trial): default leaves the one the kernel attached (pfifo_fast here);
   * noqueue makes dev_queue_xmit call tun_net_xmit directly; fq_codel and fq need
   * CONFIG_NET_SCH_FQ_CODEL / CONFIG_NET_SCH_FQ. */
  qdisc: z.enum(QDISC_KINDS).default('default'),
  /** Taps in the lab (generator mcast only): count > 1 makes a multicast lab, every tap enslaved
   * to one Linux bridge (multicast snooping off, so it floods) with its own sink reader, the
   * sender on a veth port of the bridge. Absent: one tap, the classic lab. */
  count: z.number().int().min(1).max(8).optional(),
});

/** trafgen (netsniff-ng): raw frames via AF_PACKET on the tap. */
export const TrafgenSchema = z.strictObject({
  type: z.literal('trafgen'),
  /** Frame length in bytes, Ethernet header included (60..mtu+14). */
  packetSize: z.number().int().min(60).max(65549).default(64),
  /** Packets per second, all CPUs together; 0 = as fast as possible. */
  rate: z.number().int().min(0).max(1_000_000_000).default(0),
  /** Number of generator CPUs (trafgen processes), pinned to CPUs 0..cpus-1 (trafgen pins worker i to CPU i). */
  cpus: z.number().int().min(1).max(64).default(1),
  /** true: through the qdisc (dev_queue_xmit, trafgen -q); false: PACKET_QDISC_BYPASS straight to the driver. */
  qdisc: z.boolean().default(true),
});

/** pktgen (/proc/net/pktgen): in-kernel generator; knobs named after the pktgen parameters. */
export const PktgenSchema = z.strictObject({
  type: z.literal('pktgen'),
  /** pktgen kernel threads (one per CPU, from CPU 0 upwards). */
  threads: z.number().int().min(1).max(64).default(1),
  /** pkt_size: frame length in bytes without the FCS. */
  pkt_size: z.number().int().min(60).max(65535).default(64),
  /** burst: packets per xmit call. A tap accepts only 1 (see README). */
  burst: z.number().int().min(1).max(1024).default(1),
  /** clone_skb: a tap rejects > 0 (tun clears IFF_TX_SKB_SHARING). */
  clone_skb: z.number().int().min(0).default(0),
  /** rate in packets per second per thread (ratep); 0 = unlimited. */
  rate: z.number().int().min(0).max(1_000_000_000).default(0),
  /** count: packets per thread, then pktgen stops by itself; 0 = until the trial stops it. */
  count: z.number().int().min(0).default(0),
  /** xmit_mode: queue_xmit goes through the qdisc and the net_dev_* tracepoints; start_xmit calls the driver directly. */
  xmit_mode: z.enum(['queue_xmit', 'start_xmit']).default('queue_xmit'),
});

/** iperf3 flows (Debian's iperf3, --json): the client in the lab namespace, the server behind
 * the tap (consumer wire: in the wire's peer namespace). The trial's window is the measurement:
 * the client runs rampUp (iperf3 --omit) + duration (+1 s so it outlives the window) seconds. */
export const Iperf3Schema = z.strictObject({
  type: z.literal('iperf3'),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  /** Parallel streams (-P). */
  streams: z.number().int().min(1).max(128).default(1),
  /** Target bits/s per stream (-b); 0 = unlimited. iperf3's own UDP default is 1 Mbit/s, so set it for UDP. */
  bitrate: z.number().int().min(0).max(1e12).optional(),
  /** Bytes per write (-l): the TCP write size, or the UDP datagram payload (at most MTU - 28 to avoid fragments). */
  length: z.number().int().min(1).max(1_048_576).optional(),
});

/** Request/response latency (Debian's sockperf 3.7, ping-pong): the client in the lab
 * namespace, `sockperf server` behind the tap (consumer wire: in the wire's peer namespace).
 * One message in flight: each transaction is a request through the lab tap and its reply back;
 * sockperf reports the round trips' percentiles (--full-rtt). The client's test starts about
 * 2 s after it is launched; the trial's ramp-up counts from that start, and the test runs
 * ceil(rampUp + duration) + 1 s so it outlives the window. */
export const SockperfSchema = z.strictObject({
  type: z.literal('sockperf'),
  protocol: z.enum(['udp', 'tcp']).default('udp'),
  /** Bytes per request and per reply (-m; at least 14, sockperf's header; UDP: at most MTU - 28). */
  messageSize: z.number().int().min(14).max(65000).default(64),
  /** Requests per second (--mps): 'max' sends the next as soon as the reply is in (a closed loop:
   * the rate is what the round trip allows); a number paces them. */
  mps: z.union([z.literal('max'), z.number().int().min(1).max(10_000_000)]).default('max'),
});

/** An IPv6 multicast burst (Debian's iperf 2: iperf -u -V -c GROUP%DEV -n BYTES -b RATE -l LEN -T 1)
 * from one sender with a real UDP socket, through the lab's bridge to every tap (tap.count);
 * the amount is workload.transfer.bytes. */
export const McastSchema = z.strictObject({
  type: z.literal('mcast'),
  /** The IPv6 multicast group (ff15:: is site-local scope, transient). */
  group: z.string().regex(/^ff[0-9a-f]{2}:[0-9a-f:]*$/i, 'an IPv6 multicast address (ff..::..)').default('ff15::4242'),
  /** UDP destination port. */
  port: z.number().int().min(1).max(65535).default(5001),
  /** Target bits/s of the sender (iperf -b). */
  bitrate: z.number().int().min(1).max(1e12).default(100_000_000),
  /** UDP payload bytes per datagram (iperf -l): at most MTU - 48 (IPv6 + UDP headers). */
  length: z.number().int().min(16).max(65_000).default(1200),
  /** Where the sender's socket sends: veth, a veth pair whose other end is a bridge port (the
   * bridge receives the frame and floods it); bridge, the bridge device itself (a local sender
   * on a host whose guests' taps are bridge ports: the bridge floods clones to every port but the
   * one its flood visits last, which gets the socket's own skb, still charged to its send
   * buffer; Linux 6.1 visits the ports newest first, so that is the first port enslaved,
   * tap 0; ownerTrace records it). */
  sender: z.enum(['veth', 'bridge']).default('veth'),
  /** Record, per device of the lab, how many skbs it was handed were the sender socket's own
   * (charged to its send buffer) and how many clones: probes/mcast-owner.bt (bpftrace, one
   * net:net_dev_queue program run per frame per device), started before the burst. */
  ownerTrace: z.boolean().default(false),
});

/** A flood generator (trafgen or pktgen): what workload.background may be. */
export const FloodSchema = z.discriminatedUnion('type', [TrafgenSchema, PktgenSchema]);

export const GeneratorSchema = z.discriminatedUnion('type', [TrafgenSchema, PktgenSchema, Iperf3Schema, SockperfSchema, McastSchema]);

/** The sink consumer: a small C reader of the tap fd(s). */
export const SinkSchema = z.strictObject({
  type: z.literal('sink'),
  /** blocking read(); poll() then non-blocking reads until EAGAIN; busy-poll: non-blocking reads in a spin. */
  mode: z.enum(['blocking', 'poll', 'busy-poll']).default('blocking'),
  /** Packets read per wake-up at most (poll and busy-poll modes). */
  batch: z.number().int().min(1).max(4096).default(64),
  /** Per-packet busy work in nanoseconds after each read, to model a slow guest. */
  delayNs: z.number().int().min(0).max(100_000_000).default(0),
  /** CPU to pin the reader to; -1 = no pinning; 'auto' = the lowest CPU not used by the generator. */
  cpu: z.union([z.number().int().min(-1), z.literal('auto')]).default('auto'),
});

export const GuestSchema = z.strictObject({
  type: z.literal('guest'),
  /** Kernel image for the guest; default: Debian's linux-image package, fetched into .cache. */
  kernel: z.string().optional(),
  memoryMiB: z.number().int().min(64).max(65536).default(256),
  vhost: z.enum(['auto', 'on', 'off']).default('auto'),
});

/** The wire consumer (sink/tunbench-wire): reads the lab tap and writes every frame into a peer
 * tap in a peer namespace (and the peer's frames back), so a real receiver (the iperf3 server)
 * sits behind the tap under test. Only the lab tap is the queue under test. */
export const WireSchema = z.strictObject({
  type: z.literal('wire'),
  /** Frames per direction per wake-up at most. */
  batch: z.number().int().min(1).max(4096).default(64),
  /** CPU to pin the wire to; -1 = no pinning; 'auto' = the lowest CPU not used by the generator. */
  cpu: z.union([z.number().int().min(-1), z.literal('auto')]).default('auto'),
  /** tx_queue_len of the peer tap (its queue carries the receiver's ACKs back to the lab). */
  peerTxQueueLen: z.number().int().min(1).max(65536).default(1000),
  /** Round-trip delay added to flows, in ms: sch_netem's delay on the peer tap (the receiver's
   * packets back to the lab: ACKs), so the lab tap keeps its own qdisc. Needs
   * CONFIG_NET_SCH_NETEM (checked before any traffic). Absent or 0: none. */
  rttMs: z.number().min(0).max(10_000).optional(),
});

export const ConsumerSchema = z.discriminatedUnion('type', [SinkSchema, GuestSchema, WireSchema]);

/** A fixed transfer (completion time): the generator sends a set amount and the trial ends
 * when it is done, or at the deadline with the verdict "did not finish" (a result, not a
 * failure). The window is the transfer itself: profile duration and rampUp do not apply. */
export const TransferSchema = z.strictObject({
  /** Packets to send in all, for a flood generator (trafgen --num over all its CPUs; pktgen
   * count, split evenly over its threads). */
  packets: z.number().int().min(1).max(1e12).optional(),
  /** Bytes to send in all, for an iperf3 generator (iperf3 -n, all streams together). */
  bytes: z.number().int().min(1).max(1e15).optional(),
  /** Seconds from the generator's start after which an unfinished transfer is stopped and
   * recorded as did not finish. */
  deadlineSeconds: z.number().gt(0).max(3600).default(30),
});

/** A stalled reader (needs workload.transfer and consumer sink): the harness stops the reader
 * process (SIGSTOP) afterSeconds into the transfer and resumes it (SIGCONT) forSeconds later;
 * without forSeconds it is never resumed during the transfer (a tap that is up but never
 * read) and is woken only after the transfer ended (or missed its deadline), to drain. */
export const StallSchema = z.strictObject({
  afterSeconds: z.number().min(0).max(3600).default(0),
  forSeconds: z.number().gt(0).max(3600).optional(),
});

export const WorkloadSchema = z.strictObject({
  tap: TapSchema.default(TapSchema.parse({})),
  generator: GeneratorSchema.default(TrafgenSchema.parse({ type: 'trafgen' })),
  consumer: ConsumerSchema.default(SinkSchema.parse({ type: 'sink' })),
  /** A flood running beside the generator for the whole trial (started before it, stopped
   * after it), e.g. trafgen filling the queue while iperf3 flows are measured. Its report is
   * kept in the trial's readings; the metrics count every packet through the tap. */
  background: FloodSchema.optional(),
  /** A fixed transfer timed to completion, with a deadline (see TransferSchema). */
  transfer: TransferSchema.optional(),
  /** The reader stalls for a while, or for good (see StallSchema). */
  stall: StallSchema.optional(),
  /** generator mcast: the taps (0-based indexes below tap.count) whose reader is up but never
   * reads during the transfer: it attaches its queue (so the tap has carrier and the bridge
   * forwards to it) and is stopped (SIGSTOP) before the sender starts; it is resumed after the
   * transfer (or its deadline), and whether its queue then drained is recorded. */
  unread: z.array(z.number().int().min(0).max(7)).max(8).optional(),
});

export const ProbesSchema = z.strictObject({
  /** off: kernel counters only; counters: kernel counters plus the queue sampler (occupancy,
   * the queue's lock contention, drop reasons; no program per packet); full: adds per-packet
   * programs (queueing latency, occupancy at each enqueue). */
  level: z.enum(['off', 'counters', 'full']).default('counters'),
  /** The full level's xmit attach point; auto picks the cheapest exact one (fentry > kprobe > tracepoint). Unused at counters. */
  backend: z.enum(['auto', 'tracepoint', 'kprobe', 'fentry']).default('auto'),
  /** The queue's lock contention (lock:contention_begin/end: a filter program on every contended
   * lock anywhere on the machine). Default: off at counters, on at full. Measured: with it, a
   * paced load's CPU per packet fell by 7-28% on both sides (the probes change how contended
   * locks resolve), while the rates did not move: so it is opt-in at counters. */
  locks: z.boolean().optional(),
  /** Occupancy sampling interval in milliseconds. */
  sampleIntervalMs: z.number().int().min(1).max(1000).default(10),
  /** Measure probe overhead: add a probes-off copy of each variant's trials to the plan. */
  measureOverhead: z.boolean().default(false),
});

/** The VM a 'vm' target boots (ignored for target: host). */
export const VmSchema = z.strictObject({
  /** debian: Debian's current linux-image package (apt-get download, cached); patched: the
   * kernel/ build with the tun queue_mode switch (kernel/build.sh, cached); else a bzImage path. */
  kernel: z.string().min(1).default('debian'),
  /** lib/modules/<release> of a kernel given by path, when it has loadable modules. */
  modulesDir: z.string().optional(),
  cpus: z.number().int().min(1).max(64).default(2),
  memoryMiB: z.number().int().min(256).max(65536).default(2048),
  /** auto: KVM when a real test boot works, else TCG (emulated: absolute speeds are not real). */
  accel: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
  /** Seconds allowed for boot and set-up on top of the plan's estimate, before the VM is killed. */
  bootTimeoutSeconds: z.number().int().min(10).max(3600).default(180),
  /** How much slower than the estimate a trial may run in the VM (TCG is slow): the guest's
   * inactivity watchdog allows (duration + rampUp + 10 s) x slowdown without a console line. */
  slowdown: z.number().min(1).max(100).default(4),
  /** Appended to the guest kernel's command line (e.g. 'mitigations=off'). */
  cmdline: z.string().max(1000).regex(/^[^\n\r'"\\]*$/, 'one line without quotes or backslashes').default(''),
  /** This VM's name in reports and variant names (default: from the kernel: debian, patched, the image's file name). */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/, 'a name of letters, digits, . _ - (at most 32)').optional(),
});

/** A variant's own VM (target vm): fields override the profile's vm. Variants whose VMs differ
 * run in one interleaved run, each VM booted once and paused while the others measure. */
export const VmOverrideSchema = z.strictObject({
  kernel: z.string().min(1).optional(),
  modulesDir: z.string().optional(),
  cpus: z.number().int().min(1).max(64).optional(),
  memoryMiB: z.number().int().min(256).max(65536).optional(),
  cmdline: z.string().max(1000).regex(/^[^\n\r'"\\]*$/, 'one line without quotes or backslashes').optional(),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/, 'a name of letters, digits, . _ - (at most 32)').optional(),
});

export const VariantSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,95}$/, 'a name of letters, digits, . _ @ - (at most 96)'),
  baseline: z.boolean().default(false),
  /** Compare this variant against the named variant instead of the baseline (paired sweeps:
   * ring-64 against skq-64, ring-256 against skq-256 ...). */
  compareTo: z.string().optional(),
  description: z.string().optional(),
  /** Overrides of the profile's workload, merged field by field (a different generator/consumer type replaces it whole). */
  workload: z.record(z.string(), z.unknown()).default({}),
  /** Overrides of the probe settings for this variant. */
  probes: z.record(z.string(), z.unknown()).optional(),
  /** target vm: this variant's VM (kernel, cpus, memoryMiB, cmdline, name), merged onto the profile's vm. */
  vm: VmOverrideSchema.optional(),
});

export const GateSchema = z.strictObject({
  /** Changes smaller than this fraction are 'unchanged' even when significant. */
  noiseThreshold: z.number().min(0).max(1).default(0.02),
  /** Significance level for the Mann-Whitney U test and the confidence intervals. */
  alpha: z.number().gt(0).lt(1).default(0.05),
  /** Metrics the gate judges. */
  metrics: z.array(z.enum(METRIC_NAMES as [MetricName, ...MetricName[]])).default(['xmit_pps', 'rx_pps', 'drop_ratio']),
  /** Largest tolerated regression (fraction) before the gate fails. */
  maxRegression: z.number().min(0).max(1).default(0.05),
});

/** A sweep: each value of one axis is a variant of the one interleaved run, named PREFIX-VALUE
 * (src/profile/sweep.ts says how it combines with explicit variants). */
export const SweepSchema = z.strictObject({
  /** iperf3 parallel streams (-P), one variant per value (generator iperf3). */
  streams: z.array(z.number().int().min(1).max(128)).min(1).max(16).optional(),
  /** Flood generator threads (trafgen cpus, pktgen threads), one variant per value, each thread
   * into its own queue of a multi-queue tap (tap.queues = threads; consumer sink). */
  threads: z.array(z.number().int().min(1).max(16)).min(1).max(16).optional(),
  /** The swept variants' name prefix (default: the profile's name): PREFIX-8. */
  prefix: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,80}$/, 'a name of letters, digits, . _ @ - (at most 81)').optional(),
});

export const ProfileSchema = z.strictObject({
  name: z.string().min(1).max(100),
  description: z.string().default(''),
  /** Where the trials run: this host, or a VM booted with a kernel under test. */
  target: z.enum(['host', 'vm']).default('host'),
  vm: VmSchema.default(VmSchema.parse({})),
  /** Measurement window per trial, seconds (ramp-up excluded). */
  duration: z.number().gt(0).max(3600).default(10),
  /** Ramp-up before the window, seconds: traffic flows but nothing is counted. */
  rampUp: z.number().min(0).max(600).default(1),
  /** Measured trials per variant. */
  repetitions: z.number().int().min(1).max(1000).default(5),
  /** Warm-up trials per variant, run first and discarded. */
  warmupTrials: z.number().int().min(0).max(100).default(1),
  /** interleaved: A B A B ...; shuffled: each round in a random order from the seed. */
  order: z.enum(['interleaved', 'shuffled']).default('interleaved'),
  seed: z.number().int().min(0).default(1),
  /** Largest tolerated relative disagreement between a probe count and its kernel counter. */
  crossCheckTolerance: z.number().min(0).max(1).default(0.01),
  probes: ProbesSchema.default(ProbesSchema.parse({})),
  workload: WorkloadSchema.default(WorkloadSchema.parse({})),
  variants: z.array(VariantSchema).default([]),
  /** Variants from the values of one axis (streams or threads), beside the explicit ones. */
  sweep: SweepSchema.optional(),
  gate: GateSchema.default(GateSchema.parse({})),
});

export type Tap = z.infer<typeof TapSchema>;
export type TrafgenOptions = z.infer<typeof TrafgenSchema>;
export type PktgenOptions = z.infer<typeof PktgenSchema>;
export type Iperf3GeneratorOptions = z.infer<typeof Iperf3Schema>;
export type SockperfGeneratorOptions = z.infer<typeof SockperfSchema>;
export type McastOptions = z.infer<typeof McastSchema>;
export type FloodOptions = z.infer<typeof FloodSchema>;
export type GeneratorOptions = z.infer<typeof GeneratorSchema>;
export type WireOptions = z.infer<typeof WireSchema>;
export type SinkOptions = z.infer<typeof SinkSchema>;
export type GuestOptions = z.infer<typeof GuestSchema>;
export type ConsumerOptions = z.infer<typeof ConsumerSchema>;
export type Workload = z.infer<typeof WorkloadSchema>;
export type TransferOptions = z.infer<typeof TransferSchema>;
export type StallOptions = z.infer<typeof StallSchema>;
export type ProbeSettings = z.infer<typeof ProbesSchema>;
export type ProbeLevel = ProbeSettings['level'];
export type GateSettings = z.infer<typeof GateSchema>;
export type Sweep = z.infer<typeof SweepSchema>;
export type ProfileInput = z.input<typeof ProfileSchema>;
export type Profile = z.infer<typeof ProfileSchema>;
export type VmSettings = z.infer<typeof VmSchema>;
export type VmOverride = z.infer<typeof VmOverrideSchema>;

/** The JSON Schema of a profile (written to profiles/profile.schema.json). */
export function profileJsonSchema(): unknown {
  return z.toJSONSchema(ProfileSchema, { io: 'input' });
}
