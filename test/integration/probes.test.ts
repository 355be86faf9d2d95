// The probes on a real tap of a real lab (namespace + tap made by src/lab), the C sink as the
// reader, trafgen as the generator, on the host's kernel (tracepoints only on the CI machine:
// no kprobes, no fentry). The counters level reads the queue itself; these tests check that
// what it reads is the queue's real state: it reaches full under a slow reader exactly when
// the drops start, the queue's own producer lock is contended when two CPUs produce at once,
// and every count equals the kernel's. Needs root, bpftrace, bpftool, trafgen, the sink.
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { execa } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../src/errors.ts';
import { readDeviceCounters } from '../../src/lab/counters.ts';
import { createLab } from '../../src/lab/lab.ts';
import { detectProbeBackends } from '../../src/probes/backends.ts';
import { readTunOffsets } from '../../src/probes/btf-offsets.ts';
import { readDropReasons } from '../../src/probes/drop-reasons.ts';
import { handshakeBinaryPath } from '../../src/probes/handshake.ts';
import { startProbes, type StartProbesOptions } from '../../src/probes/start.ts';
import { sinkBinaryPath, startSink } from '../../src/workload/consumers/sink.ts';
import { startTrafgen } from '../../src/workload/generators/trafgen.ts';
import { tmp } from '../helpers/cli.ts';

const dir = tmp('tbprobe');
after(() => rmSync(dir, { recursive: true, force: true }));

const missing = (() => {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!existsSync(sinkBinaryPath()) || !existsSync(handshakeBinaryPath())) return 'sink/ not built (make -C sink)';
  for (const tool of ['/usr/bin/bpftrace', '/usr/sbin/trafgen', '/usr/sbin/bpftool']) if (!existsSync(tool)) return `${tool} missing`;
  return null;
})();

async function options(o: { tapName: string; consumerPid: number; capacity: number; raw: string; sampleMs?: number; level?: 'counters' | 'full'; locks?: boolean }): Promise<StartProbesOptions> {
  const offsets = await readTunOffsets();
  if (typeof offsets === 'string') throw new Error(offsets);
  return {
    level: o.level ?? 'counters',
    backend: o.level === 'full' ? 'tracepoint' : null,
    target: { tapName: o.tapName, consumerPid: o.consumerPid, capacity: o.capacity, queues: 1 },
    sampleIntervalMs: o.sampleMs ?? 5,
    locks: o.locks ?? o.level === 'full',
    dropReasons: readDropReasons(),
    offsets,
    rawFile: join(dir, o.raw),
  };
}

