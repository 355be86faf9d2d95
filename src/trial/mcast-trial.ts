// One multicast-burst trial (generator mcast): the multicast lab (src/lab/mcast-lab.ts), one
// sink per tap, the unread taps' readers stopped before the sender starts, iperf 2 sends
// transfer.bytes to the group, timed to completion with the transfer's deadline (the read
// taps' readers must have taken what they will get); then the unread readers are resumed and
// everything drains, and the per-tap accounts are read. No queue probes run here (probes.level
// off); generator.ownerTrace adds probes/mcast-owner.bt over the burst (whose skbs each device got).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.ts';
import { readDeviceCounters } from '../lab/counters.ts';
import { BACKPRESSURE_PARAM, setBackpressure } from '../lab/lab.ts';
import { createMcastLab, type McastLab } from '../lab/mcast-lab.ts';
import { modprobeQdisc, readQdisc, setQdisc } from '../lab/qdisc.ts';
import { assertBackpressure, readTunQueues } from '../lab/tun-fdinfo.ts';
import { emptyMetrics } from '../metrics.ts';
import { startOwnerTrace, type RunningOwnerTrace } from '../probes/mcast-owner.ts';
import { onCleanup } from '../process/cleanup.ts';
import type { PlannedTrial, ResolvedVariant, TrialResult } from '../types.ts';
import { startSink, type RunningSink } from '../workload/consumers/sink.ts';
import { parseIperf2, startIperf2, type RunningIperf2 } from '../workload/generators/iperf2.ts';
import { mcastChecks, summariseMcast, type McastReadings, type McastTapAt } from './mcast-account.ts';
import { rawName, type TrialContext } from './run-trial.ts';
import { runTransfer, TransferAborted } from './transfer.ts';

const monotonicNs = () => Number(process.hrtime.bigint());

/** The trial's metrics from its readings (pure). */
export function mcastMetrics(r: McastReadings): TrialResult['metrics'] {
  const s = summariseMcast(r);
  const m = emptyMetrics();
  m.completion_ns = s.completionNs;
  m.transfer_sender_ns = s.senderNs;
  m.transfer_dnf = s.dnf ? 1 : 0;
  m.offered_pps = s.senderNs ? s.senderFrames / (s.senderNs / 1e9) : null;
  m.mcast_read_delivered_min = s.readDeliveredMin;
  m.mcast_sender_errors = s.writeErrors;
  m.mcast_sender_blocked = s.blocked ? 1 : 0;
  m.mcast_unread_recovered = s.unreadRecovered === null ? null : s.unreadRecovered ? 1 : 0;
  m.mcast_unread_charged = s.unreadCharged;
  return m;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(pid, sig); } catch { /* gone */ }
}

