import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crossCheck, deriveMetrics, histogramQuantile, mergeHistograms } from '../../src/trial-metrics.ts';
import type { Histogram, ProbeSamples } from '../../src/types.ts';

const h = (...b: [number, number | null, number][]): Histogram => ({ buckets: b.map(([min, max, count]) => ({ min, max, count })) });

test('histogram quantiles take the bucket holding the rank', () => {
  const x = h([0, 0, 50], [1, 1, 30], [2, 3, 15], [4, 7, 5]);
  assert.equal(histogramQuantile(x, 0.5), 0);
  assert.equal(histogramQuantile(x, 0.8), 1);
  assert.equal(histogramQuantile(x, 0.95), 3);
  assert.equal(histogramQuantile(x, 0.99), 7);
  assert.equal(histogramQuantile(h(), 0.5), null);
  assert.equal(histogramQuantile(h([8, null, 3]), 0.99), 8, 'open last bucket: its lower edge');
});

test('merging histograms adds counts of equal buckets', () => {
  assert.deepEqual(mergeHistograms(h([0, 0, 1], [1, 1, 2]), h([1, 1, 3], [2, 3, 4])), h([0, 0, 1], [1, 1, 5], [2, 3, 4]));
});

const probe = (over: Partial<ProbeSamples> = {}): ProbeSamples => ({
  backend: 'tracepoint', level: 'counters', windowSeconds: 2,
  xmit: 2_000_000, dropsTotal: 20_000, drops: { FULL_RING: 20_000 }, reads: 2_000_000,
  occupancySeries: { intervalMs: 10, values: [0, 500, 1000, 1000] },
  occupancyAtEnqueue: h([0, 0, 10], [512, 1023, 89], [1024, 2047, 1]),
  series: { intervalMs: 10, xmit: [], drops: [], reads: [] },
  lock: { xmit: { count: 10, waitNs: 1000, waitHist: h([64, 127, 10]) }, read: { count: 30, waitNs: 9000, waitHist: h([256, 511, 30]) } },
  latencyNs: null, messages: [], ...over,
});

test('metrics from probe samples: rates per window second, occupancy as a fraction of capacity', () => {
  const m = deriveMetrics({
    windowSeconds: 2, capacity: 1000,
    windowCounters: { tx_packets: 1, tx_bytes: 0, tx_dropped: 1, tx_errors: 0 },
    consumerPackets: 1_900_000, consumerSeconds: 2,
    generator: { tool: 'trafgen', packetsSent: 3_000_000, errors: 0, reportedPps: null, seconds: 2.5, command: [], output: '' },
    probe: probe(), cpu: { generatorPct: 99, consumerPct: 80 },
  });
  assert.equal(m.xmit_pps, 1_000_000);
  assert.equal(m.drop_pps, 10_000);
  assert.ok(Math.abs(m.drop_ratio! - 20_000 / 2_020_000) < 1e-12);
  assert.equal(m.rx_pps, 950_000);
  assert.equal(m.offered_pps, 1_200_000);
  assert.equal(m.occupancy_mean, 0.625);
  assert.equal(m.occupancy_p99, 1, 'capped at capacity');
  assert.equal(m.occupancy_full_fraction, 0.5);
  assert.equal(m.lock_contention_count, 20);
  assert.equal(m.lock_contention_read, 15);
  assert.equal(m.lock_wait_total_ns, 5000);
  assert.equal(m.lock_wait_p99_ns, 511);
  assert.equal(m.latency_p50_ns, null, 'latency only at the full level');
  assert.equal(m.cpu_generator_pct, 99);
});

test('with probes off, accepted and drops come from the tap counters and probe metrics stay null', () => {
  const m = deriveMetrics({
    windowSeconds: 4, capacity: 1000,
    windowCounters: { tx_packets: 4000, tx_bytes: 0, tx_dropped: 40, tx_errors: 0 },
    consumerPackets: 4000, consumerSeconds: 4, generator: null, probe: null, cpu: { generatorPct: null, consumerPct: null },
  });
  assert.equal(m.xmit_pps, 1000);
  assert.equal(m.drop_pps, 10);
  assert.equal(m.offered_pps, null);
  assert.equal(m.occupancy_mean, null);
  assert.equal(m.lock_contention_count, null);
});

test('cross-check: accepted within tolerance, drops and reads exact', () => {
  const counters = { tx_packets: 1_000_000, tx_dropped: 500, tx_bytes: 0, consumer_packets: 999_500, generator_packets: null };
  const ok = crossCheck({ probe: { xmit: 1_005_000, drops: 500, reads: 999_500 }, counters, tolerance: 0.01 });
  assert.deepEqual(ok.map((c) => c.ok), [true, true, true]);
  const bad = crossCheck({ probe: { xmit: 1_020_000, drops: 499, reads: 999_501 }, counters, tolerance: 0.01 });
  assert.deepEqual(bad.map((c) => c.ok), [false, false, false]);
  assert.ok(Math.abs(bad[0]!.relativeDifference - 0.02) < 1e-12);
});