test('a slow reader: the sampled ring fills up, and the drops start when it is full', { timeout: 90_000 }, async (t) => {
  if (missing) return t.skip(missing);
  const QLEN = 16384;
  const lab = await createLab({ txQueueLen: QLEN, mtu: 1500, queues: 1 });
  try {
    // The reader takes ~20 us a packet (50 kpps); the generator offers 70 kpps, so the ring
    // fills by about 20 packets a millisecond. trafgen starts with a burst of a few thousand
    // packets (seen here: 0 -> 3761 within one 5 ms tick), so the ring is large enough that
    // the burst fills a quarter of it and the rest takes ~600 ms, over a hundred ticks.
    const sink = await startSink({ netns: lab.netns, dev: lab.tap, queues: 1, cpu: 1, options: { type: 'sink', mode: 'blocking', batch: 1, delayNs: 20_000, cpu: 1 } });
    // The drops' time series is the full level's (the counters level runs nothing per drop).
    const probes = await startProbes(await options({ tapName: lab.tap, consumerPid: sink.pid, capacity: QLEN, raw: 'slow.jsonl', level: 'full' }));
    const c0 = await readDeviceCounters(lab.netns, lab.tap);
    const s0 = (await sink.snapshot()).packets;
    await probes.markWindowStart();
    const gen = await startTrafgen({ netns: lab.netns, dev: lab.tap, options: { type: 'trafgen', packetSize: 64, rate: 70_000, cpus: 1, qdisc: true } });
    await sleep(2000);
    const g = await gen.stop();
    await sleep(QLEN * 40 / 1000 + 300); // the reader empties the ring (20 us a packet, plus the full level's per-packet programs)
    await probes.markWindowEnd();
    const c1 = await readDeviceCounters(lab.netns, lab.tap);
    const s1 = (await sink.snapshot()).packets;
    const w = await probes.stop();
    await sink.stop();
    const occ = w.occupancySeries.values;
    const full = w.fullSeries!;
    const drops = w.series.drops; // drops[i]: between tick i and tick i + 1
    const firstFull = full.findIndex((f) => f > 0);
    // A ring refuses packets a little before producer - consumer_head reaches its size (consumed
    // slots are zeroed in batches), and the reader takes a few between a drop and the next tick.
    const nearFull = (n: number | undefined) => (n ?? 0) >= QLEN - 64;
    const firstNearFull = occ.findIndex(nearFull);
    const firstDrop = drops.findIndex((d) => d > 0);
    t.diagnostic(`series ${occ.slice(0, 60).join(' ')}`);
    t.diagnostic(`occupancy max ${Math.max(...occ)} of ${QLEN}; first full tick ${firstFull}, first drop interval ${firstDrop}; occupancy before it ${occ.slice(Math.max(0, firstDrop - 4), firstDrop + 2).join(' ')}; drops ${w.dropsTotal}, tx_dropped ${c1.tx_dropped - c0.tx_dropped}`);
    assert.equal(occ[0], 0, 'empty before traffic');
    assert.ok(Math.max(...occ) >= QLEN - 64, 'the ring reaches (nearly) its size: consumed slots are zeroed in batches, so __ptr_ring_full fires a little early');
    assert.ok(Math.max(...occ) <= QLEN, 'and never more than its size');
    assert.ok(firstFull >= 0 && firstDrop >= 0, 'the ring was full and packets were dropped');
    assert.ok(firstDrop >= firstNearFull - 1, `no drop before the ring is (nearly) full (first drop in interval ${firstDrop}, first within 64 of full at tick ${firstNearFull})`);
    assert.ok(full[firstDrop] === 1 || full[firstDrop + 1] === 1 || nearFull(occ[firstDrop]) || nearFull(occ[firstDrop + 1]), 'the ring is (nearly) full at one end of the interval in which drops start');
    assert.ok(occ.slice(0, firstFull).some((n) => n > 0 && n < QLEN - 64), 'the ring was seen filling, not only empty or full');
    assert.equal(occ[occ.length - 1], 0, 'empty again after the drain');
    assert.equal(w.totals.drops, c1.tx_dropped - c0.tx_dropped, 'drops at tun_net_xmit (kfree_skb located there) == tx_dropped');
    assert.equal(w.drops.FULL_RING, w.dropsTotal, 'all of them FULL_RING');
    assert.equal(c1.tx_packets - c0.tx_packets, s1 - s0, 'tx_packets (counted when the reader copies) == the reader\'s count');
    assert.equal(g.packetsSent, c1.tx_packets - c0.tx_packets + c1.tx_dropped - c0.tx_dropped, 'every packet trafgen sent was read or dropped');
    assert.equal(w.queuesFound, 1);
    assert.equal(w.lock!.read.count, 0, 'one reader: nobody else takes the consumer lock');
    assert.ok(w.bpf === null || w.bpf.programs >= 4, 'the BPF run-time statistics cover the sampler\'s programs');
  } finally {
    await lab.destroy();
  }
});

