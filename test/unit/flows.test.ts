// Issue 13 in pure form: the profile fields (tap.qdisc, iperf3, wire, background), the
// requirements they bring, and the sent/lost accounting and flow metrics computed from readings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { missingRequirements, profileProblems } from '../../src/doctor/requirements.ts';
import { parseProfile } from '../../src/profile/load.ts';
import { resolveVariants } from '../../src/profile/plan.ts';
import { crossChecks, deriveMetrics, tapAccounts } from '../../src/trial/metrics.ts';
import { generatorCounts } from '../../src/trial/run-trial.ts';
import { iperf3Timing } from '../../src/workload/generators/start.ts';
import type { QdiscCounters, TrialReadings } from '../../src/types.ts';
import { caps } from '../helpers/caps.ts';

const yaml = (body: string) => parseProfile(`name: t\n${body}`, 't.yaml');

test('schema: tap.qdisc defaults to default and takes the five kinds; anything else names the field', () => {
  assert.equal(yaml('').workload.tap.qdisc, 'default');
  for (const k of ['noqueue', 'pfifo_fast', 'fq_codel', 'fq']) assert.equal(yaml(`workload: { tap: { qdisc: ${k} } }`).workload.tap.qdisc, k);
  assert.throws(() => yaml('workload: { tap: { qdisc: cake } }'), /workload\.tap\.qdisc/);
});

test('schema: iperf3 generator, wire consumer and a background flood, strict', () => {
  const p = yaml('workload: { generator: { type: iperf3, streams: 8 }, consumer: { type: wire }, background: { type: trafgen, rate: 1000 } }');
  assert.deepEqual(p.workload.generator, { type: 'iperf3', protocol: 'tcp', streams: 8 });
  assert.deepEqual(p.workload.consumer, { type: 'wire', batch: 64, cpu: 'auto', peerTxQueueLen: 1000 });
  assert.equal(p.workload.background?.type, 'trafgen');
  assert.throws(() => yaml('workload: { generator: { type: iperf3, threads: 2 } }'), /generator\.threads: unknown field/);
  assert.throws(() => yaml('workload: { background: { type: iperf3 } }'), /workload\.background/, 'a background is a flood, not a flow');
  assert.throws(() => yaml('workload: { generator: { type: iperf3, streams: 0 } }'), /streams/);
});

test('profile problems: iperf3 needs the wire or the guest, UDP length within the MTU, background only beside flows', () => {
  const probs = (body: string) => profileProblems(resolveVariants(yaml(body)), [0, 1]);
  assert.match(probs('workload: { generator: { type: iperf3 } }').join('\n'), /iperf3 needs a receiver behind the tap: set workload\.consumer\.type: wire .* or guest \(it runs inside the QEMU guest\)/);
  assert.deepEqual(probs('workload: { generator: { type: iperf3 }, consumer: { type: guest } }'), [], 'the guest runs the iperf3 server');
  assert.deepEqual(probs('workload: { tap: { queues: 2 }, generator: { type: iperf3 }, consumer: { type: guest } }'), ['workload.tap.queues: 2; consumer type guest reads a single-queue tap; set tap.queues: 1']);
  assert.match(probs('workload: { generator: { type: iperf3, protocol: udp, length: 1473 }, consumer: { type: guest } }').join('\n'), /length: 1473 .* at most 1472/);
  assert.match(probs('workload: { generator: { type: iperf3, protocol: udp, length: 1473 }, consumer: { type: wire } }').join('\n'), /length: 1473 .* at most 1472/);
  assert.deepEqual(probs('workload: { generator: { type: iperf3, protocol: udp, length: 1472, bitrate: 1000 }, consumer: { type: wire } }'), []);
  assert.match(probs('workload: { background: { type: trafgen } }').join('\n'), /background flood runs beside measured flows/);
});


test('requirements: the qdisc kind, iperf3 and the wire, each with its fix', () => {
  const vs = resolveVariants(yaml('workload: { tap: { qdisc: fq_codel }, generator: { type: iperf3 }, consumer: { type: wire } }'));
  assert.deepEqual(missingRequirements(caps({ qdiscs: { ...caps().qdiscs, fq_codel: { available: true, reason: '' } } }), vs, null, 'host'), []);
  const m = missingRequirements(caps(), vs, null, 'host').join('\n');
  assert.match(m, /qdisc fq_codel .*CONFIG_NET_SCH_FQ_CODEL.*modprobe sch_fq_codel/);
  const none = missingRequirements(caps({ iperf3: { available: false, reason: 'iperf3 is missing: apt-get install iperf3', version: null }, wire: { available: false, reason: 'not built: make -C sink', path: null } }), resolveVariants(yaml('workload: { generator: { type: iperf3 }, consumer: { type: wire } }')), null, 'host').join('\n');
  assert.match(none, /iperf3 .*apt-get install iperf3/);
  assert.match(none, /wire consumer .*make -C sink/);
  // A result from before issue 13 has no qdisc record: a non-default kind is refused, not assumed.
  assert.match(missingRequirements(caps({ qdiscs: undefined }), resolveVariants(yaml('workload: { tap: { qdisc: noqueue } }')), null, 'host').join('\n'), /qdisc noqueue .*tunbench doctor/);
});

