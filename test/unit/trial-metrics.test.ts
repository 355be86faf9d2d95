// The pure step of a trial: readings -> metrics and cross-checks. A real saved result (the
// development machine, tx_queue_len 256 under a trafgen flood) must give back the metrics it
// stored from its readings alone; synthetic readings pin each definition.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { acceptedInWindow, crossChecks, deriveMetrics, histogramMean, histogramQuantile, mergeHistograms, quantile } from '../../src/trial/metrics.ts';
import { emptyMetrics } from '../../src/metrics.ts';
import type { Histogram, ProbeSamples, Result, TrialReadings } from '../../src/types.ts';

const run = JSON.parse(readFileSync(new URL('../fixtures/results/fixture-run/result.json', import.meta.url), 'utf8')) as Result;
const h = (...b: [number, number | null, number][]): Histogram => ({ buckets: b.map(([min, max, count]) => ({ min, max, count })) });

test('a saved real result\'s metrics and cross-checks are recomputed from its readings alone', () => {
  const trials = run.variants.flatMap((v) => v.trials);
  assert.equal(trials.length, 2);
  for (const t of trials) {
    const again = JSON.parse(JSON.stringify(t.readings)) as TrialReadings;
    // Metrics added since the fixture was saved (qdisc, sent/lost, flows) come out null: it has no
    // qdisc readings; the reader's CPU per packet is new and comes from readings it has.
    const r = t.readings!;
    const perRead = ((r.cpuSeconds.consumer![1] - r.cpuSeconds.consumer![0]) * 1e9) / (r.consumer.windowEnd.packets - r.consumer.windowStart.packets);
    assert.deepEqual(deriveMetrics(again), { ...emptyMetrics(), ...t.metrics, consumer_cpu_ns_per_packet: perRead }, `trial ${t.index}`);
    assert.deepEqual(crossChecks(again), t.crossCheck, `trial ${t.index}`);
    assert.ok(t.crossCheck.every((c) => c.ok), 'every count closed exactly on the real run');
  }
});

test('accepted = reads (tx_packets) + the change in occupancy; the saved run satisfies the identity', () => {
  const t = run.variants[0]!.trials[0]!;
  const r = t.readings!;
  const reads = r.tap.windowEnd.tx_packets - r.tap.windowStart.tx_packets;
  assert.equal(acceptedInWindow(r), reads + r.probe!.occupancyAtEnd! - r.probe!.occupancyAtStart!);
  assert.ok(Math.abs(t.metrics.xmit_pps! - acceptedInWindow(r) / ((r.tap.windowEnd.tNs - r.tap.windowStart.tNs) / 1e9)) < 1e-6);
});

function readings(probe: ProbeSamples | null): TrialReadings {
  const at = (tNs: number, tx_packets: number, tx_dropped: number) => ({ tNs, tx_packets, tx_dropped, tx_bytes: tx_packets * 64, tx_errors: 0 });
  const con = (tNs: number, packets: number) => ({ tNs, packets, bytes: packets * 64 });
  return {
    capacity: 1000, queues: 1,
    window: { startNs: 1e9, endNs: 3e9 },
    tap: { quietBefore: at(0, 0, 0), windowStart: at(1e9, 500_000, 10_000), windowEnd: at(3e9, 2_500_000, 30_000), quietAfter: at(4e9, 3_000_000, 40_000) },
    consumer: { quietBefore: con(0, 0), windowStart: con(1e9, 500_000), windowEnd: con(3e9, 2_400_000), quietAfter: con(4e9, 3_000_000) },
    cpuSeconds: { generator: [10, 11.9], consumer: [5, 6] },
    drain: { complete: true, seconds: 0.3 },
    generator: { tool: 'trafgen', packetsSent: 3_040_000, errors: 0, reportedPps: null, seconds: 3.2, command: [], output: '' },
    generatorCounts: 'offered',
    probe,
  };
}

const probe = (over: Partial<ProbeSamples> = {}): ProbeSamples => ({
  backend: null, level: 'counters', windowSeconds: 1.99, queuesFound: 1, occupancySource: 'queue',
  occupancySeries: { intervalMs: 10, values: [100, 500, 1000, 1000] }, fullSeries: [0, 0, 1, 1],
  occupancyAtStart: 100, occupancyAtEnd: 1000,
  dropsTotal: 20_000, drops: { FULL_RING: 20_000 }, xmit: null, reads: null, occupancyAtEnqueue: null,
  series: { intervalMs: 10, xmit: [], drops: [], reads: [] },
  lock: { xmit: { count: 10, waitNs: 1000, waitHist: h([64, 127, 10]) }, read: { count: 30, waitNs: 9000, waitHist: h([256, 511, 30]) } },
  latencyNs: null, totals: { drops: 40_000, xmit: null, reads: null }, bpf: { runTimeNs: 20_000_000, runCount: 1000, programs: 5 }, messages: [], ...over,
});

