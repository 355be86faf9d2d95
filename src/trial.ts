// One measured trial, start to finish:
//   lab up -> consumer attached -> probes attached -> quiet counters -> generator -> ramp-up
//   -> window (probe marks, counters, consumer snapshots) -> generator stopped -> queue
//   drained -> quiet counters -> probes stopped -> consumer stopped -> lab down.
// Everything started is stopped in reverse order whatever happens.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from './errors.ts';
import { planCpus, cpuSecondsOf } from './lab/cpus.ts';
import { counterDelta, readDeviceCounters } from './lab/counters.ts';
import { createLab, type Lab } from './lab/lab.ts';
import { assertQueueMode } from './lab/queue-mode.ts';
import { emptyMetrics } from './metrics.ts';
import type { Profile } from './profile/schema.ts';
import type { ProgressEvent } from './progress.ts';
import { startProbes, type RunningProbes } from './probes/start.ts';
import { crossCheck, crossValidate, deriveMetrics } from './trial-metrics.ts';
import type { Capabilities, PlannedTrial, ProbeBackend, ResolvedVariant, TrialResult } from './types.ts';
import { startGuestConsumer } from './workload/consumers/guest.ts';
import { startSink, type RunningSink } from './workload/consumers/sink.ts';
import { startGenerator, type RunningGenerator } from './workload/generators/start.ts';

export interface TrialContext {
  profile: Profile;
  caps: Capabilities;
  backend: ProbeBackend | null;
  resultDir: string;
  progress: (e: ProgressEvent) => void;
  /** Aborted on SIGINT/SIGTERM: the trial stops early and is reported failed. */
  signal: AbortSignal;
}

/** Wait until the consumer has read everything that was queued (its count stops moving). */
async function drain(sink: RunningSink, maxMs = 3000, quietMs = 200): Promise<void> {
  let last = (await sink.snapshot()).packets;
  let stableSince = Date.now();
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    await sleep(50);
    const now = (await sink.snapshot()).packets;
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= quietMs) return;
  }
}

async function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw new UserError('interrupted');
  }
}