test('iperf3 timing: whole seconds, the omitted ramp-up covers the trial\'s, the test outlives the window', () => {
  assert.deepEqual(iperf3Timing(1, 2), { omit: 1, duration: 3 });
  assert.deepEqual(iperf3Timing(0.5, 1.5), { omit: 1, duration: 3 });
  assert.deepEqual(iperf3Timing(0, 10), { omit: 0, duration: 11 });
});

test('generatorCounts: the sender hears tun\'s drops with a bypass or noqueue', () => {
  assert.equal(generatorCounts({ type: 'trafgen', qdisc: true }, 'pfifo_fast'), 'offered');
  assert.equal(generatorCounts({ type: 'trafgen', qdisc: true }, 'noqueue'), 'accepted');
  assert.equal(generatorCounts({ type: 'trafgen', qdisc: false }, 'pfifo_fast'), 'accepted');
  assert.equal(generatorCounts({ type: 'pktgen' }, 'noqueue'), 'offered');
});

// ---------------------------------------------------------------- accounting from readings
const qc = (tNs: number, sentPackets: number, drops: number, backlogPackets = 0, requeues = 0, kind = 'pfifo_fast'): QdiscCounters => ({ kind, sentPackets, sentBytes: sentPackets * 64, drops, overlimits: 0, requeues, backlogPackets, backlogBytes: backlogPackets * 64, tNs });

/** A 2 s window of a trafgen flood through pfifo_fast on 2 CPUs: the qdisc drops some, tun drops more. */
function flood(kind = 'pfifo_fast'): TrialReadings {
  const at = (tNs: number, tx_packets: number, tx_dropped: number) => ({ tNs, tx_packets, tx_dropped, tx_bytes: tx_packets * 64, tx_errors: 0 });
  const con = (tNs: number, packets: number) => ({ tNs, packets, bytes: packets * 64 });
  const noq = kind === 'noqueue';
  return {
    capacity: 16, queues: 1,
    window: { startNs: 1e9, endNs: 3e9 },
    tap: { quietBefore: at(0, 0, 0), windowStart: at(1e9, 100_000, 20_000), windowEnd: at(3e9, 300_000, 60_000), quietAfter: at(4e9, 400_000, 80_000) },
    consumer: { quietBefore: con(0, 0), windowStart: con(1e9, 100_000), windowEnd: con(3e9, 300_000), quietAfter: con(4e9, 400_000) },
    cpuSeconds: { generator: null, consumer: null },
    drain: { complete: true, seconds: 0.2 },
    // trafgen counts every frame but those whose drop it was told about (the qdisc's here), and sends those again.
    generator: { tool: 'trafgen', packetsSent: noq ? 400_000 : 480_000, errors: 0, reportedPps: null, seconds: 4, command: [], output: '' },
    generatorCounts: noq ? 'accepted' : 'offered',
    probe: null,
    qdisc: {
      requested: kind, kind,
      at: noq
        ? { quietBefore: qc(0, 0, 0, 0, 0, kind), windowStart: qc(1e9, 0, 0, 0, 0, kind), windowEnd: qc(3e9, 0, 0, 0, 0, kind), quietAfter: qc(4e9, 0, 0, 0, 0, kind) }
        : { quietBefore: qc(0, 0, 0), windowStart: qc(1e9, 120_000, 1_000, 10), windowEnd: qc(3e9, 360_000, 3_000, 30, 4), quietAfter: qc(4e9, 480_000, 5_000) },
      samples: { intervalMs: 50, backlogPackets: [10, 20, 30, 40], drops: [], requeues: [] },
    },
  };
}

test('sent/lost accounts: sent = delivered + qdisc drops + tun drops + queued, from the qdisc\'s counters', () => {
  const r = flood();
  const w = tapAccounts(r, 'windowStart', 'windowEnd')!;
  const { drops, ...sums } = w;
  assert.deepEqual(sums, { sent: 240_000 + 2_000 + 20, delivered: 200_000, qdiscDrops: 2_000, tunDrops: 40_000, queued: 20, lost: 42_000, sentSource: 'qdisc' });
  // pfifo_fast has no AQM: its drops are at its limit; no fdinfo, no probe, no stop seen: tx_dropped unattributed.
  assert.deepEqual(drops, { qdiscLimit: 2_000, qdiscAqm: 0, tun: null, stoppedQueue: null, unattributed: 40_000, source: 'none' });
  assert.equal(w.sent, w.delivered + w.qdiscDrops + w.tunDrops + w.queued);
  const m = deriveMetrics(r);
  assert.equal(m.sent_pps, w.sent / 2);
  assert.equal(m.lost_pps, 21_000);
  assert.equal(m.lost_ratio, 42_000 / w.sent);
  assert.equal(m.qdisc_drop_pps, 1_000);
  assert.equal(m.qdisc_requeue_pps, 2);
  assert.equal(m.qdisc_backlog_mean, 25);
  assert.equal(m.goodput_bps, null, 'no flow: null, as every metric that does not apply');
  assert.equal(m.retransmits, null);
});

