// One measured trial, as four steps:
//   setUp     lab up -> consumer attached -> probes attached (queues found)
//   measure   quiet counters -> generator -> ramp-up -> window (marks, counters, consumer
//             snapshots, CPU times; the generator and the consumer must stay alive)
//   finish    generator stopped -> queue drained -> quiet counters -> probes stopped ->
//             consumer stopped
//   assemble  readings -> metrics and cross-checks (pure: src/trial/metrics.ts)
// Everything started is stopped in reverse order whatever happens (tearDown).
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.ts';
import { planCpus, cpuSecondsOf } from '../lab/cpus.ts';
import { readDeviceCounters } from '../lab/counters.ts';
import { createLab, type Lab } from '../lab/lab.ts';
import { assertQueueMode } from '../lab/queue-mode.ts';
import { emptyMetrics } from '../metrics.ts';
import type { Profile } from '../profile/schema.ts';
import type { ProgressEvent } from '../progress.ts';
import { startProbes, type RunningProbes } from '../probes/start.ts';
import type { Capabilities, PlannedTrial, ProbeBackend, ResolvedVariant, TrialReadings, TrialResult } from '../types.ts';
import { startGuestConsumer } from '../workload/consumers/guest.ts';
import { startSink, type RunningSink } from '../workload/consumers/sink.ts';
import { startGenerator, type RunningGenerator } from '../workload/generators/start.ts';
import { crossChecks, deriveMetrics, quietCounters } from './metrics.ts';

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
}

const monotonicNs = () => Number(process.hrtime.bigint());

/** Sleep, but fail the trial as soon as the generator or the consumer exits. Nothing here
 * rejects, so a watcher that loses the race cannot become an unhandled rejection later. */
