// Sent/lost accounting and drop attribution on kernels that stop the tap's queue (issue 23):
// readings shaped as tunbench saves them, with the figures kernel/test/tunbp.c printed in the
// TCG VM on tunbench's backpressure kernel (patch 0002), a stall (nobody reads) then a drain:
//   FIGURES tunbp fq_codel on: sent 200 delivered 200 qdisc_drops 0 tun_drops 0 stopped_drops 0
//     backlog_stall 168 ring_stall 32 requeues 1 qdisc_held_stall 1 stopped_stall 1 stops 6 wakes 6
//   FIGURES tunbp pfifo_fast on: sent 200 delivered 65 qdisc_drops 135 tun_drops 0 backlog_stall 33
//     ring_stall 32 requeues 1 qdisc_held_stall 1 stops 2 wakes 2 enobufs 135
//   FIGURES tunbp noqueue on: sent 200 delivered 32 tun_drops 0 stopped_drops 168 enetdown 168
//   FIGURES tunbp noqueue off: sent 200 delivered 32 tun_drops 168 stopped_drops 0 enobufs 168
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTcQdiscJson } from '../../src/lab/qdisc.ts';
import { checkBackpressure, parseNetDevTxDropped, parseTunFdinfo, sumTunQueues } from '../../src/lab/tun-fdinfo.ts';
import { crossChecks, deriveMetrics, dropsByPlace, qdiscDropsToldToSender, tapAccounts } from '../../src/trial/metrics.ts';
import { stopWake } from '../../src/probes/stop-wake.ts';
import type { TrialReadings } from '../../src/types.ts';
import { readings, type At } from '../helpers/readings.ts';

const zero: At = { tx_packets: 0, tx_dropped: 0, consumer: 0, q: {}, tun: { tunDrops: 0, stops: 0, wakes: 0, stopped: 0 } };

test('fq_codel on a backpressure kernel: the requeued packet is counted twice by the qdisc until it leaves; the drained span closes exactly', () => {
  // The VM's tunbp fq_codel on: 200 frames, ring 32 full, queue stopped, 1 requeued, 168 in the
  // qdisc's backlog (the requeued one included) and 33 in its "sent" (the requeued one included).
  const stall: At = { tx_packets: 0, tx_dropped: 0, consumer: 0, q: { sentPackets: 33, backlogPackets: 168, requeues: 1 }, tun: { tunDrops: 0, stops: 1, wakes: 0, stopped: 1 } };
  const end: At = { tx_packets: 200, tx_dropped: 0, consumer: 200, q: { sentPackets: 200, backlogPackets: 0, requeues: 1 }, tun: { tunDrops: 0, stops: 6, wakes: 6, stopped: 0 } };
  const r = readings('fq_codel', { quietBefore: zero, windowStart: zero, windowEnd: stall, quietAfter: end }, 200);
  // Over the window, ring +32: without the held packet the qdisc's count is over by exactly one,
  // and the sum no longer closes: the residual is the held packet ...
  const naive = tapAccounts(r, 'windowStart', 'windowEnd', 32)!;
  assert.equal(naive.sent, 201);
  assert.equal(naive.sent - (naive.delivered + naive.qdiscDrops + naive.tunDrops + naive.queued), 1, 'the requeued packet, in the qdisc\'s sent and in its backlog');
  // ... and exact once the held (requeued) packet is known.
  const held = tapAccounts(r, 'windowStart', 'windowEnd', 32, 1)!;
  assert.equal(held.sent, 200);
  assert.equal(held.queued, 168 + 32 - 1);
  // The quiet span (drained: nothing held) closes exactly, and the generator's check with it.
  const q = tapAccounts(r, 'quietBefore', 'quietAfter')!;
  assert.deepEqual([q.sent, q.delivered, q.qdiscDrops, q.tunDrops, q.queued], [200, 200, 0, 0, 0]);
  for (const c of crossChecks(r)) assert.ok(c.ok, c.name);
  assert.deepEqual(q.drops, { qdiscLimit: null, qdiscAqm: null, tun: 0, stoppedQueue: 0, unattributed: 0, source: 'fdinfo' });
  const m = deriveMetrics(r);
  assert.equal(m.tun_drop_pps, 0);
  assert.equal(m.txq_stops, 1);
});

