// Flows through the wire on the real kernel (issue 13): a lab namespace with the tap under test,
// a peer namespace with the peer tap, tunbench-wire between them, iperf3's server in the peer
// and its client in the lab. Checks: the qdisc is set and read back for each choice (or refused
// with the fix when the kernel lacks it), TCP with 1 and 8 streams and UDP deliver with their
// figures consistent with the lab tap's counters, and a trafgen flood into a 16-packet queue
// closes its sent/lost accounts exactly.
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { UserError } from '../../src/errors.ts';
import { counterDelta, readDeviceCounters } from '../../src/lab/counters.ts';
import { createLab, type Lab } from '../../src/lab/lab.ts';
import { QDISC_KINDS, readQdisc, setQdisc, startQdiscSampler, supportedQdiscs } from '../../src/lab/qdisc.ts';
import { createWirePeer, startWire, wireBinaryPath, type RunningWire, type WirePeer } from '../../src/workload/consumers/wire.ts';
import { requireIperf3, runIperf3, startIperf3Server, type Iperf3Options, type RunningIperf3Server } from '../../src/workload/generators/iperf3.ts';
import { parseTrafgenSummary, trafgenConfig } from '../../src/workload/generators/trafgen.ts';
import { TCP_FRAME_OVERHEAD, tmp, UDP_FRAME_OVERHEAD } from '../helpers/cli.ts';
import { crossChecks, tapAccounts } from '../../src/trial/metrics.ts';
import { readings, type At } from '../helpers/readings.ts';


interface Rig {
  lab: Lab;
  peer: WirePeer;
  wire: RunningWire;
  server: RunningIperf3Server | null;
  destroy(): Promise<void>;
}

const rigs: Rig[] = [];
after(async () => {
  for (const r of rigs.splice(0)) await r.destroy();
});

/** Why this file cannot run here, or null. */
async function missing(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'needs root (namespaces, taps)';
  if (!existsSync(wireBinaryPath())) return `the wire is not built (${wireBinaryPath()}): make -C sink`;
  try {
    await requireIperf3();
  } catch (e) {
    return (e as Error).message;
  }
  // trafgen exits 1 even for --version: present means it ran and printed its banner.
  if (!/trafgen/i.test((await execa('trafgen', ['--version'], { reject: false, all: true })).all ?? '')) return 'trafgen missing (apt-get install netsniff-ng)';
  return null;
}
let why: string | null = null;
before(async () => {
  why = await missing();
});

/** Lab + peer + wire (+ iperf3 server); everything goes when the rig is destroyed, whatever happens. */
async function rig(txQueueLen: number, withServer: boolean): Promise<Rig> {
  const lab = await createLab({ txQueueLen, mtu: 1500, queues: 1 });
  let peer: WirePeer | null = null;
  let wire: RunningWire | null = null;
  let server: RunningIperf3Server | null = null;
  const destroy = async () => {
    await server?.stop().catch(() => undefined);
    await wire?.stop().catch(() => undefined);
    await peer?.destroy();
    await lab.destroy();
  };
  try {
    peer = await createWirePeer({ labNetns: lab.netns, labTap: lab.tap, mtu: 1500 });
    wire = await startWire({ netns: lab.netns, dev: lab.tap, peer, cpu: 1 });
    if (withServer) server = await startIperf3Server({ netns: peer.netns, bind: peer.peerAddress });
  } catch (e) {
    await destroy();
    throw e;
  }
  const r = { lab, peer, wire, server, destroy };
  rigs.push(r);
  return r;
}

test('the qdisc is set and read back for each choice; a kind the kernel lacks is refused with the fix', async (t) => {
  if (why) return t.skip(why);
  const r = await rig(1000, false);
  const support = await supportedQdiscs();
  for (const kind of QDISC_KINDS) {
    if (support.get(kind) === null) {
      const s = await setQdisc(r.lab.netns, r.lab.tap, kind);
      const back = await readQdisc(r.lab.netns, r.lab.tap);
      assert.equal(back.root.kind, s.root.kind);
      if (kind === 'default') assert.equal(back.root.kind, 'pfifo_fast', 'a fresh single-queue tap gets pfifo_fast (net.core.default_qdisc here)');
      else assert.equal(back.root.kind, kind);
    } else {
      t.diagnostic(`${kind}: not in this kernel (${support.get(kind)}), checking the refusal`);
      await assert.rejects(setQdisc(r.lab.netns, r.lab.tap, kind), (e: unknown) => e instanceof UserError && new RegExp(`cannot attach qdisc '${kind}'.*CONFIG_NET_SCH_`).test(e.message) && /modprobe sch_/.test(e.hint ?? ''));
    }
  }
  // The wire still forwards after the qdisc changes: ARP and a TCP handshake cross it below.
});

