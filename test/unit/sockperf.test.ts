// The sockperf driver without a network: the summaries of real ping-pong tests (Debian's
// sockperf 3.7, `sockperf server` in one namespace and `sockperf ping-pong -t 2 --msg-size 64
// --full-rtt` in another, joined by a veth: test/fixtures/sockperf/capture.sh) parsed into
// typed reports, a test that reached no server, and the client's arguments.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { missingRequirements, profileProblems } from '../../src/doctor/requirements.ts';
import { parseProfile } from '../../src/profile/load.ts';
import { resolveVariants } from '../../src/profile/plan.ts';
import type { Capabilities } from '../../src/types.ts';
import { parseSockperfOutput, percentileUs, requireSockperf, sockperfClientArgs } from '../../src/workload/generators/sockperf.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/sockperf/${name}.txt`, import.meta.url), 'utf8');

test('UDP ping-pong: every percentile line, max and min, the valid span and its transactions per second', () => {
  const r = parseSockperfOutput(fixture('ping-pong-udp'), 'udp');
  assert.equal(r.protocol, 'udp');
  assert.equal(r.measure, 'rtt');
  assert.equal(r.seconds, 1.55);
  assert.equal(r.sentMessages, 31396);
  assert.equal(r.receivedMessages, 31396);
  assert.ok(Math.abs(r.transactionsPerSecond - 31396 / 1.55) < 1e-9);
  assert.equal(r.totalSeconds, 2);
  assert.equal(r.totalSentMessages, 43408);
  assert.equal(r.totalReceivedMessages, 43407);
  assert.equal(r.observations, 31396);
  assert.equal(r.avgUs, 49.351);
  assert.equal(r.stdDevUs, 33.901);
  assert.equal(r.maxUs, 4031.727);
  assert.equal(r.minUs, 18.797);
  assert.deepEqual(r.percentilesUs, {
    '99.999': 4031.727, '99.990': 1356.444, '99.900': 101.9, '99.000': 69.773,
    '90.000': 51.546, '75.000': 50.144, '50.000': 49.062, '25.000': 47.56,
  });
  assert.equal(percentileUs(r, 50), 49.062);
  assert.equal(percentileUs(r, 99), 69.773);
  assert.equal(percentileUs(r, 99.9), 101.9);
  assert.equal(percentileUs(r, 95), null, 'a percentile sockperf does not print');
  assert.deepEqual([r.dropped, r.duplicated, r.outOfOrder], [0, 0, 0]);
});

test('TCP ping-pong: the same lines, ordered min <= p50 <= p99 <= p99.9 <= max', () => {
  const r = parseSockperfOutput(fixture('ping-pong-tcp'), 'tcp');
  assert.equal(r.protocol, 'tcp');
  assert.equal(r.receivedMessages, 29349);
  assert.equal(r.seconds, 1.55);
  assert.equal(r.avgUs, 52.794);
  assert.equal(percentileUs(r, 50), 50.464);
  assert.equal(percentileUs(r, 99.999), 3542.962);
  const order = [r.minUs, percentileUs(r, 50)!, percentileUs(r, 99)!, percentileUs(r, 99.9)!, r.maxUs];
  assert.deepEqual([...order].sort((a, b) => a - b), order);
});

test('no server: sockperf exits 0 without figures; the parse is a UserError in its own words', () => {
  assert.throws(() => parseSockperfOutput(fixture('ping-pong-noserver'), 'udp'), (e: unknown) => e instanceof UserError && /No messages were received from the server/.test(e.message));
  assert.throws(() => parseSockperfOutput('', 'udp'), (e: unknown) => e instanceof UserError && /no output/.test(e.message));
  // A summary cut off before its percentiles is not taken for a result.
  const cut = fixture('ping-pong-udp').split('\n').filter((l) => !/percentile|observation =/.test(l)).join('\n');
  assert.throws(() => parseSockperfOutput(cut, 'udp'), UserError);
});

test('client arguments: ping-pong, TCP only with --tcp, round trips (--full-rtt); bad sizes refused', () => {
  const udp = sockperfClientArgs('198.18.0.2', 11111, { protocol: 'udp', messageSize: 64, mps: 'max', seconds: 4 });
  assert.deepEqual(udp, ['ping-pong', '--ip', '198.18.0.2', '--port', '11111', '--msg-size', '64', '--time', '4', '--mps=max', '--full-rtt']);
  const tcp = sockperfClientArgs('198.18.0.2', 11111, { protocol: 'tcp', messageSize: 1000, mps: 5000, seconds: 2 });
  assert.ok(tcp.includes('--tcp') && tcp.includes('--mps=5000'));
  assert.throws(() => sockperfClientArgs('x', 1, { protocol: 'udp', messageSize: 10, mps: 'max', seconds: 2 }), UserError);
  assert.throws(() => sockperfClientArgs('x', 1, { protocol: 'udp', messageSize: 64, mps: 'max', seconds: 1.5 }), UserError);
});

test('a missing sockperf binary is a UserError that says how to install it', async () => {
  await assert.rejects(requireSockperf('/nonexistent/sockperf'), (e: unknown) => e instanceof UserError && /sockperf is missing/.test(e.message) && /apt-get install sockperf/.test(e.hint ?? '') && /scripts\/setup\.sh/.test(e.hint ?? ''));
});


const caps = (over: Partial<Capabilities> = {}): Capabilities => ({
  root: true, devNetTun: { available: true, reason: '' }, netns: { available: true, reason: '' }, sink: { available: true, reason: '', path: '' },
  bpftrace: { available: true, reason: '', version: '0.17' }, tracefs: { available: true, reason: '', path: '/sys/kernel/tracing' },
  sampler: { available: true, reason: '', offsets: null }, trafgen: { available: true, reason: '', version: '0.6' }, pktgen: { available: false, reason: 'no pktgen' },
  tun: { queue: 'ptr_ring', evidence: '' }, kernel: { release: '6.18', version: '', arch: 'x86_64' }, qemu: { available: true, reason: '', version: null }, vhostNet: { available: false, reason: '' },
  wire: { available: false, reason: 'not built', path: null }, iperf3: { available: true, reason: '', version: '3.12' }, qdiscs: {},
  ...over,
} as Capabilities);

test('requirements: sockperf missing stops the run with the install command; it needs the wire behind the tap', () => {
  const vs = resolveVariants(parseProfile('name: t\nworkload: { generator: { type: sockperf }, consumer: { type: wire } }', 't.yaml'));
  const without = missingRequirements(caps({ wire: { available: true, reason: '', path: '/x' }, sockperf: { available: false, reason: 'sockperf is missing (sockperf --version: ENOENT): apt-get install sockperf (or bash scripts/setup.sh)', version: null } }), vs, null, 'host');
  assert.equal(without.length, 1);
  assert.match(without[0]!, /sockperf .*apt-get install sockperf/);
  assert.deepEqual(missingRequirements(caps({ wire: { available: true, reason: '', path: '/x' }, sockperf: { available: true, reason: '', version: '3.7' } }), vs, null, 'host'), []);
  const sink = resolveVariants(parseProfile('name: t\nworkload: { generator: { type: sockperf }, consumer: { type: sink } }', 't.yaml'));
  assert.match(profileProblems(sink, null).join('\n'), /sockperf needs its server behind the tap: set workload.consumer.type: wire/);
  const big = resolveVariants(parseProfile('name: t\nworkload: { generator: { type: sockperf, messageSize: 1480 }, consumer: { type: wire } }', 't.yaml'));
  assert.match(profileProblems(big, null).join('\n'), /messageSize: 1480 .* at most 1472/);
});
