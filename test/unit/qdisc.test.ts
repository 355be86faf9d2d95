// The qdisc module without a kernel: tc's JSON (captured on the development machine, 6.18)
// parsed into typed records, deltas, sample summaries and the sent/lost accounting.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { accountFlood, parseTcQdiscJson, qdiscDelta, setQdisc, startQdiscSampler, summariseSamples } from '../../src/lab/qdisc.ts';

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

test('delta: counters subtract, backlog is the later reading and its change', () => {
  const a = parseTcQdiscJson('x', PFIFO_FAST_FLOOD);
  const b = parseTcQdiscJson('x', PFIFO_FAST_FLOOD.replace('"packets":2577466,"drops":0', '"packets":2600000,"drops":7').replace('"backlog":0,"qlen":0', '"backlog":640,"qlen":10'));
  assert.deepEqual(qdiscDelta(a, b), { kind: 'pfifo_fast', sentPackets: 22534, sentBytes: 0, drops: 7, overlimits: 0, requeues: 0, backlogPackets: 10, backlogBytes: 640, backlogChange: 10 });
});

test('sample summary: mean and max backlog in packets; no samples gives nulls', () => {
  const root = parseTcQdiscJson('x', PFIFO_FAST_FLOOD).root;
  const s = summariseSamples([0, 4, 8].map((q, i) => ({ tMs: i * 100, root: { ...root, backlogPackets: q } })));
  assert.equal(s.backlogMeanPackets, 4);
  assert.equal(s.backlogMaxPackets, 8);
  assert.deepEqual(summariseSamples([]), { samples: [], backlogMeanPackets: null, backlogMaxPackets: null });
});

const delta = (o: Partial<ReturnType<typeof qdiscDelta>>) => ({ kind: 'pfifo_fast', sentPackets: 0, sentBytes: 0, drops: 0, overlimits: 0, requeues: 0, backlogPackets: 0, backlogBytes: 0, backlogChange: 0, ...o });

test('accounting closes on the figures of a real flood (trafgen --num 300000 on 2 CPUs, tx_queue_len 16)', () => {
  // Measured here: qdisc sent 300000 (tun accepted + tun dropped), qdisc drops 19564 (resent by
  // trafgen), tap tx_packets 31784 = the wire's count, tx_dropped 268216.
  const a = accountFlood({ qdisc: delta({ sentPackets: 300000, drops: 19564 }), tap: { tx_packets: 31784, tx_dropped: 268216 }, delivered: 31784, senderResends: true });
  assert.deepEqual(a, { attempts: 319564, delivered: 31784, qdiscDrops: 19564, tunDrops: 268216, queued: 0, residual: 0, senderVisibleDrops: 19564, sent: 300000, lost: 268216, lostRatio: 268216 / 300000 });
  // The same counters from a sender that does not resend (a UDP socket): every drop is a loss.
  const u = accountFlood({ qdisc: delta({ sentPackets: 300000, drops: 19564 }), tap: { tx_packets: 31784, tx_dropped: 268216 }, delivered: 31784, senderResends: false });
  assert.deepEqual([u.sent, u.lost], [319564, 19564 + 268216]);
});

test('accounting: a consumer count that disagrees with the qdisc shows as a residual; noqueue counts attempts from tun', () => {
  assert.equal(accountFlood({ qdisc: delta({ sentPackets: 1000 }), tap: { tx_packets: 990, tx_dropped: 5 }, delivered: 990, senderResends: false }).residual, 5);
  assert.equal(accountFlood({ qdisc: delta({ sentPackets: 1000, backlogChange: 3, drops: 2 }), tap: { tx_packets: 990, tx_dropped: 6 }, delivered: 990, ringChange: 4, senderResends: false }).residual, 0);
  const nq = accountFlood({ qdisc: delta({ kind: 'noqueue' }), tap: { tx_packets: 300000, tx_dropped: 2334093 }, delivered: 300000, senderResends: true });
  assert.deepEqual([nq.attempts, nq.residual, nq.senderVisibleDrops, nq.qdiscDrops, nq.sent, nq.lost, nq.lostRatio], [2634093, 0, 2334093, 0, 300000, 0, 0]);
});

test('setQdisc refuses an unknown kind before running tc; the sampler refuses a too short interval', async () => {
  await assert.rejects(setQdisc('tunbench-1-0', 'tb1x0', 'cake' as never), (e: unknown) => e instanceof UserError && /unknown qdisc 'cake'/.test(e.message) && /fq_codel/.test(e.hint ?? ''));
  await assert.rejects(startQdiscSampler('tunbench-1-0', 'tb1x0', 1), (e: unknown) => e instanceof UserError && /too short/.test(e.message));
});