test('fq_codel drops (CoDel at dequeue) reach no sender: the generator check no longer adds them (the issue\'s 147,135 vs 147,132)', () => {
  assert.equal(qdiscDropsToldToSender('fq_codel'), false);
  assert.equal(qdiscDropsToldToSender('pfifo_fast'), true);
  assert.equal(qdiscDropsToldToSender('fq'), true);
  const before: At = { ...zero, q: { dropsOverlimit: 0 } };
  const after: At = { tx_packets: 147_129, tx_dropped: 0, consumer: 147_129, q: { sentPackets: 147_129, drops: 3, dropsOverlimit: 0 }, tun: { tunDrops: 0, stops: 4_100, wakes: 4_100, stopped: 0 } };
  const r = readings('fq_codel', { quietBefore: before, windowStart: before, windowEnd: after, quietAfter: after }, 147_132);
  const gen = crossChecks(r).find((c) => /generator's count/.test(c.name))!;
  assert.deepEqual([gen.probe, gen.counter, gen.ok], [147_132, 147_132, true], gen.name);
  const d = dropsByPlace(r, { from: 'quietBefore', to: 'quietAfter' });
  assert.deepEqual([d.qdiscLimit, d.qdiscAqm, d.tun, d.stoppedQueue], [0, 3, 0, 0]);
  const m = deriveMetrics(r);
  assert.equal(m.qdisc_aqm_drop_pps, 1.5);
});

test('noqueue on a backpressure kernel: the core\'s drops at the stopped queue are told apart from tun\'s in one tx_dropped', () => {
  // The VM's tunbp noqueue on: ring 32, then 168 frames met the stopped queue (ENETDOWN).
  const end: At = { tx_packets: 32, tx_dropped: 168, consumer: 32, q: {}, tun: { tunDrops: 0, stops: 1, wakes: 1, stopped: 0 } };
  const r = readings('noqueue', { quietBefore: zero, windowStart: zero, windowEnd: end, quietAfter: end });
  const a = tapAccounts(r, 'quietBefore', 'quietAfter')!;
  assert.equal(a.sentSource, 'tap');
  assert.equal(a.sent, 200);
  assert.deepEqual(a.drops, { qdiscLimit: null, qdiscAqm: null, tun: 0, stoppedQueue: 168, unattributed: 0, source: 'fdinfo' });
  const m = deriveMetrics(r);
  assert.equal(m.stopped_queue_drop_pps, 84);
  assert.equal(m.tun_drop_pps, 0);
  // The stock behaviour (backpressure off): every tx_dropped is tun's full ring.
  const stock = readings('noqueue', { quietBefore: zero, windowStart: zero, windowEnd: { ...end, tun: { tunDrops: 168, stops: 0, wakes: 0, stopped: 0 } }, quietAfter: { ...end, tun: { tunDrops: 168, stops: 0, wakes: 0, stopped: 0 } } });
  assert.deepEqual(dropsByPlace(stock, { from: 'quietBefore', to: 'quietAfter' }), { qdiscLimit: null, qdiscAqm: null, tun: 168, stoppedQueue: 0, unattributed: 0, source: 'fdinfo' });
  // Without patch 0002's counts and with no stop/wake samples, tx_dropped is not split.
  const { tunQueues, ...bare } = r;
  assert.ok(tunQueues);
  const u = dropsByPlace(bare, { from: 'quietBefore', to: 'quietAfter' });
  assert.deepEqual([u.tun, u.stoppedQueue, u.unattributed, u.source], [null, null, 168, 'none']);
  // With samples that never saw a stop, tx_dropped is tun's (nothing else adds to it then).
  const never = { ...bare, probe: { txq: stopWake([0, 1e9, 2e9], [[0], [0], [0]]) } as unknown as TrialReadings['probe'] };
  assert.deepEqual(dropsByPlace(never, { from: 'quietBefore', to: 'quietAfter' }).tun, 168);
});

test('pfifo_fast on a backpressure kernel: its drops at its limit, one packet requeued and held at the stall', () => {
  // ring 32; pfifo_fast's band holds tx_queue_len (32) + the requeued one; the other 135 dropped (ENOBUFS).
  const stall: At = { tx_packets: 0, tx_dropped: 0, consumer: 0, q: { sentPackets: 33, drops: 135, backlogPackets: 33, requeues: 1 }, tun: { tunDrops: 0, stops: 1, wakes: 0, stopped: 1 } };
  const end: At = { tx_packets: 65, tx_dropped: 0, consumer: 65, q: { sentPackets: 65, drops: 135, backlogPackets: 0, requeues: 1 }, tun: { tunDrops: 0, stops: 2, wakes: 2, stopped: 0 } };
  const r = readings('pfifo_fast', { quietBefore: zero, windowStart: zero, windowEnd: stall, quietAfter: end }, 65);
  assert.equal(tapAccounts(r, 'windowStart', 'windowEnd', 32, 1)!.sent, 200);
  const q = tapAccounts(r, 'quietBefore', 'quietAfter')!;
  assert.equal(q.sent, 200);
  assert.equal(q.drops.qdiscLimit, 135);
  for (const c of crossChecks(r)) assert.ok(c.ok, `${c.name}: ${c.probe} vs ${c.counter}`);
});

test('stop/wake from the sampler\'s ticks: fraction stopped, longest stop, a hang and its time', () => {
  const t = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((ms) => ms * 1e6);
  // queue 0: stopped 10..30 and 60..end (still stopped after the drain: a hang since 60 ms);
  // queue 1: never stopped.
  const s0 = [0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1];
  const sw = stopWake(t, s0.map((x) => [x, 0]), [true, false]);
  assert.equal(sw.everStopped, true);
  const [q0, q1] = sw.queues;
  assert.deepEqual(q0, { stoppedFraction: 0.6, longestStopNs: 40e6, stops: 2, wakes: 1, hang: { sinceNs: 60e6, forNs: 40e6 } });
  assert.deepEqual(q1, { stoppedFraction: 0, longestStopNs: 0, stops: 0, wakes: 0, hang: null });
  // Woken after the drain: a long stop, not a hang.
  assert.equal(stopWake(t, s0.map((x) => [x]), [false]).queues[0]!.hang, null);
  assert.throws(() => stopWake([0, 1], [[0]]), /2 tick times for 1 samples/);
});

test('tun fdinfo of patch 0002: parsed, summed over the lab tap\'s queues, absent elsewhere', () => {
  const text = 'pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1047\niff:\ttb0\nqueue:\tring\nbackpressure:\t1\ntxq_stopped:\t1\nbp_stops:\t11\nbp_wakes:\t10\ntun_drops:\t0\n';
  const f = parseTunFdinfo(text)!;
  assert.deepEqual(f, { iff: 'tb0', backpressure: true, txqStopped: 1, stops: 11, wakes: 10, tunDrops: 0 });
  assert.equal(parseTunFdinfo('pos:\t0\niff:\ttb0\nqueue:\tring\n'), null, 'a kernel without patch 0002');
  const g = { ...f, iff: 'peer0', tunDrops: 5 };
  assert.deepEqual(sumTunQueues([f, { ...f, txqStopped: 0, stops: 1 }, g], 'tb0'), { tunDrops: 0, stops: 12, wakes: 20, stopped: 1 });
  assert.equal(sumTunQueues([g], 'tb0'), null);
});

test('tc -j -s: fq_codel\'s drop_overlimit is read; other qdiscs have none', () => {
  const fq = parseTcQdiscJson('tb0', JSON.stringify([{ kind: 'fq_codel', handle: '8001:', root: true, bytes: 12000, packets: 200, drops: 3, overlimits: 0, requeues: 11, backlog: 0, qlen: 0, maxpacket: 60, drop_overlimit: 0, new_flow_count: 1, ecn_mark: 0 }]));
  assert.deepEqual([fq.root.drops, fq.root.dropsOverlimit], [3, 0]);
  const pf = parseTcQdiscJson('tb0', JSON.stringify([{ kind: 'pfifo_fast', handle: '0:', root: true, packets: 65, drops: 135, requeues: 1, qlen: 0 }]));
  assert.equal(pf.root.dropsOverlimit, null);
});

test('stock tun under traffic: tx_dropped read at the fdinfo\'s instants makes the split exact (the device counters read earlier made it negative)', () => {
  // As the VM saw it: the device counters are read by `ip -s link` (another process), the
  // fdinfo after it returns, while tun keeps dropping: tun_drops moved 4,000 more than the
  // span's tx_dropped; stopped_queue_drop_pps came out at -1,230 pps on a kernel that never
  // stopped the queue. With tx_dropped read beside the fdinfo the split is exact.
  const start: At = { tx_packets: 1000, tx_dropped: 500, consumer: 1000, q: {}, tun: { tunDrops: 600, stops: 0, wakes: 0, stopped: 0, txDropped: 600 } };
  const end: At = { tx_packets: 9000, tx_dropped: 40_000, consumer: 9000, q: {}, tun: { tunDrops: 44_600, stops: 0, wakes: 0, stopped: 0, txDropped: 44_600 } };
  const r = readings('noqueue', { quietBefore: zero, windowStart: start, windowEnd: end, quietAfter: end });
  assert.deepEqual(dropsByPlace(r, { from: 'windowStart', to: 'windowEnd' }), { qdiscLimit: null, qdiscAqm: null, tun: 44_000, stoppedQueue: 0, unattributed: 0, source: 'fdinfo' });
  // Without the instant's tx_dropped (a flood that moved both counters across every read, as
  // CI's TCG guest saw): no queue stopped in the span, so nothing was dropped at one.
  const strip = ({ txDropped: _, ...s }: NonNullable<At['tun']>) => s;
  const old = readings('noqueue', { quietBefore: zero, windowStart: { ...start, tun: strip(start.tun!) }, windowEnd: { ...end, tun: strip(end.tun!) }, quietAfter: { ...end, tun: strip(end.tun!) } });
  assert.deepEqual(dropsByPlace(old, { from: 'windowStart', to: 'windowEnd' }), { qdiscLimit: null, qdiscAqm: null, tun: 44_000, stoppedQueue: 0, unattributed: 0, source: 'fdinfo' });
  // A queue that stopped in the span and no instant's tx_dropped: the device counters' skew
  // (-4,500) is no count; the stopped queue's drops are not known.
  const stopped = (t: NonNullable<At['tun']>) => ({ ...strip(t), stops: 1, wakes: 1 });
  const skew = readings('noqueue', { quietBefore: zero, windowStart: { ...start, tun: strip(start.tun!) }, windowEnd: { ...end, tun: stopped(end.tun!) }, quietAfter: { ...end, tun: stopped(end.tun!) } });
  assert.deepEqual([dropsByPlace(skew, { from: 'windowStart', to: 'windowEnd' }).stoppedQueue, deriveMetrics(skew).stopped_queue_drop_pps], [null, null]);
});

test('/proc/PID/net/dev: the tap\'s tx drop column', () => {
  const text = 'Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\ntb12x3: 1234 5 0 0 0 0 0 0 19450048 303907 0 39353 0 0 0 0\n';
  assert.equal(parseNetDevTxDropped(text, 'tb12x3'), 39353);
  assert.equal(parseNetDevTxDropped(text, 'lo'), 0);
  assert.equal(parseNetDevTxDropped(text, 'tb1'), null);
});

test('tap.backpressure: each queue of the tap must show the switch in its fdinfo', () => {
  const f = (iff: string, bp: boolean) => ({ iff, backpressure: bp, txqStopped: 0, stops: 0, wakes: 0, tunDrops: 0 });
  assert.equal(checkBackpressure([f('tb1', true), f('tb1', true), f('tb9', false)], 'tb1', true, 2, 7), true);
  assert.throws(() => checkBackpressure([f('tb1', true), f('tb1', false)], 'tb1', true, 2, 7), /backpressure 1,0 on 2 of 2 queue\(s\) instead of 1/);
  assert.throws(() => checkBackpressure([], 'tb1', false, 1, 7, '3:/dev/net/tun'), /unknown .* instead of 0 \(its fds: 3:\/dev\/net\/tun\)/);
});

test('fq_codel at its limit tells pktgen of a batch drop (NET_XMIT_CN): the frame was queued and sent again, so sent = pktgen\'s count + its errors (stall-vm-quick\'s figures)', () => {
  const before: At = { ...zero, q: { dropsOverlimit: 0 } };
  const after: At = { tx_packets: 191_744, tx_dropped: 0, consumer: 191_744, q: { sentPackets: 191_744, drops: 8_387, dropsOverlimit: 8_387 }, tun: { tunDrops: 0, stops: 2_308, wakes: 2_308, stopped: 0 } };
  const r = readings('fq_codel', { quietBefore: before, windowStart: before, windowEnd: after, quietAfter: after }, 200_000);
  r.generator = { ...r.generator!, tool: 'pktgen', errors: 131 };
  const gen = crossChecks(r).find((c) => /generator's count/.test(c.name))!;
  assert.deepEqual([gen.probe, gen.counter, gen.ok], [200_131, 200_131, true], gen.name);
  assert.match(gen.name, /congestion notices/);
  for (const c of crossChecks(r)) assert.ok(c.ok, `${c.name}: ${c.probe} vs ${c.counter}`);
  // trafgen is not told of CN (a packet socket maps it to 0): nothing is added for it.
  r.generator = { ...r.generator!, tool: 'trafgen', errors: null, packetsSent: 200_131 };
  const tg = crossChecks(r).find((c) => /generator's count/.test(c.name))!;
  assert.deepEqual([tg.probe, tg.counter], [200_131, 200_131]);
});