test('a flood with drops at the counters level: no program on any per-packet, per-drop or syscall tracepoint, and every count closes', { timeout: 60_000 }, async (t) => {
  if (missing) return t.skip(missing);
  const lab = await createLab({ txQueueLen: 64, mtu: 1500, queues: 1 });
  try {
    const sink = await startSink({ netns: lab.netns, dev: lab.tap, queues: 1, cpu: 1, options: { type: 'sink', mode: 'blocking', batch: 1, delayNs: 0, cpu: 1 } });
    const probes = await startProbes(await options({ tapName: lab.tap, consumerPid: sink.pid, capacity: 64, raw: 'attached.jsonl', sampleMs: 10 }));
    const c0 = await readDeviceCounters(lab.netns, lab.tap);
    const s0 = (await sink.snapshot()).packets;
    await probes.markWindowStart();
    const gen = await startTrafgen({ netns: lab.netns, dev: lab.tap, options: { type: 'trafgen', packetSize: 64, rate: 0, cpus: 1, qdisc: true } });
    await sleep(800);
    // What bpftrace holds attached right now, by the kernel's own account (bpf_task_fd_query):
    // tracepoints, kprobes and uprobes by name; the interval probe (a perf event) is not listed.
    const listed = JSON.parse((await execa('bpftool', ['perf', 'list', '-j'])).stdout) as { pid: number; fd_type: string; tracepoint?: string; func?: string; filename?: string }[];
    const mine = listed.filter((p) => p.pid === probes.pid);
    await sleep(500);
    const g = await gen.stop();
    await sleep(300);
    await probes.markWindowEnd();
    const c1 = await readDeviceCounters(lab.netns, lab.tap);
    const s1 = (await sink.snapshot()).packets;
    const w = await probes.stop();
    await sink.stop();
    t.diagnostic(`attached: ${JSON.stringify(mine)}; drops ${c1.tx_dropped - c0.tx_dropped} of ${g.packetsSent}`);
    const kernelSide = mine.filter((p) => p.fd_type !== 'uprobe').map((p) => `${p.fd_type}:${p.tracepoint ?? p.func ?? '?'}`).sort();
    assert.deepEqual(kernelSide, ['tracepoint:task_rename'], 'the counters level holds the handshake\'s task rename and nothing else in the kernel (lock contention is opt-in: probes.locks)');
    assert.ok(mine.filter((p) => p.fd_type === 'uprobe').every((p) => /bpftrace/.test(p.filename ?? '')), 'uprobes only on bpftrace itself (BEGIN/END)');
    assert.ok(c1.tx_dropped - c0.tx_dropped > 0, 'the flood dropped packets at the 64-packet ring');
    assert.equal(w.totals.drops, null, 'no drop count from a probe: tx_dropped is the count');
    assert.equal(w.lock, null, 'no lock figures without probes.locks');
    assert.equal(c1.tx_packets - c0.tx_packets, s1 - s0, 'tx_packets == the reader\'s count');
    assert.equal(g.packetsSent, c1.tx_packets - c0.tx_packets + c1.tx_dropped - c0.tx_dropped, 'every packet trafgen sent was read or dropped');
    assert.equal(w.queuesFound, 1, 'the handshake found the queue through the task rename');
    assert.ok(Math.max(...w.occupancySeries.values) > 0, 'and the sampler read it');
    // Stop/wake (issue 23): the same ticks read the tap's tx queue state from its net_device.
    // A stock tun never stops its queue: it drops at the full ring instead.
    assert.ok(w.txq, 'the sampler read the tx queue\'s state (BTF: net_device._tx, netdev_queue.state)');
    assert.equal(w.txq.queues.length, 1);
    assert.deepEqual([w.txq.everStopped, w.txq.queues[0]!.stoppedFraction, w.txq.queues[0]!.hang], [false, 0, null]);
    t.diagnostic(`tx queue: stopped fraction ${w.txq.queues[0]!.stoppedFraction}, held by the qdisc at the window's edges ${w.heldAtStart} / ${w.heldAtEnd}`);
  } finally {
    await lab.destroy();
  }
});

test('two generator CPUs bypassing the qdisc contend for the ring\'s producer lock; the one reader never waits', { timeout: 120_000 }, async (t) => {
  if (missing) return t.skip(missing);
  // Contention needs both generator threads inside tun_net_xmit at the same instant. The reader
  // is not pinned: a reader pinned to one of two CPUs starves the generator thread beside it
  // (measured: 3 k packets against 650 k on the other CPU). On a shared machine a neighbour can
  // still keep a thread off its CPU for a while, so up to three windows are measured, each in
  // a fresh lab, and the first that shows contention is judged.
  type Window = Awaited<ReturnType<Awaited<ReturnType<typeof startProbes>>['stop']>>;
  let w: Window | null = null;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const lab = await createLab({ txQueueLen: 1000, mtu: 1500, queues: 1 });
    try {
      const sink = await startSink({ netns: lab.netns, dev: lab.tap, queues: 1, cpu: null, options: { type: 'sink', mode: 'blocking', batch: 1, delayNs: 0, cpu: 'auto' } });
      const probes = await startProbes(await options({ tapName: lab.tap, consumerPid: sink.pid, capacity: 1000, raw: `locks-${attempt}.jsonl`, sampleMs: 10, locks: true }));
      // PACKET_QDISC_BYPASS: two CPUs call tun_net_xmit at once (tun is lockless, LLTX), so
      // they meet at ptr_ring's producer_lock; through a qdisc they would be serialised first.
      const gen = await startTrafgen({ netns: lab.netns, dev: lab.tap, options: { type: 'trafgen', packetSize: 64, rate: 0, cpus: 2, qdisc: false } });
      await probes.markWindowStart();
      await sleep(2000);
      await probes.markWindowEnd();
      const g = await gen.stop();
      w = await probes.stop();
      await sink.stop();
      t.diagnostic(`window ${attempt}: ${g.packetsSent} packets sent by two CPUs; producer_lock: ${w.lock!.xmit.count} contended acquisitions, ${(w.lock!.xmit.waitNs / 1e6).toFixed(2)} ms waiting in ${w.windowSeconds.toFixed(2)} s; consumer_lock: ${w.lock!.read.count}`);
    } finally {
      await lab.destroy();
    }
    assert.ok(w.lock, 'lock figures are measured with probes.locks');
    assert.equal(w.lock.read.count, 0, 'the consumer lock has a single taker (the reader): zero by construction');
    if (w.lock.xmit.count > 0) break;
  }
  if (w!.lock!.xmit.count === 0 && cpus().length < 3) {
    // lock:contention_begin fires for a queued spinlock waiter only (qspinlock.c, after `queue:`);
    // the one waiter two CPUs can have spins on the pending bit untraced unless paravirt
    // spinlocks send every waiter to the queue. Not seen here is not a probe fault.
    return t.skip(`no producer-lock contention traced in three windows on ${cpus().length} CPUs: without paravirt spinlocks a second CPU's wait takes qspinlock's pending path, which lock:contention_begin does not trace (it needs a third CPU); README "Lock contention"`);
  }
  assert.ok(w!.lock!.xmit.count > 0, 'the producer lock is contended (in one of three windows)');
  assert.ok(w!.lock!.xmit.waitNs > 0);
  assert.ok(w!.lock!.xmit.waitHist.buckets.length > 0);
});

