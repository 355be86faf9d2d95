// One measured trial, as four steps:
//   setUp     lab up -> consumer attached (wire: its peer namespace and tap, the iperf3
//             server there; guest with iperf3: the server inside the guest, the lab tap's
//             address) -> the tap's qdisc set and read back -> probes attached
//   measure   quiet counters -> background flood -> generator -> ramp-up -> window (marks,
//             counters, qdisc counters and samples, consumer snapshots, CPU times; the
//             generator and the consumer must stay alive)
//   finish    background stopped -> generator stopped (iperf3: its test ends by itself) ->
//             queue drained -> quiet counters -> probes stopped -> consumer stopped
//   assemble  readings -> metrics and cross-checks (pure: src/trial/metrics.ts)
// Everything started is stopped in reverse order whatever happens (tearDown).
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.ts';
import { onCleanup } from '../process/cleanup.ts';
import { planCpus, cpuSecondsOf } from '../lab/cpus.ts';
import { readDeviceCounters } from '../lab/counters.ts';
import { createLab, type Lab } from '../lab/lab.ts';
import { assertQueueMode } from '../lab/queue-mode.ts';
import { assertBackpressure, readTunQueues } from '../lab/tun-fdinfo.ts';
import { setNetemDelay } from '../lab/netem.ts';
import { modprobeQdisc, readQdisc, setQdisc, startQdiscSampler, type QdiscSampler, type QdiscState } from '../lab/qdisc.ts';
import { emptyMetrics } from '../metrics.ts';
import type { Profile } from '../profile/schema.ts';
import type { ProgressEvent } from '../progress.ts';
import { startProbes, type RunningProbes } from '../probes/start.ts';
import type { Capabilities, DeviceCounters, GeneratorReport, PlannedTrial, ProbeBackend, QdiscCounters, QdiscReadings, ResolvedVariant, TrialReadings, TrialResult } from '../types.ts';
import { startGuestConsumer } from '../workload/consumers/guest.ts';
import { createWirePeer, startWire, type WirePeer } from '../workload/consumers/wire.ts';
import { startIperf3Server } from '../workload/generators/iperf3.ts';
import { startSockperfServer } from '../workload/generators/sockperf.ts';
import { startSink, type RunningSink } from '../workload/consumers/sink.ts';
import { startGenerator, type RunningGenerator } from '../workload/generators/start.ts';
import { crossChecks, deriveMetrics, quietCounters } from './metrics.ts';
import { runTransfer, TransferAborted } from './transfer.ts';
import { runMcastTrial } from './mcast-trial.ts';

export interface TrialContext {
  profile: Profile;
  caps: Capabilities;
  /** The 'full' level's per-packet attach point (null at counters and off). */
  backend: ProbeBackend | null;
  resultDir: string;
  progress: (e: ProgressEvent) => void;
  /** Aborted on SIGINT/SIGTERM: the trial stops early and is reported failed. */
  signal: AbortSignal;
}

/** A failure of this trial alone (a process died, the queue did not drain): the run goes on. */
export class TrialFailure extends Error {}

interface Running {
  lab: Lab | null;
  consumer: RunningSink | null;
  probes: RunningProbes | null;
  gen: RunningGenerator | null;
  /** workload.background's flood. */
  background: RunningGenerator | null;
  /** The wire consumer's far end and the iperf3 or sockperf server in it. */
  peer: WirePeer | null;
  server: { stop(): Promise<void> } | null;
  /** Where the iperf3 or sockperf client connects: the wire's peer (server above) or the guest consumer's own iperf3 server. */
  flowServer: { address: string; port: number } | null;
  qdiscSampler: QdiscSampler | null;
  /** The qdisc kind tc read back after setting it. */
  qdiscKind: string | null;
}

/** Qdisc counters are sampled this often during the window (one netlink dump per sample). */
export const QDISC_SAMPLE_MS = 50;

const monotonicNs = () => Number(process.hrtime.bigint());

/** Sleep, but fail the trial as soon as the generator or the consumer exits. Nothing here
 * rejects, so a watcher that loses the race cannot become an unhandled rejection later. */
