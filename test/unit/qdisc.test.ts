// The qdisc module without a kernel: tc's JSON (captured on the development machine, 6.18)
// parsed into typed records, deltas, sample summaries and the sent/lost accounting.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { parseTcQdiscJson, setQdisc, startQdiscSampler, summariseSamples } from '../../src/lab/qdisc.ts';
import { crossChecks, tapAccounts } from '../../src/trial/metrics.ts';
import { readings, type At } from '../helpers/readings.ts';

// `tc -j -s qdisc show dev TAP` on a single-queue tap mid-flood (trafgen -q, wire reading).
const PFIFO_FAST_FLOOD = '[{"kind":"pfifo_fast","handle":"0:","root":true,"refcnt":2,"options":{"bands":3,"priomap":[1,2,2,2,1,2,0,0,1,1,1,1,1,1,1,1],"multiqueue":false},"bytes":164957824,"packets":2577466,"drops":0,"overlimits":0,"requeues":0,"backlog":0,"qlen":0}]';
// After `tc qdisc replace dev TAP root noqueue`.
const NOQUEUE = '[{"kind":"noqueue","handle":"8001:","root":true,"refcnt":2,"options":{},"bytes":0,"packets":0,"drops":0,"overlimits":0,"requeues":0,"backlog":0,"qlen":0}]';
// A multi-queue tap: mq at the root, one pfifo_fast child per queue.
const MQ = '[{"kind":"mq","handle":"0:","root":true,"options":{},"bytes":0,"packets":0,"drops":0,"overlimits":0,"requeues":0,"backlog":0,"qlen":0},{"kind":"pfifo_fast","handle":"0:","parent":":1","options":{"bands":3,"priomap":[1,2,2,2,1,2,0,0,1,1,1,1,1,1,1,1],"multiqueue":false},"bytes":0,"packets":0,"drops":0,"overlimits":0,"requeues":0,"backlog":0,"qlen":0}]';

test('tc JSON: kind and counters of the root qdisc; backlog is bytes, qlen packets', () => {
  const s = parseTcQdiscJson('tb1x0', PFIFO_FAST_FLOOD);
  assert.equal(s.dev, 'tb1x0');
  assert.deepEqual(s.root, { kind: 'pfifo_fast', handle: '0:', parent: null, root: true, sentPackets: 2577466, sentBytes: 164957824, drops: 0, overlimits: 0, requeues: 0, backlogPackets: 0, backlogBytes: 0, dropsOverlimit: null });
  const b = parseTcQdiscJson('x', PFIFO_FAST_FLOOD.replace('"backlog":0,"qlen":0', '"backlog":1024,"qlen":16'));
  assert.equal(b.root.backlogBytes, 1024);
  assert.equal(b.root.backlogPackets, 16);
  assert.equal(parseTcQdiscJson('x', NOQUEUE).root.kind, 'noqueue');
});

test('tc JSON: a multi-queue tap has mq at the root and its children listed with their parent', () => {
  const s = parseTcQdiscJson('x', MQ);
  assert.equal(s.root.kind, 'mq');
  assert.equal(s.all.length, 2);
  assert.deepEqual([s.all[1]!.kind, s.all[1]!.parent, s.all[1]!.root], ['pfifo_fast', ':1', false]);
});

test('tc JSON: garbage and an empty answer are errors that quote the text', () => {
  assert.throws(() => parseTcQdiscJson('x', 'Cannot find device "x"'), /not JSON: Cannot find device/);
  assert.throws(() => parseTcQdiscJson('x', '[]'), /no qdisc/);
});

test('sample summary: mean and max backlog in packets; no samples gives nulls', () => {
  const root = parseTcQdiscJson('x', PFIFO_FAST_FLOOD).root;
  const s = summariseSamples([0, 4, 8].map((q, i) => ({ tMs: i * 100, root: { ...root, backlogPackets: q } })));
  assert.equal(s.backlogMeanPackets, 4);
  assert.equal(s.backlogMaxPackets, 8);
  assert.deepEqual(summariseSamples([]), { samples: [], backlogMeanPackets: null, backlogMaxPackets: null });
});

const zero: At = { tx_packets: 0, tx_dropped: 0, consumer: 0, q: {} };

