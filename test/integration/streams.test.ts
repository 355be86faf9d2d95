// Issue 23 part 3 end to end on the host kernel, through `tunbench bench`: a profile's sweep of
// iperf3 TCP streams (1 and 4) becomes two variants of one interleaved run through a real lab
// tap and the wire consumer; each trial keeps every stream's goodput and retransmits, its
// fairness (Jain's index) and slowest/fastest stream, and its counts close exactly.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { execa } from 'execa';
import type { Result } from '../../src/types.ts';
import { flowsMissing } from '../helpers/cli.ts';

const CLI = ['--import', 'tsx', 'src/cli.ts'];
/** Ethernet (14) + IPv4 (20) + TCP with timestamps (32). */
const TCP_FRAME_OVERHEAD = 66;

let why: string | null = null;
before(async () => {
  why = await flowsMissing();
});

const PROFILE = `name: streams-sweep
duration: 1
rampUp: 1
repetitions: 1
warmupTrials: 0
probes: { level: counters }
workload:
  generator: { type: iperf3, protocol: tcp }
  consumer: { type: wire }
sweep: { streams: [1, 4] }
`;

test('sweep.streams [1, 4] through the wire: per-stream goodput, fairness and retransmits in every trial, every count closes', async (t) => {
  if (why) return t.skip(why);
  const dir = mkdtempSync(join(tmpdir(), 'tunbench-streams-'));
  writeFileSync(join(dir, 'streams.yaml'), PROFILE);
  const out = join(dir, 'out');
  const r = await execa(process.execPath, [...CLI, 'bench', '--progress', 'plain', '--profile', join(dir, 'streams.yaml'), '--out', out], { reject: false, all: true, timeout: 150_000 });
  assert.equal(r.exitCode, 0, r.all);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Result;
  assert.equal(result.status, 'complete');
  assert.deepEqual(result.variants.map((v) => [v.name, v.baseline]), [['streams-sweep-1', true], ['streams-sweep-4', false]]);
  for (const v of result.variants) {
    const n = Number(v.name.split('-').at(-1));
    assert.equal(v.trials.length, 1);
    for (const tr of v.trials) {
      assert.equal(tr.status, 'ok', tr.error);
      const m = tr.metrics;
      const flow = tr.readings!.generator!.flow!;
      const per = flow.perStream!;
      t.diagnostic(`${v.name}: goodput ${(m.goodput_bps! / 1e9).toFixed(3)} Gbit/s, per stream ${per.map((s) => (s.goodputBps / 1e9).toFixed(3)).join(' / ')} Gbit/s, Jain ${m.stream_fairness!.toFixed(4)}, retransmits ${per.map((s) => s.retransmits).join(' / ')} (total ${m.retransmits})`);
      assert.equal(flow.streams, n, 'iperf3 ran the swept number of streams');
      assert.equal(per.length, n, 'every stream kept');
      // The streams add up to the totals iperf3 reports (its end record's sums).
      assert.equal(per.reduce((s, x) => s + x.receivedBytes, 0), flow.receivedBytes, 'bytes at the receiver: streams vs sum');
      assert.equal(per.reduce((s, x) => s + (x.retransmits ?? 0), 0), flow.retransmits, 'retransmits: streams vs sum');
      const sum = per.reduce((s, x) => s + x.goodputBps, 0);
      assert.ok(Math.abs(sum / m.goodput_bps! - 1) < 0.05, `streams' goodput ${sum} vs total ${m.goodput_bps}`);
      for (const s of per) assert.ok(s.goodputBps > 0 && s.retransmits !== null && s.retransmits >= 0, `every stream delivered: ${JSON.stringify(s)}`);
      // Fairness, slowest and fastest stream.
      assert.equal(m.stream_goodput_min_bps, Math.min(...per.map((s) => s.goodputBps)));
      assert.equal(m.stream_goodput_max_bps, Math.max(...per.map((s) => s.goodputBps)));
      assert.ok(m.stream_goodput_min_bps! <= m.goodput_bps! / n && m.goodput_bps! / n <= m.stream_goodput_max_bps!);
      if (n === 1) assert.equal(m.stream_fairness, 1, 'one stream is perfectly fair');
      else assert.ok(m.stream_fairness! > 1 / n && m.stream_fairness! <= 1, `Jain's index ${m.stream_fairness} in (1/n, 1]`);
      // The payload through the lab tap over the window against iperf3's receiver figure (over
      // its own measured seconds, which cover the window and up to a second more): within 30%.
      const rd = tr.readings!;
      const span = (rd.tap.windowEnd.tNs - rd.tap.windowStart.tNs) / 1e9;
      const packets = rd.tap.windowEnd.tx_packets - rd.tap.windowStart.tx_packets;
      const bytes = rd.tap.windowEnd.tx_bytes - rd.tap.windowStart.tx_bytes;
      const payloadBps = ((bytes - TCP_FRAME_OVERHEAD * packets) * 8) / span;
      assert.ok(Math.abs(payloadBps / m.goodput_bps! - 1) < 0.3, `tap payload ${(payloadBps / 1e9).toFixed(3)} Gbit/s vs goodput ${(m.goodput_bps! / 1e9).toFixed(3)}`);
      // Every count closes exactly (reads, and sent = delivered + drops + queued).
      assert.ok(tr.crossCheck.some((c) => c.name.startsWith('sent = delivered')));
      for (const c of tr.crossCheck) assert.ok(c.ok, `${v.name}: ${c.name}: ${c.probe} vs ${c.counter}`);
      assert.equal(tr.consumer!.toPeer!.packets, tr.consumer!.packets, 'the wire forwarded what it read');
    }
  }
});

