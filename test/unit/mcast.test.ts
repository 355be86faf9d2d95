// The multicast burst's pure parts: iperf 2's client output (a real capture from this host's
// iperf 2.1.8), and the per-tap accounts of a real trial's readings (mcast-quick, one tap unread).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseIperf2, iperf2Args } from '../../src/workload/generators/iperf2.ts';
import { mcastChecks, summariseMcast, tapAccount, senderBlocked, type McastReadings } from '../../src/trial/mcast-account.ts';
import { mcastMetrics } from '../../src/trial/mcast-trial.ts';
import { mcastProblems } from '../../src/doctor/requirements.ts';
import { ProfileSchema } from '../../src/profile/schema.ts';

const fixture = (f: string) => readFileSync(new URL(`../fixtures/${f}`, import.meta.url), 'utf8');

test('iperf 2 enhanced client output: writes, write errors, datagrams, bytes, seconds', () => {
  const r = parseIperf2(fixture('iperf2-mcast-client.txt'));
  assert.deepEqual(r, { writes: 6667, writeErrors: 0, datagrams: 6669, bytes: Math.round(7.63 * 1024 * 1024), seconds: 0.0781 });
  assert.deepEqual(parseIperf2('connect failed: Network is unreachable'), { writes: null, writeErrors: null, datagrams: null, bytes: null, seconds: null });
  // A write error count is read from the total line's Write/Err column.
  assert.equal(parseIperf2('[  1] 0.0000-1.0000 sec  1.00 MBytes  8.39 Mbits/sec  800/37    800 pps').writeErrors, 37);
});

test('iperf 2 arguments: UDP, IPv6, the group scoped to the sender interface, fixed amount, hop limit 1', () => {
  assert.deepEqual(iperf2Args({ type: 'mcast', group: 'ff15::1', port: 5001, bitrate: 1000, length: 100, sender: 'veth', ownerTrace: false }, 'vs0', 5000), ['-u', '-V', '-e', '-c', 'ff15::1%vs0', '-p', '5001', '-n', '5000', '-b', '1000', '-l', '100', '-T', '1']);
});

test('per-tap accounts of a real trial close exactly; the unread tap filled its ring, dropped the rest, and recovered', () => {
  const r = JSON.parse(fixture('mcast-readings.json')) as McastReadings;
  const checks = mcastChecks(r);
  assert.equal(checks.length, 9);
  for (const c of checks) assert.ok(c.ok, `${c.name}: ${c.probe} vs ${c.counter}`);
  const s = summariseMcast(r);
  assert.equal(s.senderFrames, 6668); // 6667 writes + iperf's final datagram
  assert.equal(s.dnf, false);
  assert.equal(s.blocked, false);
  const unread = s.taps[2]!;
  assert.equal(unread.unread, true);
  assert.deepEqual(unread.queuedAtEnd, { ring: 256, qdisc: 0 });
  assert.equal(unread.delivered, 256);
  assert.equal(unread.tunDrops, 6668 - 256);
  assert.equal(unread.readAfterEnd, 256);
  assert.equal(unread.recovered, true);
  for (const t of s.taps.slice(0, 2)) {
    assert.equal(t.recovered, null);
    assert.equal(t.delivered + t.tunDrops + t.qdiscDrops, 6668);
  }
  const m = mcastMetrics(r);
  assert.equal(m.transfer_dnf, 0);
  assert.equal(m.mcast_unread_recovered, 1);
  assert.equal(m.mcast_sender_blocked, 0);
  assert.equal(m.mcast_read_delivered_min, 5440 / 6668);
});

test('a tap account that does not close is reported, and a queue left full has not recovered', () => {
  const r = JSON.parse(fixture('mcast-readings.json')) as McastReadings;
  const t = structuredClone(r.taps[2]!);
  t.quietAfter.dev.tx_packets = t.transferEnd.dev.tx_packets; // the reader never took the queued frames
  t.reader.quietAfter = t.reader.quietBefore;
  assert.equal(tapAccount(t, 6668, true).recovered, false);
  const bad = { ...r, taps: [r.taps[0]!, r.taps[1]!, t] };
  assert.ok(mcastChecks(bad).some((c) => !c.ok));
});

test('a sender unfinished at the deadline without write errors was blocked', () => {
  const r = JSON.parse(fixture('mcast-readings.json')) as McastReadings;
  const dnf = { ...r, transfer: { ...r.transfer, senderDoneNs: null, verdict: 'did-not-finish' as const } };
  assert.equal(senderBlocked(dnf), true);
  assert.equal(senderBlocked({ ...dnf, sender: { ...dnf.sender, report: { ...dnf.sender.report, writeErrors: 12 } } }), false);
  assert.equal(mcastMetrics(dnf).completion_ns, null);
});

test('profile checks: the multicast lab refuses what it cannot do, naming the field', () => {
  const p = ProfileSchema.parse({
    name: 't', probes: { level: 'counters' },
    workload: { tap: { count: 3, queues: 2 }, generator: { type: 'mcast', length: 1480 }, unread: [3, 3] },
  });
  const probs = mcastProblems({ workload: p.workload, probes: p.probes });
  for (const s of ['workload.transfer', 'tap.queues', 'probes.level', 'generator.length', 'tap 3 does not exist', 'listed twice']) assert.ok(probs.some((x) => x.includes(s)), `${s} in ${probs.join(' | ')}`);
  const flood = ProfileSchema.parse({ name: 't', workload: { tap: { count: 2 }, unread: [0] } });
  const fp = mcastProblems({ workload: flood.workload, probes: flood.probes });
  assert.ok(fp.some((x) => x.startsWith('workload.tap.count')) && fp.some((x) => x.startsWith('workload.unread')));
  const ok = ProfileSchema.parse({ name: 't', probes: { level: 'off' }, workload: { tap: { count: 3 }, generator: { type: 'mcast' }, transfer: { bytes: 1000 }, unread: [2] } });
  assert.deepEqual(mcastProblems({ workload: ok.workload, probes: ok.probes }), []);
  // The default (single-tap) profile parses as before: no count, no unread.
  const d = ProfileSchema.parse({ name: 'd' });
  assert.equal(d.workload.tap.count, undefined);
  assert.equal(d.workload.unread, undefined);
});