test('accounting closes on the figures of a real flood (trafgen --num 300000 on 2 CPUs, tx_queue_len 16)', () => {
  // Measured here: qdisc sent 300000 (tun accepted + tun dropped), qdisc drops 19564 (told to
  // trafgen, which sent those frames again), tap tx_packets 31784 = the wire's count, tx_dropped 268216.
  const end: At = { tx_packets: 31784, tx_dropped: 268216, consumer: 31784, q: { sentPackets: 300000, drops: 19564 } };
  const r = readings('pfifo_fast', { quietBefore: zero, windowStart: zero, windowEnd: end, quietAfter: end }, 300000, 16);
  const a = tapAccounts(r, 'quietBefore', 'quietAfter')!;
  // Every attempt is sent and every drop lost, resent or not (lost_pps's definition).
  assert.deepEqual([a.sentSource, a.sent, a.delivered, a.qdiscDrops, a.tunDrops, a.queued, a.lost], ['qdisc', 319564, 31784, 19564, 268216, 0, 287780]);
  const checks = crossChecks(r);
  for (const c of checks) assert.ok(c.ok, `${c.name}: ${c.probe} vs ${c.counter}`);
  // trafgen's own count plus the drops it was told of is the accounting's sent.
  const gen = checks.find((c) => /generator's count .*the qdisc's/.test(c.name))!;
  assert.deepEqual([gen.probe, gen.counter], [300000 + 19564, 319564]);
  // Had trafgen not been told of the qdisc's drops (fq_codel tells nobody), its count would not close.
  const fq = readings('fq_codel', { quietBefore: zero, windowStart: zero, windowEnd: end, quietAfter: end }, 300000, 16);
  assert.equal(crossChecks(fq).find((c) => /generator's count/.test(c.name))!.ok, false);
});

test('accounting: a consumer count that disagrees with the tap fails its check; noqueue counts what was sent from tun', () => {
  const end: At = { tx_packets: 990, tx_dropped: 5, consumer: 985, q: { sentPackets: 995 } };
  const short = crossChecks(readings('pfifo_fast', { quietBefore: zero, windowStart: zero, windowEnd: end, quietAfter: end }));
  assert.equal(short.find((c) => /^packets read/.test(c.name))!.ok, false);
  assert.equal(short.find((c) => /^sent = delivered/.test(c.name))!.ok, false, 'the sum is off by the 5 the consumer missed');
  // Backlog and ring: queued packets close the sum.
  const held: At = { tx_packets: 990, tx_dropped: 6, consumer: 990, q: { sentPackets: 996, drops: 2, backlogPackets: 3 } };
  const h = tapAccounts(readings('pfifo_fast', { quietBefore: zero, windowStart: zero, windowEnd: held, quietAfter: held }), 'quietBefore', 'quietAfter', 4)!;
  assert.equal(h.sent, 996 + 2 + 3);
  assert.equal(h.queued, 3 + 4);
  // noqueue: tun's drops reach trafgen (NET_XMIT_DROP), which sends again: its 300000 frames all
  // arrived, after 2334093 drops it was told of.
  const nq: At = { tx_packets: 300000, tx_dropped: 2334093, consumer: 300000, q: {} };
  const r = readings('noqueue', { quietBefore: zero, windowStart: zero, windowEnd: nq, quietAfter: nq }, 300000);
  const a = tapAccounts(r, 'quietBefore', 'quietAfter')!;
  assert.deepEqual([a.sentSource, a.sent, a.qdiscDrops, a.tunDrops, a.lost], ['tap', 2634093, 0, 2334093, 2334093]);
  for (const c of crossChecks(r)) assert.ok(c.ok, `${c.name}: ${c.probe} vs ${c.counter}`);
});

test('setQdisc refuses an unknown kind before running tc; the sampler refuses a too short interval', async () => {
  await assert.rejects(setQdisc('tunbench-1-0', 'tb1x0', 'cake' as never), (e: unknown) => e instanceof UserError && /unknown qdisc 'cake'/.test(e.message) && /fq_codel/.test(e.hint ?? ''));
  await assert.rejects(startQdiscSampler('tunbench-1-0', 'tb1x0', 1), (e: unknown) => e instanceof UserError && /too short/.test(e.message));
});
