// The iperf3 driver without a network: the end record of real runs (iperf3 3.12 through the
// wire on the development machine, test/fixtures/iperf3/) parsed into typed reports, and the
// client's arguments.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { iperf3ClientArgs, parseIperf3Json, requireIperf3 } from '../../src/workload/generators/iperf3.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/iperf3/${name}.json`, import.meta.url), 'utf8');

test('TCP, 1 stream: receiver-side goodput, sender bytes, retransmits, MSS, congestion control', () => {
  const r = parseIperf3Json(fixture('tcp-1stream'));
  assert.equal(r.protocol, 'tcp');
  assert.equal(r.streams, 1);
  assert.equal(r.receivedBytes, 598183240);
  assert.equal(r.sentBytes, 600965120);
  assert.ok(Math.abs(r.goodputBps - 2389743391.017837) < 1e-3);
  assert.equal(r.retransmits, 11287);
  assert.equal(r.tcpMss, 1448);
  assert.equal(r.congestion, 'bbr');
  assert.equal(r.udp, null);
  assert.equal(r.sentPackets, null);
  assert.equal(r.perStream.length, 1);
  assert.equal(r.perStream[0]!.retransmits, 11287);
});

test('TCP, 8 streams: the sums, and per-stream figures that add up to them', () => {
  const r = parseIperf3Json(fixture('tcp-8streams'));
  assert.equal(r.streams, 8);
  assert.equal(r.perStream.length, 8);
  assert.equal(r.perStream.reduce((s, x) => s + x.receivedBytes, 0), r.receivedBytes);
  assert.equal(r.perStream.reduce((s, x) => s + (x.retransmits ?? 0), 0), r.retransmits);
  assert.equal(r.retransmits, 89445);
  assert.ok(r.goodputBps > 2e9 && r.goodputBps < r.senderBps);
});

test('UDP at 300 Mbit/s: datagrams sent, lost (sequence gaps), ratio, jitter, goodput at the server', () => {
  const r = parseIperf3Json(fixture('udp-1stream-300m'));
  assert.equal(r.protocol, 'udp');
  assert.equal(r.retransmits, null);
  assert.deepEqual(r.udp, { sentPackets: 53548, lostPackets: 439, lostRatio: 439 / 53548, jitterMs: 0.0014056380524464524, outOfOrder: 0 });
  assert.equal(r.sentPackets, 53548);
  assert.equal(r.length, 1400);
  assert.equal(r.sentBytes, 53548 * 1400);
  assert.equal(r.receivedBytes, (53548 - 439) * 1400, 'sum_received: what the server got');
  assert.ok(Math.abs(r.goodputBps - 297383486.7944451) < 1e-3);
});

test('UDP unlimited, 2 streams: heavy loss is reported, goodput far below the sender rate', () => {
  const r = parseIperf3Json(fixture('udp-2streams-unlimited'));
  assert.equal(r.streams, 2);
  assert.ok(r.udp!.lostRatio > 0.5 && r.udp!.lostRatio < 1, String(r.udp!.lostRatio));
  assert.ok(r.goodputBps < r.senderBps / 2);
  assert.equal(r.perStream.length, 2);
});

test('UDP from an older iperf3 with only "sum": goodput derived from the loss', () => {
  const j = JSON.parse(fixture('udp-1stream-300m'));
  delete j.end.sum_sent;
  delete j.end.sum_received;
  const r = parseIperf3Json(JSON.stringify(j));
  assert.ok(Math.abs(r.receivedBytes - (53548 - 439) * 1400) < 1e-3);
});

test('a failed test (server not listening) is a UserError with iperf3\'s reason', () => {
  assert.throws(() => parseIperf3Json(fixture('error-refused')), (e: unknown) => e instanceof UserError && /iperf3: unable to connect to server: Connection refused/.test(e.message));
  assert.throws(() => parseIperf3Json('iperf3: parameter error'), (e: unknown) => e instanceof UserError && /no JSON/.test(e.message));
});

test('client arguments: protocol, streams, bitrate, length, omit; bad values refused', () => {
  assert.deepEqual(iperf3ClientArgs('198.18.0.2', 5201, { protocol: 'udp', streams: 2, duration: 3, bitrate: 1e9, length: 1400, omit: 1 }), [
    '--client', '198.18.0.2', '--port', '5201', '--json', '--time', '3', '--parallel', '2', '--udp', '--bitrate', '1000000000', '--length', '1400', '--omit', '1',
  ]);
  assert.deepEqual(iperf3ClientArgs('198.18.0.2', 5201, { protocol: 'tcp', streams: 8, duration: 3 }).slice(-2), ['--parallel', '8']);
  assert.throws(() => iperf3ClientArgs('a', 1, { protocol: 'tcp', streams: 0, duration: 1 }), UserError);
  assert.throws(() => iperf3ClientArgs('a', 1, { protocol: 'tcp', streams: 1, duration: 0 }), UserError);
  assert.throws(() => iperf3ClientArgs('a', 1, { protocol: 'udp', streams: 1, duration: 1, bitrate: -1 }), UserError);
});

test('a missing iperf3 binary is a UserError that says how to install it', async () => {
  await assert.rejects(requireIperf3('/nonexistent/iperf3'), (e: unknown) => e instanceof UserError && /iperf3 is missing/.test(e.message) && /apt-get install iperf3/.test(e.hint ?? ''));
});