test('metric definitions: counters level', () => {
  const m = deriveMetrics(readings(probe()));
  assert.equal(m.xmit_pps, (2_000_000 + 900) / 2, 'reads over the window + occupancy change, per second of the counter span');
  assert.equal(m.drop_pps, 10_000);
  assert.equal(m.drop_ratio, 20_000 / (2_000_900 + 20_000));
  assert.equal(m.rx_pps, 950_000, "the consumer's own count");
  assert.equal(m.offered_pps, 3_040_000 / 3.2);
  assert.equal(m.occupancy_mean, 0.65);
  assert.equal(m.occupancy_p99, 1);
  assert.equal(m.occupancy_full_fraction, 0.5);
  assert.equal(m.occupancy_enqueue_mean, null, 'full level only');
  assert.equal(m.lock_contention_xmit, 10 / 1.99, 'per second of the ticks\' span');
  assert.equal(m.lock_contention_read, 30 / 1.99);
  assert.equal(m.lock_wait_p99_ns, 511);
  assert.equal(m.probe_cpu_pct, 1, '20 ms of eBPF run time in a 2 s window');
  assert.ok(Math.abs(m.cpu_generator_pct! - 95) < 1e-9);
  assert.equal(m.latency_p50_ns, null);
});

test('per-packet CPU costs: the sender\'s CPU over the packets handed to the tap, the reader\'s over the packets it read', () => {
  const r = readings(probe());
  // Without qdisc readings nothing counts what the sender handed over: no sender cost.
  assert.equal(deriveMetrics(r).generator_cpu_ns_per_packet, null);
  assert.equal(deriveMetrics(r).consumer_cpu_ns_per_packet, (1 * 1e9) / 1_900_000, 'reader: 1 s of CPU over 1.9 M packets read in the window');
  const q = (tNs: number, sentPackets: number, drops: number, backlogPackets: number) => ({ kind: 'pfifo_fast', sentPackets, sentBytes: 0, drops, overlimits: 0, requeues: 0, backlogPackets, backlogBytes: 0, tNs });
  r.qdisc = { requested: 'pfifo_fast', kind: 'pfifo_fast', at: { quietBefore: q(0, 0, 0, 0), windowStart: q(1e9, 510_000, 0, 0), windowEnd: q(3e9, 2_530_000, 1_000, 20), quietAfter: q(4e9, 3_040_000, 1_000, 0) }, samples: { intervalMs: 50, backlogPackets: [], drops: [], requeues: [] } };
  // sent over the window = qdisc sent 2,020,000 + drops 1,000 + backlog change 20 (the ring's
  // change of 900 is inside the qdisc's sent already: it counts what it handed to tun).
  const m = deriveMetrics(r);
  assert.ok(Math.abs(m.generator_cpu_ns_per_packet! - (1.9 * 1e9) / 2_021_020) < 1e-9);
  // Flows and background floods share the sender's CPU with other work: no per-packet figure.
  r.background = { ...r.generator! };
  assert.equal(deriveMetrics(r).generator_cpu_ns_per_packet, null);
});

test('metric definitions: probes off take the occupancy change as 0 and measure no probe metric', () => {
  const m = deriveMetrics(readings(null));
  assert.equal(m.xmit_pps, 1_000_000);
  assert.equal(m.occupancy_mean, null);
  assert.equal(m.probe_cpu_pct, null);
  assert.equal(m.lock_contention_count, null);
});

test('cross-checks: exact over the quiet span, each against an independent source', () => {
  const good = crossChecks(readings(probe()));
  assert.deepEqual(good.map((c) => [c.probe, c.counter, c.ok]), [[3_000_000, 3_000_000, true], [3_040_000, 3_040_000, true], [40_000, 40_000, true]]);
  const r = readings(probe({ level: 'full', backend: 'kprobe', totals: { drops: 39_999, xmit: 3_040_000, reads: 3_000_001 } }));
  const bad = crossChecks(r);
  assert.deepEqual(bad.map((c) => c.ok), [true, true, false, true, false]);
  assert.match(bad[3]!.name, /kprobe/);
  // pktgen's skbs are shared: their drops never reach skb:kfree_skb, so there is no drops check.
  const pk = readings(probe({ totals: { drops: 0, xmit: null, reads: null } }));
  pk.generator = { ...pk.generator!, tool: 'pktgen' };
  assert.deepEqual(crossChecks(pk).map((c) => c.ok), [true, true]);
});

test('histogram helpers', () => {
  const x = h([0, 0, 50], [1, 1, 30], [2, 3, 15], [4, 7, 5]);
  assert.equal(histogramQuantile(x, 0.5), 0);
  assert.equal(histogramQuantile(x, 0.95), 3);
  assert.equal(histogramQuantile(h([8, null, 3]), 0.99), 8, 'open last bucket: its lower edge');
  assert.equal(histogramMean(h([0, 2, 1], [10, 12, 1])), 6);
  assert.deepEqual(mergeHistograms(h([0, 0, 1], [1, 1, 2]), h([1, 1, 3])), h([0, 0, 1], [1, 1, 5]));
  assert.equal(quantile([5, 1, 3, 2, 4], 0.5), 3);
  assert.equal(quantile([], 0.5), null);
});