export async function runMcastTrial(planned: PlannedTrial, variant: ResolvedVariant, ctx: TrialContext): Promise<TrialResult> {
  const w = variant.workload;
  const g = w.generator;
  if (g.type !== 'mcast' || !w.transfer?.bytes) throw new UserError('a multicast trial needs generator mcast and workload.transfer.bytes');
  const c = w.consumer;
  if (c.type !== 'sink') throw new UserError('a multicast trial reads its taps with the sink (consumer.type: sink)');
  const count = w.tap.count ?? 1;
  const unread = new Set(w.unread ?? []);
  const base: TrialResult = {
    index: planned.index, variant: variant.name, repetition: planned.repetition, warmup: planned.warmup, overhead: planned.overhead,
    startedAt: new Date().toISOString(), status: 'failed', windowSeconds: 0, probeLevel: planned.probeLevel, probeBackend: null,
    metrics: emptyMetrics(), counters: null, crossCheck: [], consumer: null, rawProbeFile: null,
  };
  let lab: McastLab | null = null;
  const sinks: RunningSink[] = [];
  let sender: RunningIperf2 | null = null;
  let bpBefore: string | null = null;
  let owner: RunningOwnerTrace | null = null;
  const tearDown = async () => {
    for (const s of sinks) signal(s.pid, 'SIGCONT');
    await owner?.stop().catch(() => undefined);
    if (sender) { sender.stop(); await sender.done.catch(() => undefined); }
    for (const s of sinks) await s.stop().catch(() => undefined);
    await lab?.destroy().catch(() => undefined);
    if (bpBefore !== null) { try { writeFileSync(BACKPRESSURE_PARAM, bpBefore); } catch { /* module gone */ } }
  };
  const forget = onCleanup(`multicast trial ${planned.index} (${variant.name})`, tearDown);
  try {
    if (w.tap.backpressure !== undefined) bpBefore = setBackpressure(w.tap.backpressure);
    lab = await createMcastLab({ count, txQueueLen: w.tap.txQueueLen, mtu: w.tap.mtu, sender: g.sender });
    const L = lab;
    const cpu = c.cpu === 'auto' ? null : c.cpu === -1 ? null : c.cpu;
    for (const dev of L.taps) sinks.push(await startSink({ netns: L.netns, dev, queues: 1, options: c, cpu }));
    if (w.tap.backpressure !== undefined) sinks.forEach((s, i) => { base.backpressure = assertBackpressure(s.pid, L.taps[i]!, w.tap.backpressure!, 1); });
    await modprobeQdisc(w.tap.qdisc);
    let qdiscKind = 'unknown';
    for (const dev of L.taps) qdiscKind = (await setQdisc(L.netns, dev, w.tap.qdisc)).root.kind;
    // Carrier came up as each reader attached: let the bridge settle before the quiet reads.
    await sleep(100);
    const tapAt = async (i: number): Promise<McastTapAt> => {
      const dev = L.taps[i]!;
      const q = (await readQdisc(L.netns, dev)).root;
      const tun = readTunQueues(sinks[i]!.pid, dev);
      return { tNs: monotonicNs(), dev: await readDeviceCounters(L.netns, dev), qdisc: { sentPackets: q.sentPackets, drops: q.drops, backlogPackets: q.backlogPackets, requeues: q.requeues }, ...(tun ? { tun } : {}) };
    };
    const allAt = async () => Promise.all(L.taps.map((_, i) => tapAt(i)));
    const senderAt = () => readDeviceCounters(L.netns, L.senderDev);
    // The quiet instant: the set-up's last frames (MLD reports; late under TCG) have passed
    // when two reads 100 ms apart agree on every count (readers, taps, sender), up to 5 s.
    const quietRead = async () => {
      const readers = await Promise.all(sinks.map(async (s) => (await s.snapshot()).packets));
      const taps = await allAt();
      return { readers, taps, sender: await senderAt() };
    };
    const key = (q: Awaited<ReturnType<typeof quietRead>>) => JSON.stringify([q.readers, q.taps.map((t) => [t.dev, t.qdisc.sentPackets, t.qdisc.drops]), q.sender]);
    let q0 = await quietRead();
    for (let i = 0; i < 50; i++) {
      await sleep(100);
      const q1 = await quietRead();
      const same = key(q1) === key(q0);
      q0 = q1;
      if (same) break;
    }
    const { readers: readerBefore, taps: before, sender: senderBefore } = q0;
    // Whose skbs each device gets, from before the burst to its end (bpftrace's start is outside the timing).
    const ownerDevices = [L.bridge, ...(L.senderPort ? [L.senderDev, L.senderPort] : []), ...L.taps];
    const ownerFile = `${rawName(planned, variant)}.mcast-owner.jsonl`;
    if (g.ownerTrace) owner = await startOwnerTrace({ devices: ownerDevices, rawFile: join(ctx.resultDir, 'raw', ownerFile), skbSk: ctx.caps.sampler?.offsets?.skb?.sk ?? null });
    // The unread taps: up, their queue attached, their reader stopped before anything is sent.
    let stoppedNs: number | null = null;
    for (const i of unread) signal(sinks[i]!.pid, 'SIGSTOP');
    if (unread.size) stoppedNs = monotonicNs();
    const readIdx = L.taps.map((_, i) => i).filter((i) => !unread.has(i));
    const failed = new Promise<string>((res) => {
      sinks.forEach((s, i) => void s.exited.then(() => res(`the reader of ${L.taps[i]} exited during the transfer`)));
    });
    let wchan: string[] | undefined;
    const transfer = await runTransfer({
      transfer: w.transfer,
      p: {
        startGenerator: async () => {
          sender = startIperf2({ netns: L.netns, dev: L.senderDev, options: g, bytes: w.transfer!.bytes! });
          return { exitedNs: sender.done.then((d) => d.exitedNs) };
        },
        readerPid: sinks[readIdx[0] ?? 0]!.pid,
        readerCount: async () => {
          let n = 0;
          for (const i of readIdx) n += (await readDeviceCounters(L.netns, L.taps[i]!)).tx_packets;
          return { tNs: monotonicNs(), packets: n };
        },
        failed,
        signal: ctx.signal,
      },
    }).catch((e: unknown) => {
      if (e instanceof TransferAborted) {
        if (e.interrupted) throw new UserError('interrupted');
        throw new Error(e.message);
      }
      throw e;
    });
    const s = sender as RunningIperf2 | null;
    if (!s) throw new Error('the sender did not start');
    if (transfer.senderDoneNs === null) {
      wchan = s.wchan();
      s.stop();
    }
    const done = await s.done;
    sender = null;
    if (transfer.senderDoneNs !== null && done.exitCode !== 0) throw new Error(`iperf 2 failed (exit ${done.exitCode}): ${done.output.trim().split('\n').slice(-3).join(' / ')}`);
    const end = await allAt();
    const senderEnd = await senderAt();
    const ownerCounts = owner ? await (owner as RunningOwnerTrace).stop() : null;
    owner = null;
    // Resume the unread readers, then let every queue drain.
    for (const i of unread) signal(sinks[i]!.pid, 'SIGCONT');
    const resumedNs = unread.size ? monotonicNs() : null;
    const t0 = Date.now();
    let last = -1;
    let stableSince = Date.now();
    let complete = false;
    while (Date.now() - t0 < 3000) {
      const n = (await Promise.all(sinks.map((x) => x.snapshot()))).reduce((a, x) => a + x.packets, 0);
      if (n !== last) { last = n; stableSince = Date.now(); } else if (Date.now() - stableSince >= 200) { complete = true; break; }
      await sleep(50);
    }
    const drain = { complete, seconds: (Date.now() - t0) / 1000 };
    const after = await allAt();
    const senderAfter = await senderAt();
    const readerAfter = await Promise.all(sinks.map(async (x) => (await x.snapshot()).packets));
    const readings: McastReadings = {
      group: g.group,
      qdiscKind,
      sender: { quietBefore: senderBefore, transferEnd: senderEnd, quietAfter: senderAfter, command: s.command, exitCode: done.exitCode, report: parseIperf2(done.output), ...(wchan ? { wchanAtDeadline: wchan } : {}), output: done.output.slice(-4000) },
      transfer,
      unreadStoppedNs: stoppedNs,
      unreadResumedNs: resumedNs,
      drain,
      ...(ownerCounts ? { owner: { ...ownerCounts, bridge: L.bridge, senderDev: L.senderDev, senderPort: L.senderPort, rawFile: join('raw', ownerFile) } } : {}),
      taps: L.taps.map((name, i) => ({ index: i, name, unread: unread.has(i), reader: { quietBefore: readerBefore[i]!, quietAfter: readerAfter[i]! }, quietBefore: before[i]!, transferEnd: end[i]!, quietAfter: after[i]! })),
    };
    base.multicast = readings;
    base.windowSeconds = ((transfer.senderDoneNs ?? monotonicNs()) - transfer.startNs) / 1e9;
    base.metrics = mcastMetrics(readings);
    base.crossCheck = mcastChecks(readings);
    if (!drain.complete) throw new Error(`the queues did not drain within ${drain.seconds.toFixed(1)} s after the transfer`);
    base.status = 'ok';
    return base;
  } catch (e) {
    base.error = e instanceof Error ? e.message : String(e);
    if (e instanceof UserError) throw Object.assign(e, { trial: base });
    return base;
  } finally {
    await tearDown();
    forget();
  }
}

