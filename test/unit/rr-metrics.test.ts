// Request/response figures from real sockperf summaries captured in tunbench trials through the
// wire (test/fixtures/sockperf/pingpong-*-wire.txt: rr-quick on this host; pingpong-udp-lost-
// stall.txt: UDP ping-pong beside a 100 kpps flood, where one request was lost and sockperf
// waited for it until its timer): the metrics in nanoseconds, and the stall told apart.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { emptyMetrics, METRICS } from '../../src/metrics.ts';
import { rrMetrics } from '../../src/trial/metrics.ts';
import { parseSockperfOutput, sockperfStalled } from '../../src/workload/generators/sockperf.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/sockperf/${name}.txt`, import.meta.url), 'utf8');

test('rr metrics: sockperf microseconds as nanoseconds, transactions per second of its valid span', () => {
  const r = parseSockperfOutput(fixture('pingpong-udp-wire'), 'udp');
  const m = emptyMetrics();
  rrMetrics(r, m);
  assert.equal(m.rr_latency_p50_ns, 58606);
  assert.equal(m.rr_latency_p99_ns, 104204);
  assert.equal(m.rr_latency_p999_ns, 545292);
  assert.equal(m.rr_latency_max_ns, 4425302);
  assert.equal(Math.round(m.rr_transactions_per_s!), Math.round(r.receivedMessages / 3.55));
  assert.ok(m.rr_latency_p50_ns! <= m.rr_latency_p99_ns! && m.rr_latency_p99_ns! <= m.rr_latency_p999_ns! && m.rr_latency_p999_ns! <= m.rr_latency_max_ns!);
  assert.equal(sockperfStalled(r), null, 'a whole test: not stalled');
  for (const k of ['rr_latency_p50_ns', 'rr_latency_p99_ns', 'rr_latency_p999_ns', 'rr_latency_max_ns'] as const) assert.equal(METRICS[k].better, 'lower');
  assert.equal(METRICS.rr_transactions_per_s.better, 'higher');
});

test('a half-round-trip summary (no --full-rtt) is doubled, never taken for a round trip', () => {
  const r = parseSockperfOutput(fixture('pingpong-udp-half-rtt'), 'udp');
  assert.equal(r.measure, 'half-rtt');
  const m = emptyMetrics();
  rrMetrics(r, m);
  assert.equal(m.rr_latency_p50_ns, Math.round(25.612 * 2 * 1000));
});

test('UDP ping-pong that lost a message: the stall is named; TCP and whole tests are not', () => {
  const stalled = parseSockperfOutput(fixture('pingpong-udp-lost-stall'), 'udp');
  assert.equal(stalled.seconds, 0.322);
  assert.equal(stalled.totalSeconds, 4.001);
  const why = sockperfStalled(stalled);
  assert.ok(why && /0\.322 s of its 4\.001 s test/.test(why) && /sent 12585, received 12584/.test(why) && /protocol: tcp/.test(why), String(why));
  assert.equal(sockperfStalled(parseSockperfOutput(fixture('pingpong-tcp-wire'), 'tcp')), null);
  assert.equal(sockperfStalled(parseSockperfOutput(fixture('pingpong-udp-full-rtt'), 'udp')), null);
});