async function watchfully(ms: number, r: Running, signal: AbortSignal): Promise<void> {
  // Each racer says why the window ends early and which process, if one that can say why, ended it.
  type End = { why: string; who: RunningGenerator | null } | null;
  const ended = (p: Promise<unknown>, why: string, who: RunningGenerator | null = null): Promise<End> => p.then(() => ({ why, who }), () => ({ why, who }));
  const racers: Promise<End | 'interrupted'>[] = [sleep(ms, undefined, { signal }).then(() => null, () => 'interrupted' as const)];
  // An in-kernel generator (pktgen) may end by itself when it has sent its count.
  if (r.gen && r.gen.pids.length > 0) racers.push(ended(r.gen.exited, 'the generator exited during the window', r.gen));
  if (r.background && r.background.pids.length > 0) racers.push(ended(r.background.exited, 'the background flood exited during the window', r.background));
  if (r.consumer) racers.push(ended(r.consumer.exited, 'the consumer exited during the window'));
  if (r.probes) racers.push(ended(r.probes.exited, 'the probes (bpftrace) exited during the window: this trial\'s probe figures are missing'));
  const end = await Promise.race(racers);
  if (end === 'interrupted') throw new UserError('interrupted');
  if (end) throw new TrialFailure(end.who ? await withOwnWords(end.why, end.who) : end.why);
}

/** A generator or flood that exited early: its own error or last output after the reason
 * ("the generator exited during the window: iperf3: unable to connect ..."), when it says one
 * within a second. */
async function withOwnWords(why: string, who: RunningGenerator): Promise<string> {
  const said = await Promise.race([
    who.stop().then(
      (g) => g.output.trim().split('\n').filter(Boolean).slice(-2).join(' / '),
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    ),
    sleep(1000).then(() => ''),
  ]);
  return said ? `${why}: ${said.slice(0, 500)}` : why;
}

/** Wait until the consumer has read everything that was queued (its count stops moving). */
async function drain(consumer: RunningSink, maxMs = 3000, quietMs = 200): Promise<{ complete: boolean; seconds: number }> {
  const t0 = Date.now();
  let last = (await consumer.snapshot()).packets;
  let stableSince = Date.now();
  while (Date.now() - t0 < maxMs) {
    await sleep(50);
    const now = (await consumer.snapshot()).packets;
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= quietMs) return { complete: true, seconds: (Date.now() - t0) / 1000 };
  }
  return { complete: false, seconds: (Date.now() - t0) / 1000 };
}

/** Whether the generator's count includes packets tun dropped (see TrialReadings.generatorCounts):
 * tun's NET_XMIT_DROP reaches the sender when nothing queues before the driver (trafgen's
 * qdisc bypass, or the noqueue qdisc), and trafgen then sends the frame again. */
export function generatorCounts(g: { type: string; qdisc?: boolean }, qdisc: string): TrialReadings['generatorCounts'] {
  return g.type === 'trafgen' && (g.qdisc === false || qdisc === 'noqueue') ? 'accepted' : 'offered';
}

function generatorCpuCount(g: { type: string; cpus?: number; threads?: number } | undefined): number {
  if (!g) return 0;
  return g.type === 'trafgen' ? g.cpus ?? 1 : g.type === 'pktgen' ? g.threads ?? 1 : 0;
}


function qdiscCounters(s: QdiscState): QdiscCounters {
  const { handle: _h, parent: _p, root: _r, dropsOverlimit, ...counts } = s.root;
  return { ...counts, ...(dropsOverlimit !== null ? { dropsOverlimit } : {}), tNs: monotonicNs() };
}

export function rawName(planned: PlannedTrial, variant: ResolvedVariant): string {
  return `trial-${String(planned.index).padStart(3, '0')}-${variant.name}`;
}

