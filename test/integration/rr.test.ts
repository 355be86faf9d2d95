// Issue 23 part 4 end to end on the real kernel, through `tunbench bench`: request/response
// latency (profile rr-quick: sockperf ping-pong, UDP and TCP, 64-byte messages) from the lab
// namespace through a real lab tap and the wire consumer to `sockperf server` in the wire's
// peer namespace. Each trial must report round-trip percentiles in order (p50 <= p99 <= p99.9
// <= max, all above zero), transactions per second above zero, and close every cross-check
// (the tap's packets counted as for iperf3 flows).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { Result } from '../../src/types.ts';
import { cli, tmp as tmpDir, windowOf } from '../helpers/cli.ts';

const bench = (args: string[]) => cli(['bench', '--progress', 'plain', ...args], {}, { timeout: 170_000 });

/** Why this test cannot run here (not root, no sockperf), or null. */
async function rrMissing(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'not root (the lab needs network namespaces and a tap)';
  const { requireSockperf } = await import('../../src/workload/generators/sockperf.ts');
  try {
    await requireSockperf();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

let why: string | null = null;
before(async () => {
  why = await rrMissing();
  if (why) console.log(`rr.test.ts skipped: ${why}`);
});

test('rr-quick: sockperf ping-pong UDP and TCP through the wire: ordered round-trip percentiles, transactions, every count closes', async (t) => {
  if (why) return t.skip(why);
  const out = tmpDir('tunbench-rr');
  const r = await bench(['--profile', 'rr-quick', '--out', out]);
  assert.equal(r.exitCode, 0, r.all);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Result;
  assert.equal(result.status, 'complete');
  assert.deepEqual(result.variants.map((v) => v.name), ['udp', 'tcp']);
  for (const v of result.variants) {
    assert.equal(v.trials.length, 2);
    for (const tr of v.trials) {
      assert.equal(tr.status, 'ok', tr.error);
      const m = tr.metrics;
      const gen = tr.readings!.generator!;
      assert.equal(gen.tool, 'sockperf');
      assert.equal(tr.consumer!.tool, 'wire');
      const rr = gen.rr!;
      assert.ok(rr, 'the sockperf report is kept in generator.rr');
      assert.equal(rr.protocol, v.name);
      assert.equal(rr.measure, 'rtt', 'round trips (--full-rtt), not half of them');
      const p50 = m.rr_latency_p50_ns!;
      const p99 = m.rr_latency_p99_ns!;
      const p999 = m.rr_latency_p999_ns!;
      const max = m.rr_latency_max_ns!;
      const tps = m.rr_transactions_per_s!;
      t.diagnostic(`${v.name} #${tr.repetition}: p50 ${(p50 / 1000).toFixed(1)} us, p99 ${(p99 / 1000).toFixed(1)} us, p99.9 ${(p999 / 1000).toFixed(1)} us, max ${(max / 1000).toFixed(1)} us, ${Math.round(tps)} transactions/s over ${rr.seconds} s (${rr.receivedMessages} replies)`);
      for (const [k, x] of Object.entries({ p50, p99, p999, max, tps })) assert.ok(typeof x === 'number' && x > 0, `${k} ${x} above zero`);
      assert.ok(p50 <= p99 && p99 <= p999 && p999 <= max, `ordered: p50 ${p50} <= p99 ${p99} <= p99.9 ${p999} <= max ${max}`);
      // The metrics are sockperf's own lines (microseconds, 3 decimals) in nanoseconds.
      assert.equal(p50, Math.round(rr.percentilesUs['50.000']! * 1000));
      assert.equal(max, Math.round(rr.maxUs * 1000));
      assert.ok(Math.abs(tps - rr.receivedMessages / rr.seconds) < 1e-6);
      assert.ok(rr.receivedMessages > 0 && rr.receivedMessages <= rr.sentMessages);
      // One message in flight: a transaction per round trip, so the rate is about 1 / mean round
      // trip (within a factor of 2: sockperf's own pauses between messages are not in its times).
      const perMean = 1e6 / rr.avgUs;
      assert.ok(tps <= perMean * 1.05 && tps >= perMean / 2, `${tps} transactions/s against 1 / mean round trip ${perMean}`);
      // Requests crossed the lab tap: at least one frame per transaction in the window.
      const w = windowOf(tr);
      assert.ok(w.packets > 0, 'frames crossed the lab tap in the window');
      assert.ok(tr.crossCheck.length >= 2, 'the accounting checks ran');
      for (const c of tr.crossCheck) assert.ok(c.ok, `${v.name}: ${c.name}: ${c.probe} vs ${c.counter}`);
      assert.ok(tr.crossCheck.some((c) => c.name.startsWith('sent = delivered')));
      assert.ok(tr.readings!.peerTap, 'peer tap counters kept (the replies came back through it)');
      assert.equal(tr.consumer!.toPeer!.packets, tr.consumer!.packets, 'the wire forwarded what it read');
    }
  }
});

test('rr-load: TCP ping-pong beside a 100 kpps flood in the same tap: the flood ran and crossed the tap with the requests, round trips still ordered, every count closes', async (t) => {
  if (why) return t.skip(why);
  const out = tmpDir('tunbench-rr-load');
  const r = await bench(['--profile', 'rr-load', '--variants', 'idle,flood-100k', '--repetitions', '2', '--duration', '2', '--out', out]);
  assert.equal(r.exitCode, 0, r.all);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Result;
  assert.equal(result.status, 'complete');
  assert.deepEqual(result.variants.map((v) => v.name), ['idle', 'flood-100k']);
  const frames: Record<string, number[]> = {};
  for (const v of result.variants) {
    for (const tr of v.trials) {
      assert.equal(tr.status, 'ok', tr.error);
      const m = tr.metrics;
      const rr = tr.readings!.generator!.rr!;
      assert.equal(rr.protocol, 'tcp');
      const [p50, p99, p999, max] = [m.rr_latency_p50_ns!, m.rr_latency_p99_ns!, m.rr_latency_p999_ns!, m.rr_latency_max_ns!];
      assert.ok(p50 > 0 && p50 <= p99 && p99 <= p999 && p999 <= max, `${v.name}: ordered ${p50} ${p99} ${p999} ${max}`);
      assert.ok(m.rr_transactions_per_s! > 0);
      for (const c of tr.crossCheck) assert.ok(c.ok, `${v.name}: ${c.name}: ${c.probe} vs ${c.counter}`);
      const w = windowOf(tr);
      (frames[v.name] ??= []).push(w.packets / w.span);
      const bg = tr.readings!.background;
      if (v.name === 'idle') assert.equal(bg, undefined, 'no flood beside the idle ping-pong');
      else {
        assert.equal(bg!.tool, 'trafgen');
        assert.ok(bg!.packetsSent! > 100_000, `the flood ran: ${bg!.packetsSent} frames`);
      }
      t.diagnostic(`${v.name} #${tr.repetition}: p50 ${(p50 / 1000).toFixed(1)} us, p99 ${(p99 / 1000).toFixed(1)} us, p99.9 ${(p999 / 1000).toFixed(1)} us, ${Math.round(m.rr_transactions_per_s!)} transactions/s, ${Math.round(w.packets / w.span)} frames/s through the tap`);
    }
  }
  // Beside the flood the tap carried flood frames on top of the ping-pong's (here 66-69 k frames/s
  // against 11 k idle: the wire takes part of the 100 kpps).
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(mean(frames['flood-100k']!) > mean(frames.idle!) + 20_000, `frames/s through the tap: idle ${mean(frames.idle!)}, beside the flood ${mean(frames['flood-100k']!)}`);
});