async function flow(r: Rig, options: Iperf3Options) {
  const c0 = await readDeviceCounters(r.lab.netns, r.lab.tap);
  const w0 = await r.wire.snapshot();
  const sampler = await startQdiscSampler(r.lab.netns, r.lab.tap, 100);
  const report = await runIperf3({ netns: r.lab.netns, server: r.peer.peerAddress, options });
  const series = await sampler.stop();
  await sleep(200); // the last frames leave the queue
  const tap = counterDelta(c0, await readDeviceCounters(r.lab.netns, r.lab.tap));
  const w1 = await r.wire.snapshot();
  return { report, tap, wire: w1.packets - w0.packets, series };
}

for (const streams of [1, 8]) {
  test(`TCP, ${streams} stream(s), 3 s through the wire: goodput > 0, retransmits reported, payload consistent with the lab tap's tx_bytes`, async (t) => {
    if (why) return t.skip(why);
    const r = await rig(1000, true);
    const { report, tap, wire, series } = await flow(r, { protocol: 'tcp', streams, duration: 3 });
    const payload = tap.tx_bytes - TCP_FRAME_OVERHEAD * tap.tx_packets;
    t.diagnostic(`goodput ${(report.goodputBps / 1e9).toFixed(3)} Gbit/s, retransmits ${report.retransmits}, tap tx ${tap.tx_packets} frames ${tap.tx_bytes} B (payload ${payload}), received ${report.receivedBytes} B, tx_dropped ${tap.tx_dropped}, qdisc samples ${series.samples.length} backlog mean ${series.backlogMeanPackets}`);
    assert.equal(report.streams, streams);
    assert.ok(report.goodputBps > 0);
    assert.equal(typeof report.retransmits, 'number');
    assert.equal(wire, tap.tx_packets, 'the wire read every frame the lab tap delivered');
    // Every byte the server received crossed the lab tap once; on top of that the tap carried
    // the control connection and any segment delivered twice (a retransmit of a segment that
    // was not lost). Tolerance: received <= payload <= received x 1.02 + 64 KiB
    // (measured: +0.1% with 1 stream, +0.2% with 8).
    assert.ok(payload >= report.receivedBytes, `payload ${payload} >= received ${report.receivedBytes}`);
    assert.ok(payload <= report.receivedBytes * 1.02 + 65536, `payload ${payload} within 2% of received ${report.receivedBytes}`);
    assert.ok(series.samples.length >= 20, `qdisc sampled during the flow: ${series.samples.length}`);
  });
}

test('UDP at 500 Mbit/s, 3 s: lost ratio reported, datagrams consistent with the lab tap\'s frames', async (t) => {
  if (why) return t.skip(why);
  const r = await rig(1000, true);
  const { report, tap } = await flow(r, { protocol: 'udp', streams: 1, duration: 3, bitrate: 500e6, length: 1400 });
  const udp = report.udp!;
  t.diagnostic(`sent ${udp.sentPackets} datagrams, lost ${udp.lostPackets} (${(udp.lostRatio * 100).toFixed(2)}%), jitter ${udp.jitterMs.toFixed(4)} ms, goodput ${(report.goodputBps / 1e6).toFixed(1)} Mbit/s; tap tx ${tap.tx_packets} frames, tx_dropped ${tap.tx_dropped}`);
  assert.ok(udp.sentPackets > 0);
  assert.ok(udp.lostRatio >= 0 && udp.lostRatio <= 1);
  assert.ok(report.goodputBps > 0);
  // The tap delivered at least every datagram the server got and at most every datagram sent,
  // plus the control connection's few frames.
  assert.ok(tap.tx_packets >= udp.sentPackets - udp.lostPackets, `tap frames ${tap.tx_packets} >= received datagrams ${udp.sentPackets - udp.lostPackets}`);
  assert.ok(tap.tx_packets <= udp.sentPackets + 200, `tap frames ${tap.tx_packets} <= sent ${udp.sentPackets} + control`);
  // Bytes: each delivered datagram is a 1442-byte frame; the control connection adds a few KiB.
  const datagramBytes = tap.tx_bytes - (tap.tx_packets - Math.min(tap.tx_packets, udp.sentPackets)) * 1514;
  assert.ok(tap.tx_bytes >= (udp.sentPackets - udp.lostPackets) * (1400 + UDP_FRAME_OVERHEAD), 'tx_bytes covers the received datagrams');
  assert.ok(datagramBytes <= udp.sentPackets * (1400 + UDP_FRAME_OVERHEAD) + 65536, 'and not much more');
});