async function setUp(planned: PlannedTrial, variant: ResolvedVariant, ctx: TrialContext, r: Running, base: TrialResult): Promise<void> {
  const w = variant.workload;
  r.lab = await createLab(w.tap);
  const lab = r.lab;
  // Generator CPUs: the profile's flood (trafgen cpus, pktgen threads) or the background's; iperf3 is not pinned.
  const generatorCount = Math.max(generatorCpuCount(w.generator), generatorCpuCount(w.background));
  const c = w.consumer;
  const cpus = planCpus(generatorCount, c.type === 'sink' || c.type === 'wire' ? c.cpu : 'auto');
  if (c.type === 'sink') r.consumer = await startSink({ netns: lab.netns, dev: lab.tap, queues: lab.queues, options: c, cpu: cpus.consumer, ...(w.tap.steering === 'cpu' ? { steerCpu: true } : {}) });
  else if (c.type === 'wire') {
    r.peer = await createWirePeer({ labNetns: lab.netns, labTap: lab.tap, mtu: w.tap.mtu, txQueueLen: c.peerTxQueueLen });
    if ((c.rttMs ?? 0) > 0) await setNetemDelay(r.peer.netns, r.peer.tap, c.rttMs!);
    r.consumer = await startWire({ netns: lab.netns, dev: lab.tap, peer: r.peer, cpu: cpus.consumer, batch: c.batch });
    if (w.generator.type === 'iperf3') {
      const server = await startIperf3Server({ netns: r.peer.netns, bind: r.peer.peerAddress });
      r.server = server;
      r.flowServer = { address: r.peer.peerAddress, port: server.port };
    } else if (w.generator.type === 'sockperf') {
      const server = await startSockperfServer({ netns: r.peer.netns, bind: r.peer.peerAddress, protocol: w.generator.protocol });
      r.server = server;
      r.flowServer = { address: r.peer.peerAddress, port: server.port };
    }
  } else {
    // With iperf3 the server runs inside the guest (its initramfs carries iperf3); the client
    // in the lab namespace reaches it through the tap, which the guest's QEMU reads.
    const guest = await startGuestConsumer({ netns: lab.netns, dev: lab.tap, queues: lab.queues, options: c, cpu: cpus.consumer, consoleLog: join(ctx.resultDir, 'raw', `${rawName(planned, variant)}.guest-console.log`), flow: w.generator.type === 'iperf3' });
    r.consumer = guest;
    r.flowServer = guest.flowServer;
  }
  if (w.tap.queueMode !== 'default') base.queueMode = assertQueueMode(r.consumer.pid, w.tap.queueMode, lab.queues);
  if (w.tap.backpressure !== undefined) base.backpressure = assertBackpressure(r.consumer.pid, lab.tap, w.tap.backpressure, lab.queues);
  // The qdisc once the reader holds the tap (carrier up), before any traffic; read back.
  await modprobeQdisc(w.tap.qdisc);
  r.qdiscKind = (await setQdisc(lab.netns, lab.tap, w.tap.qdisc)).root.kind;
  const level = planned.probeLevel;
  if (level === 'off') return;
  const offsets = ctx.caps.sampler?.offsets;
  if (!offsets) throw new UserError(`the probes cannot read the queue on this kernel: ${ctx.caps.sampler?.reason ?? 'no sampler capability recorded'}`, { hint: 'run tunbench doctor; or run with --probes off' });
  if (level === 'full' && !ctx.backend) throw new UserError('no per-packet probe attach point is available for the full level', { hint: 'run tunbench doctor; or use --probes counters' });
  const file = `${rawName(planned, variant)}.bpftrace.jsonl`;
  r.probes = await startProbes({
    level,
    backend: level === 'full' ? ctx.backend : null,
    target: { tapName: lab.tap, consumerPid: r.consumer.pid, capacity: lab.capacity, queues: lab.queues },
    sampleIntervalMs: variant.probes.sampleIntervalMs,
    locks: variant.probes.locks ?? level === 'full',
    dropReasons: ctx.caps.dropReasons,
    offsets,
    rawFile: join(ctx.resultDir, 'raw', file),
  });
  base.rawProbeFile = join('raw', file);
}

/** What measure() reads; finish() adds the quiet span's end. */
type WindowReadings = Pick<TrialReadings, 'capacity' | 'queues' | 'window' | 'cpuSeconds'> & {
  tap: Partial<TrialReadings['tap']>;
  consumer: Partial<TrialReadings['consumer']>;
  qdisc: Partial<QdiscReadings['at']>;
  qdiscSamples: QdiscReadings['samples'] | null;
  peerTap: Partial<NonNullable<TrialReadings['peerTap']>>;
  tunQueues: NonNullable<TrialReadings['tunQueues']>;
  transfer?: TrialReadings['transfer'];
};