test('sweep.threads [1, 2]: trafgen threads into a 2-queue tap steered by CPU, each queue read, every count closes', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('not root');
  const dir = mkdtempSync(join(tmpdir(), 'tunbench-threads-'));
  writeFileSync(join(dir, 'threads.yaml'), `name: threads
duration: 1
rampUp: 0.5
repetitions: 1
warmupTrials: 0
probes: { level: counters }
workload:
  tap: { txQueueLen: 256 }
  generator: { type: trafgen, packetSize: 64, qdisc: true }
  consumer: { type: sink, mode: blocking, cpu: -1 }
sweep: { threads: [1, 2] }
`);
  const out = join(dir, 'out');
  const r = await execa(process.execPath, [...CLI, 'bench', '--progress', 'plain', '--no-report', '--profile', join(dir, 'threads.yaml'), '--out', out], { reject: false, all: true, timeout: 120_000 });
  assert.equal(r.exitCode, 0, r.all);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Result;
  assert.deepEqual(result.variants.map((v) => [v.name, v.workload.tap.queues, v.workload.tap.steering ?? 'flow']), [['threads-1', 1, 'flow'], ['threads-2', 2, 'cpu']]);
  for (const v of result.variants) {
    const tr = v.trials[0]!;
    assert.equal(tr.status, 'ok', tr.error);
    const per = tr.consumer!.perQueue;
    t.diagnostic(`${v.name}: per queue ${per.join(' / ')} packets read, offered ${Math.round(tr.metrics.offered_pps ?? 0)} pps, lost ${((tr.metrics.lost_ratio ?? 0) * 100).toFixed(1)}%`);
    assert.equal(per.length, v.workload.tap.queues);
    assert.equal(per.reduce((a, b) => a + b, 0), tr.consumer!.packets);
    // Steered by CPU, each of the two trafgen workers (pinned to CPUs 0 and 1) fills its own queue.
    for (const q of per) assert.ok(q > 1000, `every queue read: ${per.join(' / ')}`);
    for (const c of tr.crossCheck) assert.ok(c.ok, `${v.name}: ${c.name}: ${c.probe} vs ${c.counter}`);
    assert.ok(tr.crossCheck.some((c) => c.name.startsWith('packets sent')), 'the generator\'s count checked against the accounts');
  }
});