/** trafgen --num N into the lab tap through the qdisc; returns its own count. */
async function trafgenNum(lab: Lab, n: number, cpus: number): Promise<number | null> {
  const dir = tmp('tunbench-wire-test');
  try {
    writeFileSync(join(dir, 'p.cfg'), trafgenConfig(64));
    const out = await execa('ip', ['netns', 'exec', lab.netns, 'trafgen', '--dev', lab.tap, '--conf', join(dir, 'p.cfg'), '--cpus', String(cpus), '--notouch-irq', '--qdisc-path', '--num', String(n)], { reject: false, all: true, timeout: 60_000 });
    return parseTrafgenSummary(out.all ?? '').packets;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Wait until the wire's count stops moving (the queue drained). */
async function drained(w: RunningWire): Promise<number> {
  let last = -1;
  for (;;) {
    const p = (await w.snapshot()).packets;
    if (p === last) return p;
    last = p;
    await sleep(100);
  }
}

for (const [kind, cpus] of [['pfifo_fast', 1], ['pfifo_fast', 2], ['noqueue', 1]] as const) {
  test(`sent/lost closes exactly: trafgen --num into tx_queue_len 16, qdisc ${kind}, ${cpus} generator CPU(s)`, async (t) => {
    if (why) return t.skip(why);
    const r = await rig(16, false);
    await setQdisc(r.lab.netns, r.lab.tap, kind);
    const N = 300_000;
    const q0 = (await readQdisc(r.lab.netns, r.lab.tap)).root;
    const c0 = await readDeviceCounters(r.lab.netns, r.lab.tap);
    const w0 = await drained(r.wire);
    const sent = await trafgenNum(r.lab, N, cpus);
    const w1 = await drained(r.wire);
    const q1 = (await readQdisc(r.lab.netns, r.lab.tap)).root;
    const c1 = await readDeviceCounters(r.lab.netns, r.lab.tap);
    // The accounting a trial uses (src/trial/metrics.ts), on readings made of these counts.
    const at = (c: typeof c0, q: typeof q0, consumer: number): At => ({ tx_packets: c.tx_packets, tx_dropped: c.tx_dropped, consumer, q });
    const before = at(c0, q0, w0);
    const after = at(c1, q1, w1);
    const rd = readings(q1.kind, { quietBefore: before, windowStart: before, windowEnd: after, quietAfter: after }, sent, 16);
    const a = tapAccounts(rd, 'quietBefore', 'quietAfter')!;
    const told = kind === 'noqueue' ? a.tunDrops : a.qdiscDrops;
    t.diagnostic(`N ${N}: sent ${a.sent} = delivered ${a.delivered} + qdisc drops ${a.qdiscDrops} + tun drops ${a.tunDrops} + queued ${a.queued} (from ${a.sentSource}); resent by trafgen ${told}; lost ${a.lost}`);
    assert.equal(sent, N, 'trafgen sent its N frames');
    assert.equal(a.delivered, w1 - w0, 'the wire read exactly what the tap delivered');
    assert.equal(a.sent, a.delivered + a.qdiscDrops + a.tunDrops + a.queued, 'qdisc, tun and the wire agree exactly');
    for (const c of crossChecks(rd)) assert.ok(c.ok, `${c.name}: ${c.probe} vs ${c.counter}`);
    assert.equal(a.queued, 0, 'nothing left queued');
    assert.ok(a.tunDrops > 0, 'the 16-packet ring overflowed');
    // trafgen's TX_RING resends every frame whose drop it was told about (qdisc drops; tun's
    // drops under noqueue), so its N frames are what was sent less those.
    assert.equal(a.sent - told, N);
    if (kind === 'noqueue') assert.equal(a.delivered, N, 'noqueue: every tun drop reached trafgen and was resent: nothing lost for good');
    else assert.equal(N, a.delivered + a.tunDrops + a.queued, 'N = delivered + tun drops + queued; the qdisc drops were resent');
    if (kind === 'pfifo_fast' && cpus === 1) assert.equal(a.qdiscDrops, 0, 'one CPU: no qdisc drops');
  });
}

test('the wire refuses a missing peer namespace or peer tap with a clean error (and creates no tap)', async (t) => {
  if (why) return t.skip(why);
  const r = await rig(64, false);
  await r.wire.stop(); // a single-queue tap takes one reader: free it for the attempts below
  await assert.rejects(startWire({ netns: r.lab.netns, dev: r.lab.tap, peer: { netns: 'tunbench-1-999999', tap: r.peer.tap }, cpu: null }), (e: unknown) => e instanceof UserError && /\/run\/netns\/tunbench-1-999999: No such file/.test(e.message));
  await assert.rejects(startWire({ netns: r.lab.netns, dev: r.lab.tap, peer: { netns: r.peer.netns, tap: 'tbnothere' }, cpu: null }), (e: unknown) => e instanceof UserError && /no device tbnothere in this namespace/.test(e.message));
  const links = await execa('ip', ['-n', r.peer.netns, '-o', 'link', 'show'], { reject: false });
  assert.ok(!links.stdout.includes('tbnothere'), 'no tap was created by the refused attach');
});