async function measure(planned: PlannedTrial, variant: ResolvedVariant, ctx: TrialContext, r: Running): Promise<WindowReadings> {
  const lab = r.lab!;
  const consumer = r.consumer!;
  const tapAt = async () => ({ ...(await readDeviceCounters(lab.netns, lab.tap)), tNs: monotonicNs() });
  const consumerAt = async () => {
    const s = await consumer.snapshot();
    return { tNs: s.tNs, packets: s.packets, bytes: s.bytes };
  };
  const qdiscAt = async () => qdiscCounters(await readQdisc(lab.netns, lab.tap));
  const readings: WindowReadings = { capacity: lab.capacity, queues: lab.queues, window: { startNs: 0, endNs: 0 }, tap: {}, consumer: {}, cpuSeconds: { generator: null, consumer: null }, qdisc: {}, qdiscSamples: null, peerTap: {}, tunQueues: {} };
  // tun's own per-queue counts (patch 0002) from the reader's fdinfo: absent on other kernels.
  const tunAt = (at: keyof TrialReadings['tap']) => {
    const s = readTunQueues(consumer.pid, lab.tap);
    if (s) readings.tunQueues[at] = s;
  };
  // Quiet span starts: nothing flows yet.
  readings.tap.quietBefore = await tapAt();
  tunAt('quietBefore');
  readings.qdisc.quietBefore = await qdiscAt();
  readings.consumer.quietBefore = await consumerAt();
  if (r.peer) readings.peerTap.quietBefore = await peerTapAt(r.peer);
  const w = variant.workload;
  if (w.background) r.background = await startGenerator({ netns: lab.netns, dev: lab.tap, generator: w.background, sinkPid: consumer.pid });
  const flow = r.flowServer ? { flow: { server: r.flowServer.address, port: r.flowServer.port, rampUpSeconds: ctx.profile.rampUp, durationSeconds: ctx.profile.duration } } : {};
  const openWindow = async () => {
    await r.probes?.markWindowStart();
    readings.window.startNs = monotonicNs();
    readings.tap.windowStart = await tapAt();
    tunAt('windowStart');
    readings.qdisc.windowStart = await qdiscAt();
    readings.consumer.windowStart = await consumerAt();
    r.qdiscSampler = await startQdiscSampler(lab.netns, lab.tap, QDISC_SAMPLE_MS);
  };
  let cpuGen0: number | null;
  let cpuCon0: number | null;
  let cpuProbes0: number | null;
  if (w.transfer) {
    // A fixed transfer: the window opens before the generator starts and closes at its end
    // (or its deadline); no ramp-up.
    await openWindow();
    cpuCon0 = cpuSecondsOf([consumer.pid]);
    cpuProbes0 = r.probes ? cpuSecondsOf([r.probes.pid]) : null;
    const failed = new Promise<string>((resolveWhy) => {
      void consumer.exited.then(() => resolveWhy('the consumer exited during the transfer'));
      if (r.probes) void r.probes.exited.then(() => resolveWhy('the probes (bpftrace) exited during the transfer'), () => resolveWhy('the probes (bpftrace) exited during the transfer'));
    });
    cpuGen0 = null;
    const start = async () => {
      const gen = await startGenerator({ netns: lab.netns, dev: lab.tap, generator: w.generator, sinkPid: consumer.pid, transfer: w.transfer, ...flow });
      r.gen = gen;
      cpuGen0 = cpuSecondsOf(gen.pids);
      return { exitedNs: gen.exitedNs ?? gen.exited.then(() => monotonicNs()) };
    };
    try {
      readings.transfer = await runTransfer({
        transfer: w.transfer, ...(w.stall ? { stall: w.stall } : {}),
        p: { startGenerator: start, readerPid: consumer.pid, readerCount: async () => { const c = await tapAt(); return { tNs: c.tNs, packets: c.tx_packets }; }, failed, signal: ctx.signal },
      });
    } catch (e) {
      if (e instanceof TransferAborted) {
        if (e.interrupted) throw new UserError('interrupted');
        throw new TrialFailure(e.message);
      }
      throw e;
    }
    if (readings.transfer.verdict !== 'completed') r.gen?.abort?.();
  } else {
    r.gen = await startGenerator({ netns: lab.netns, dev: lab.tap, generator: w.generator, sinkPid: consumer.pid, ...flow });
    await watchfully(ctx.profile.rampUp * 1000, r, ctx.signal);
    await openWindow();
    cpuGen0 = cpuSecondsOf(r.gen.pids);
    cpuCon0 = cpuSecondsOf([consumer.pid]);
    cpuProbes0 = r.probes ? cpuSecondsOf([r.probes.pid]) : null;
    const windowMs = ctx.profile.duration * 1000;
    let lastLive = readings.consumer.windowStart!;
    for (let elapsed = 0; elapsed < windowMs; ) {
      const step = Math.min(1000, windowMs - elapsed);
      await watchfully(step, r, ctx.signal);
      elapsed += step;
      if (elapsed < windowMs) {
        const snap = await consumerAt();
        const dt = (snap.tNs - lastLive.tNs) / 1e9;
        ctx.progress({ event: 'live', index: planned.index, variant: variant.name, rxPps: dt > 0 ? (snap.packets - lastLive.packets) / dt : 0, secondsIntoWindow: elapsed / 1000 });
        lastLive = snap;
      }
    }
  }
  readings.tap.windowEnd = await tapAt();
  tunAt('windowEnd');
  readings.qdisc.windowEnd = await qdiscAt();
  readings.consumer.windowEnd = await consumerAt();
  readings.window.endNs = monotonicNs();
  const series = await r.qdiscSampler!.stop();
  r.qdiscSampler = null;
  readings.qdiscSamples = { intervalMs: QDISC_SAMPLE_MS, backlogPackets: series.samples.map((x) => x.root.backlogPackets), drops: series.samples.map((x) => x.root.drops), requeues: series.samples.map((x) => x.root.requeues) };
  await r.probes?.markWindowEnd();
  const cpuGen1 = cpuSecondsOf(r.gen!.pids);
  const cpuCon1 = cpuSecondsOf([consumer.pid]);
  const cpuProbes1 = r.probes ? cpuSecondsOf([r.probes.pid]) : null;
  readings.cpuSeconds = {
    generator: cpuGen0 !== null && cpuGen1 !== null ? [cpuGen0, cpuGen1] : null,
    consumer: cpuCon0 !== null && cpuCon1 !== null ? [cpuCon0, cpuCon1] : null,
    probes: cpuProbes0 !== null && cpuProbes1 !== null ? [cpuProbes0, cpuProbes1] : null,
  };
  return readings;
}