test('the full level: per-packet counts equal the kernel\'s, latency histogram from real packets', { timeout: 60_000 }, async (t) => {
  if (missing) return t.skip(missing);
  const lab = await createLab({ txQueueLen: 256, mtu: 1500, queues: 1 });
  try {
    const sink = await startSink({ netns: lab.netns, dev: lab.tap, queues: 1, cpu: 1, options: { type: 'sink', mode: 'blocking', batch: 1, delayNs: 0, cpu: 1 } });
    const probes = await startProbes(await options({ tapName: lab.tap, consumerPid: sink.pid, capacity: 256, raw: 'full.jsonl', level: 'full' }));
    const c0 = await readDeviceCounters(lab.netns, lab.tap);
    await probes.markWindowStart();
    const gen = await startTrafgen({ netns: lab.netns, dev: lab.tap, options: { type: 'trafgen', packetSize: 64, rate: 0, cpus: 1, qdisc: true } });
    await sleep(1200); // histograms are printed every 10th tick
    await gen.stop();
    await sleep(300);
    await probes.markWindowEnd();
    const c1 = await readDeviceCounters(lab.netns, lab.tap);
    const w = await probes.stop();
    await sink.stop();
    const lat = w.latencyNs?.buckets.reduce((s, b) => s + b.count, 0) ?? 0;
    t.diagnostic(`full: xmit ${w.totals.xmit} reads ${w.totals.reads} drops ${w.totals.drops}; tap ${c1.tx_packets - c0.tx_packets} + ${c1.tx_dropped - c0.tx_dropped}; latency samples ${lat}`);
    assert.equal(w.totals.xmit, c1.tx_packets - c0.tx_packets + c1.tx_dropped - c0.tx_dropped, 'every packet entering tun_net_xmit was read or dropped');
    assert.equal(w.totals.reads, c1.tx_packets - c0.tx_packets);
    assert.ok(lat > 0 && lat <= w.totals.reads!, `latency samples ${lat} vs reads ${w.totals.reads}`);
    assert.ok((w.occupancyAtEnqueue?.buckets.length ?? 0) > 0);
  } finally {
    await lab.destroy();
  }
});

test('a reader that holds no queue of the tap, and a failing bpftrace, give clean UserErrors', { timeout: 30_000 }, async (t) => {
  if (missing) return t.skip(missing);
  const lab = await createLab({ txQueueLen: 64, mtu: 1500, queues: 1 });
  try {
    const base = await options({ tapName: lab.tap, consumerPid: process.pid, capacity: 64, raw: 'bad.jsonl' });
    await assert.rejects(startProbes(base), (e: unknown) => e instanceof UserError && /could not find the tap's queues/.test(e.message) && /holds no queue/.test(e.message));
    await assert.rejects(startProbes({ ...base, bpftrace: '/bin/false' }), (e: unknown) => e instanceof UserError && /could not attach/.test(e.message));
  } finally {
    await lab.destroy();
  }
});

test('detectProbeBackends: the tracepoint attach point attaches; kprobe/fentry say why not where absent', { timeout: 60_000 }, async (t) => {
  if (missing) return t.skip(missing);
  const b = await detectProbeBackends();
  t.diagnostic(JSON.stringify(b));
  assert.equal(b.tracepoint.available, true, b.tracepoint.reason);
  for (const k of ['kprobe', 'fentry'] as const) if (!b[k].available) assert.match(b[k].reason, /bpftrace: /);
});