async function watchfully(ms: number, r: Running, signal: AbortSignal): Promise<void> {
  const racers: Promise<string | null>[] = [sleep(ms, undefined, { signal }).then(() => null, () => 'interrupted')];
  // An in-kernel generator (pktgen) may end by itself when it has sent its count.
  if (r.gen && r.gen.pids.length > 0) racers.push(r.gen.exited.then(() => 'the generator exited during the window', () => 'the generator exited during the window'));
  if (r.consumer) racers.push(r.consumer.exited.then(() => 'the consumer exited during the window', () => 'the consumer exited during the window'));
  const why = await Promise.race(racers);
  if (why === 'interrupted') throw new UserError('interrupted');
  if (why) throw new TrialFailure(why);
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

/** Whether the generator's count includes packets tun dropped (see TrialReadings.generatorCounts). */
function generatorCounts(variant: ResolvedVariant): TrialReadings['generatorCounts'] {
  const g = variant.workload.generator;
  return g.type === 'trafgen' && !g.qdisc ? 'accepted' : 'offered';
}

function rawName(planned: PlannedTrial, variant: ResolvedVariant): string {
  return `trial-${String(planned.index).padStart(3, '0')}-${variant.name}`;
}

async function setUp(planned: PlannedTrial, variant: ResolvedVariant, ctx: TrialContext, r: Running, base: TrialResult): Promise<void> {
  const w = variant.workload;
  r.lab = await createLab(w.tap);
  const lab = r.lab;
  const generatorCount = w.generator.type === 'trafgen' ? w.generator.cpus : w.generator.threads;
  const cpus = planCpus(generatorCount, w.consumer.type === 'sink' ? w.consumer.cpu : 'auto');
  r.consumer = w.consumer.type === 'sink'
    ? await startSink({ netns: lab.netns, dev: lab.tap, queues: lab.queues, options: w.consumer, cpu: cpus.consumer })
    : await startGuestConsumer({ netns: lab.netns, dev: lab.tap, queues: lab.queues, options: w.consumer, cpu: cpus.consumer, consoleLog: join(ctx.resultDir, 'raw', `${rawName(planned, variant)}.guest-console.log`) });
  if (w.tap.queueMode !== 'default') base.queueMode = assertQueueMode(r.consumer.pid, w.tap.queueMode, lab.queues);
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
};

async function measure(planned: PlannedTrial, variant: ResolvedVariant, ctx: TrialContext, r: Running): Promise<WindowReadings> {
  const lab = r.lab!;
  const consumer = r.consumer!;
  const tapAt = async () => ({ ...(await readDeviceCounters(lab.netns, lab.tap)), tNs: monotonicNs() });
  const consumerAt = async () => {
    const s = await consumer.snapshot();
    return { tNs: s.tNs, packets: s.packets, bytes: s.bytes };
  };
  const readings: WindowReadings = { capacity: lab.capacity, queues: lab.queues, window: { startNs: 0, endNs: 0 }, tap: {}, consumer: {}, cpuSeconds: { generator: null, consumer: null } };
  // Quiet span starts: nothing flows yet.
  readings.tap.quietBefore = await tapAt();
  readings.consumer.quietBefore = await consumerAt();
  r.gen = await startGenerator({ netns: lab.netns, dev: lab.tap, generator: variant.workload.generator, sinkPid: consumer.pid });
  await watchfully(ctx.profile.rampUp * 1000, r, ctx.signal);

  await r.probes?.markWindowStart();
  readings.window.startNs = monotonicNs();
  readings.tap.windowStart = await tapAt();
  readings.consumer.windowStart = await consumerAt();
  const cpuGen0 = cpuSecondsOf(r.gen.pids);
  const cpuCon0 = cpuSecondsOf([consumer.pid]);
  const cpuProbes0 = r.probes ? cpuSecondsOf([r.probes.pid]) : null;
  const windowMs = ctx.profile.duration * 1000;
  let lastLive = readings.consumer.windowStart;
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
  readings.tap.windowEnd = await tapAt();
  readings.consumer.windowEnd = await consumerAt();
  readings.window.endNs = monotonicNs();
  await r.probes?.markWindowEnd();
  const cpuGen1 = cpuSecondsOf(r.gen.pids);
  const cpuCon1 = cpuSecondsOf([consumer.pid]);
  const cpuProbes1 = r.probes ? cpuSecondsOf([r.probes.pid]) : null;
  readings.cpuSeconds = {
    generator: cpuGen0 !== null && cpuGen1 !== null ? [cpuGen0, cpuGen1] : null,
    consumer: cpuCon0 !== null && cpuCon1 !== null ? [cpuCon0, cpuCon1] : null,
    probes: cpuProbes0 !== null && cpuProbes1 !== null ? [cpuProbes0, cpuProbes1] : null,
  };
  return readings;
}

async function tearDown(r: Running): Promise<void> {
  // Reverse order; each step tolerant of the others having failed.
  await r.gen?.stop().catch(() => undefined);
  await r.probes?.stop().catch(() => undefined);
  await r.consumer?.stop().catch(() => undefined);
  await r.lab?.destroy().catch(() => undefined);
}

export async function runTrial(planned: PlannedTrial, variant: ResolvedVariant, ctx: TrialContext): Promise<TrialResult> {
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
    generator: null,
    consumer: null,
    probe: null,
    rawProbeFile: null,
  };
  const r: Running = { lab: null, consumer: null, probes: null, gen: null };
  try {
    await setUp(planned, variant, ctx, r, base);
    const partial = await measure(planned, variant, ctx, r);

    // finish: stop the generator, let the reader empty the queue, close the quiet span.
    base.generator = await r.gen!.stop();
    r.gen = null;
    const drained = await drain(r.consumer!);
    partial.tap.quietAfter = { ...(await readDeviceCounters(r.lab!.netns, r.lab!.tap)), tNs: monotonicNs() };
    const s = await r.consumer!.snapshot();
    partial.consumer.quietAfter = { tNs: s.tNs, packets: s.packets, bytes: s.bytes };
    const probe = r.probes ? await r.probes.stop() : null;
    r.probes = null;
    base.consumer = await r.consumer!.stop();
    r.consumer = null;

    // assemble (pure)
    const readings: TrialReadings = { ...partial, tap: partial.tap as TrialReadings['tap'], consumer: partial.consumer as TrialReadings['consumer'], drain: drained, generator: base.generator, generatorCounts: generatorCounts(variant), probe };
    base.readings = readings;
    base.windowSeconds = (readings.window.endNs - readings.window.startNs) / 1e9;
    base.metrics = deriveMetrics(readings);
    base.counters = quietCounters(readings);
    base.probe = probe;
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
  }
}