/** What a generator stopped at a transfer's deadline reports when it has no report of its own (iperf3 killed before its end record). */
function unfinishedReport(_gen: RunningGenerator, e: unknown): GeneratorReport {
  return { tool: 'iperf3', packetsSent: null, errors: null, reportedPps: null, seconds: null, command: [], output: `stopped at the transfer's deadline: ${e instanceof Error ? e.message : String(e)}`.slice(0, 2000) };
}

async function peerTapAt(peer: WirePeer): Promise<DeviceCounters & { tNs: number }> {
  return { ...(await readDeviceCounters(peer.netns, peer.tap)), tNs: monotonicNs() };
}

async function tearDown(r: Running): Promise<void> {
  // Reverse order; each step tolerant of the others having failed.
  await r.qdiscSampler?.stop().catch(() => undefined);
  await r.gen?.stop().catch(() => undefined);
  await r.background?.stop().catch(() => undefined);
  await r.probes?.stop().catch(() => undefined);
  await r.server?.stop().catch(() => undefined);
  await r.consumer?.stop().catch(() => undefined);
  await r.peer?.destroy().catch(() => undefined);
  await r.lab?.destroy().catch(() => undefined);
}

export async function runTrial(planned: PlannedTrial, variant: ResolvedVariant, ctx: TrialContext): Promise<TrialResult> {
  // A multicast burst runs in its own lab (several taps on a bridge): src/trial/mcast-trial.ts.
  if (variant.workload.generator.type === 'mcast') return runMcastTrial(planned, variant, ctx);
  const level = planned.probeLevel;
  const base: TrialResult = {
    index: planned.index,
    variant: variant.name,
    repetition: planned.repetition,
    warmup: planned.warmup,
    overhead: planned.overhead,
    startedAt: new Date().toISOString(),
    status: 'failed',
    windowSeconds: ctx.profile.duration,
    probeLevel: level,
    probeBackend: level === 'full' ? ctx.backend : null,
    metrics: emptyMetrics(),
    counters: null,
    crossCheck: [],
    consumer: null,
    rawProbeFile: null,
  };
  const r: Running = { lab: null, consumer: null, probes: null, gen: null, background: null, peer: null, server: null, flowServer: null, qdiscSampler: null, qdiscKind: null };
  // Every process of the trial (generator, probes, reader, servers) is on the cleanup stack
  // while it runs, so an exit by any path (a signal, an error nobody awaited, a failed write
  // of the disk) stops them before the process ends instead of leaving them running.
  const forgetTrial = onCleanup(`trial ${planned.index} (${variant.name}): its processes`, () => tearDown(r));
  try {
    await setUp(planned, variant, ctx, r, base);
    const partial = await measure(planned, variant, ctx, r);

    // finish: stop the background flood, then the generator, let the reader empty the queue,
    // close the quiet span. The flood goes first: an iperf3 or sockperf client ends its test by
    // itself after the window, and its closing exchange on the control connection must not
    // cross a flood that drops half the frames (8 streams beside 100 kpps: one trial in a few
    // ran 10 s past its end in TCP's backed-off retransmissions and was killed).
    const background = r.background ? await r.background.stop() : null;
    r.background = null;
    const generator = partial.transfer?.verdict === 'did-not-finish' ? await r.gen!.stop().catch((e: unknown) => unfinishedReport(r.gen!, e)) : await r.gen!.stop();
    r.gen = null;
    const tr = partial.transfer;
    // A generator that exited early (an error) has not completed the transfer: the trial fails.
    const sent = generator.packetsSent;
    if (tr?.packets !== undefined && tr.verdict === 'completed' && sent !== null && sent < tr.packets) {
      throw new TrialFailure(`the generator exited having sent ${sent} of the transfer's ${tr.packets} packets: ${generator.output.trim().split('\n').slice(-2).join(' / ') || 'no output'}`);
    }
    const got = generator.flow?.receivedBytes;
    if (tr?.bytes !== undefined && tr.verdict === 'completed' && got !== undefined && got < tr.bytes) {
      tr.reason = `iperf3's server counted ${Math.round(got)} of the ${tr.bytes} bytes: iperf3 ends its test once the sender has written them and its server closes on what is still in flight; the completion is the last frame through the lab tap`;
    }
    const drained = await drain(r.consumer!);
    partial.tap.quietAfter = { ...(await readDeviceCounters(r.lab!.netns, r.lab!.tap)), tNs: monotonicNs() };
    partial.qdisc.quietAfter = qdiscCounters(await readQdisc(r.lab!.netns, r.lab!.tap));
    const tunAfter = readTunQueues(r.consumer!.pid, r.lab!.tap);
    if (tunAfter) partial.tunQueues.quietAfter = tunAfter;
    if (r.peer) partial.peerTap.quietAfter = await peerTapAt(r.peer);
    const s = await r.consumer!.snapshot();
    partial.consumer.quietAfter = { tNs: s.tNs, packets: s.packets, bytes: s.bytes };
    const probe = r.probes ? await r.probes.stop() : null;
    r.probes = null;
    await r.server?.stop();
    r.server = null;
    base.consumer = await r.consumer!.stop();
    r.consumer = null;

    // assemble (pure)
    const w = variant.workload;
    const { qdisc: qdiscAt, qdiscSamples, peerTap, tunQueues, ...rest } = partial;
    const readings: TrialReadings = {
      ...rest,
      tap: partial.tap as TrialReadings['tap'],
      consumer: partial.consumer as TrialReadings['consumer'],
      drain: drained,
      generator,
      generatorCounts: generatorCounts(w.generator, r.qdiscKind ?? w.tap.qdisc),
      probe,
      qdisc: { requested: w.tap.qdisc, kind: r.qdiscKind ?? 'unknown', at: qdiscAt as QdiscReadings['at'], samples: qdiscSamples ?? { intervalMs: QDISC_SAMPLE_MS, backlogPackets: [], drops: [], requeues: [] } },
      ...(w.background ? { background, backgroundCounts: generatorCounts(w.background, r.qdiscKind ?? w.tap.qdisc) } : {}),
      ...(peerTap.quietBefore && peerTap.quietAfter ? { peerTap: peerTap as NonNullable<TrialReadings['peerTap']> } : {}),
      ...(Object.keys(tunQueues).length > 0 ? { tunQueues } : {}),
    };
    base.readings = readings;
    base.windowSeconds = (readings.window.endNs - readings.window.startNs) / 1e9;
    base.metrics = deriveMetrics(readings);
    base.counters = quietCounters(readings);
    base.crossCheck = crossChecks(readings);
    if (!drained.complete) throw new TrialFailure(`the queue did not drain within ${drained.seconds.toFixed(1)} s after the generator stopped (the consumer kept reading)`);
    base.status = 'ok';
    return base;
  } catch (e) {
    base.error = e instanceof Error ? e.message : String(e);
    if (e instanceof UserError && base.error !== 'interrupted') throw Object.assign(e, { trial: base });
    return base;
  } finally {
    await tearDown(r);
    forgetTrial();
  }
}