test('sent/lost cross-checks close exactly over the quiet span, and catch a missing packet', () => {
  const cs = crossChecks(flood());
  const sent = cs.find((c) => /^sent = delivered/.test(c.name))!;
  assert.deepEqual([sent.probe, sent.counter, sent.ok], [485_000, 485_000, true]);
  const gen = cs.find((c) => /generator's count/.test(c.name))!;
  assert.deepEqual([gen.probe, gen.counter, gen.ok], [485_000, 485_000, true], 'trafgen 480000 + the 5000 qdisc drops it was told about and resent');
  const off = flood();
  off.consumer.quietAfter.packets -= 1;
  off.tap.quietAfter.tx_packets -= 1;
  assert.equal(crossChecks(off).find((c) => /^sent = delivered/.test(c.name))!.ok, false, 'one packet the qdisc sent that neither tun dropped nor the consumer read');
});

test('noqueue: no qdisc counts, sent from the tap; trafgen hears tun\'s drops', () => {
  const r = flood('noqueue');
  const a = tapAccounts(r, 'quietBefore', 'quietAfter')!;
  assert.equal(a.sentSource, 'tap');
  assert.equal(a.sent, 480_000);
  const cs = crossChecks(r);
  assert.ok(!cs.some((c) => /^sent = delivered/.test(c.name)), 'nothing independent to check the sum against');
  const gen = cs.find((c) => /generator's count/.test(c.name))!;
  assert.deepEqual([gen.probe, gen.counter, gen.ok], [480_000, 480_000, true], 'trafgen 400000 + tun\'s 80000 drops, each resent');
});

test('flow metrics come from the iperf3 report; no generator check for flows (TCP counts bytes, not segments)', () => {
  const r = flood();
  r.generator = { tool: 'iperf3', packetsSent: null, errors: null, reportedPps: null, seconds: 3, command: [], output: '', flow: { protocol: 'tcp', streams: 8, seconds: 3, goodputBps: 2.5e9, receivedBytes: 1, sentBytes: 1, retransmits: 1234, udpSentPackets: null, udpLostPackets: null, congestion: 'bbr', tcpMss: 1448 } };
  const m = deriveMetrics(r);
  assert.equal(m.goodput_bps, 2.5e9);
  assert.equal(m.retransmits, 1234);
  assert.equal(m.udp_lost_ratio, null);
  assert.ok(!crossChecks(r).some((c) => /generator/.test(c.name)));
  assert.ok(crossChecks(r).find((c) => /^sent = delivered/.test(c.name))!.ok, 'the qdisc identity holds for any traffic');
  r.generator.flow = { ...r.generator.flow!, protocol: 'udp', retransmits: null, udpSentPackets: 1000, udpLostPackets: 10 };
  const u = deriveMetrics(r);
  assert.equal(u.udp_lost_ratio, 0.01);
  assert.equal(u.retransmits, null);
});

test('per-stream goodput: fairness (Jain), slowest and fastest stream; none for a flood or a result without streams', () => {
  const r = flood();
  assert.equal(deriveMetrics(r).stream_fairness, null, 'a flood has no streams');
  const perStream = [1e9, 1e9, 0.5e9, 0.5e9].map((g) => ({ goodputBps: g, receivedBytes: g / 8, sentBytes: g / 8, retransmits: 3 }));
  r.generator = { tool: 'iperf3', packetsSent: null, errors: null, reportedPps: null, seconds: 1, command: [], output: '', flow: { protocol: 'tcp', streams: 4, seconds: 1, goodputBps: 3e9, receivedBytes: 3e9 / 8, sentBytes: 3e9 / 8, retransmits: 12, udpSentPackets: null, udpLostPackets: null, congestion: 'cubic', tcpMss: 1448, perStream } };
  const m = deriveMetrics(r);
  assert.equal(m.stream_fairness, 9 / (4 * 2.5), '(3)^2 / (4 (1+1+0.25+0.25)) in Gbit/s');
  assert.equal(m.stream_goodput_min_bps, 0.5e9);
  assert.equal(m.stream_goodput_max_bps, 1e9);
  delete r.generator.flow!.perStream;
  const old = deriveMetrics(r);
  assert.deepEqual([old.stream_fairness, old.stream_goodput_min_bps, old.goodput_bps], [null, null, 3e9], 'a result saved before streams were kept');
});