export async function runTrial(planned: PlannedTrial, variant: ResolvedVariant, ctx: TrialContext): Promise<TrialResult> {
  const { profile } = ctx;
  const level = planned.probeLevel;
  const w = variant.workload;
  const rawName = `trial-${String(planned.index).padStart(3, '0')}-${variant.name}.bpftrace.jsonl`;
  const base: TrialResult = {
    index: planned.index,
    variant: variant.name,
    repetition: planned.repetition,
    warmup: planned.warmup,
    overhead: planned.overhead,
    startedAt: new Date().toISOString(),
    status: 'failed',
    windowSeconds: profile.duration,
    probeLevel: level,
    probeBackend: level === 'off' ? null : ctx.backend,
    metrics: emptyMetrics(),
    counters: null,
    crossCheck: [],
    generator: null,
    consumer: null,
    probe: null,
    rawProbeFile: null,
  };

  let lab: Lab | null = null;
  let sink: RunningSink | null = null;
  let probes: RunningProbes | null = null;
  let shadow: RunningProbes | null = null;
  let gen: RunningGenerator | null = null;
  try {
    lab = await createLab(w.tap);
    const generatorCount = w.generator.type === 'trafgen' ? w.generator.cpus : w.generator.threads;
    const cpus = planCpus(generatorCount, w.consumer.type === 'sink' ? w.consumer.cpu : 'auto');
    sink = w.consumer.type === 'sink'
      ? await startSink({ netns: lab.netns, dev: lab.tap, queues: lab.queues, options: w.consumer, cpu: cpus.consumer })
      : await startGuestConsumer({ netns: lab.netns, dev: lab.tap, queues: lab.queues, options: w.consumer, cpu: cpus.consumer, consoleLog: join(ctx.resultDir, 'raw', rawName.replace(/\.bpftrace\.jsonl$/, '.guest-console.log')) });

    if (w.tap.queueMode !== 'default') base.queueMode = assertQueueMode(sink.pid, w.tap.queueMode, lab.queues);

    if (level !== 'off') {
      if (!ctx.backend) throw new UserError('no probe backend available', { hint: 'run tunbench doctor; or use --probes off' });
      const target = { tapName: lab.tap, consumerPid: sink.pid, generator: w.generator.type, capacity: lab.capacity, queues: lab.queues, skqField: ctx.caps.tun.queueModeSwitch ?? false };
      probes = await startProbes({
        backend: ctx.backend,
        level,
        target,
        sampleIntervalMs: variant.probes.sampleIntervalMs,
        dropReasons: ctx.caps.dropReasons,
        rawFile: join(ctx.resultDir, 'raw', rawName),
      });
      base.rawProbeFile = join('raw', rawName);
      if (variant.probes.crossValidate && ctx.backend !== 'tracepoint') {
        // The portable backend on the same traffic, to validate the exact one against it.
        shadow = await startProbes({
          backend: 'tracepoint',
          level: 'counters',
          target,
          sampleIntervalMs: variant.probes.sampleIntervalMs,
          dropReasons: ctx.caps.dropReasons,
          rawFile: join(ctx.resultDir, 'raw', rawName.replace(/\.bpftrace\.jsonl$/, '.tracepoint.bpftrace.jsonl')),
        });
      }
    }

    // Quiet span starts: nothing flows yet.
    const quietBefore = await readDeviceCounters(lab.netns, lab.tap);
    const sinkQuietBefore = await sink.snapshot();

    gen = await startGenerator({ netns: lab.netns, dev: lab.tap, generator: w.generator, sinkPid: sink.pid });
    await sleepUnlessAborted(profile.rampUp * 1000, ctx.signal);

    // The window.
    await probes?.markWindowStart();
    await shadow?.markWindowStart();
    const t0 = process.hrtime.bigint();
    const winBefore = await readDeviceCounters(lab.netns, lab.tap);
    const sinkWinBefore = await sink.snapshot();
    const cpuGen0 = cpuSecondsOf(gen.pids);
    const cpuSink0 = cpuSecondsOf([sink.pid]);
    const windowMs = profile.duration * 1000;
    let lastLive = sinkWinBefore;
    for (let elapsed = 0; elapsed < windowMs; ) {
      const step = Math.min(1000, windowMs - elapsed);
      await sleepUnlessAborted(step, ctx.signal);
      elapsed += step;
      if (elapsed < windowMs) {
        const snap = await sink.snapshot();
        const dt = (snap.tNs - lastLive.tNs) / 1e9;
        ctx.progress({ event: 'live', index: planned.index, variant: variant.name, rxPps: dt > 0 ? (snap.packets - lastLive.packets) / dt : 0, secondsIntoWindow: elapsed / 1000 });
        lastLive = snap;
      }
    }
    await probes?.markWindowEnd();
    await shadow?.markWindowEnd();
    const windowSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const winAfter = await readDeviceCounters(lab.netns, lab.tap);
    const sinkWinAfter = await sink.snapshot();
    const cpuGen1 = cpuSecondsOf(gen.pids);
    const cpuSink1 = cpuSecondsOf([sink.pid]);

    base.generator = await gen.stop();
    gen = null;
    await drain(sink);
    const quietAfter = await readDeviceCounters(lab.netns, lab.tap);
    const sinkQuietAfter = await sink.snapshot();
    const probeResult = probes ? await probes.stop() : null;
    probes = null;
    const shadowResult = shadow ? await shadow.stop() : null;
    shadow = null;
    base.consumer = await sink.stop();
    sink = null;

    const quiet = counterDelta(quietBefore, quietAfter);
    base.counters = {
      tx_packets: quiet.tx_packets,
      tx_dropped: quiet.tx_dropped,
      tx_bytes: quiet.tx_bytes,
      consumer_packets: sinkQuietAfter.packets - sinkQuietBefore.packets,
      generator_packets: base.generator.packetsSent,
    };
    base.windowSeconds = windowSeconds;
    const pct = (a: number | null, b: number | null) => (a === null || b === null ? null : ((b - a) / windowSeconds) * 100);
    base.metrics = deriveMetrics({
      windowSeconds,
      capacity: lab.capacity,
      windowCounters: counterDelta(winBefore, winAfter),
      consumerPackets: sinkWinAfter.packets - sinkWinBefore.packets,
      consumerSeconds: (sinkWinAfter.tNs - sinkWinBefore.tNs) / 1e9,
      generator: base.generator,
      probe: probeResult?.window ?? null,
      cpu: { generatorPct: pct(cpuGen0, cpuGen1), consumerPct: pct(cpuSink0, cpuSink1) },
    });
    if (probeResult) {
      base.probe = probeResult.window;
      base.crossCheck = crossCheck({
        probe: probeResult.total,
        counters: base.counters,
        tolerance: profile.crossCheckTolerance,
        readsInFlightAtAttach: ctx.backend === 'tracepoint' ? 0 : lab.queues,
      });
      if (shadowResult) {
        base.crossCheck.push(...crossValidate(ctx.backend ?? 'kprobe', probeResult.total, shadowResult.total, profile.crossCheckTolerance));
      }
    }
    base.status = 'ok';
    return base;
  } catch (e) {
    base.error = e instanceof Error ? e.message : String(e);
    if (e instanceof UserError && base.error !== 'interrupted') throw Object.assign(e, { trial: base });
    return base;
  } finally {
    // Reverse order; each step tolerant of the others having failed.
    await gen?.stop().catch(() => undefined);
    await probes?.stop().catch(() => undefined);
    await shadow?.stop().catch(() => undefined);
    await sink?.stop().catch(() => undefined);
    await lab?.destroy().catch(() => undefined);
  }
}
