// Issue 13 end to end on the real kernel, through `tunbench bench`: iperf3 TCP (1 and 8
// streams) and UDP flows and TCP beside a flood through a real lab tap and the wire consumer
// (profile tcp-quick), the tap's qdisc set and read back for each kind, and the sent/lost
// accounts closing exactly on a UDP flood (trafgen) into a full 16-packet queue.
// Kinds this kernel cannot attach (fq_codel, fq on the development kernel) are skipped with
// the reason, and their refusal before any traffic (exit 2, the kernel option named) is checked.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { execa } from 'execa';
import { QDISC_KINDS, supportedQdiscs, type QdiscKind } from '../../src/lab/qdisc.ts';
import type { Result } from '../../src/types.ts';
import { cli, flowsMissing, TCP_FRAME_OVERHEAD, tmp as tmpDir, UDP_FRAME_OVERHEAD, windowOf } from '../helpers/cli.ts';

const bench = (args: string[]) => cli(['bench', '--progress', 'plain', ...args], {}, { timeout: 170_000 });
const tmp = () => tmpDir('tunbench-flows');
const load = (dir: string) => JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Result;

let why: string | null = null;
let support = new Map<QdiscKind, string | null>();
before(async () => {
  why = await flowsMissing();
  if (!why) support = await supportedQdiscs();
});

test('tcp-quick: TCP 1 and 8 streams, UDP, TCP beside a flood, through the wire: goodput consistent with the lab tap, retransmits reported, every count closes', async (t) => {
  if (why) return t.skip(why);
  const out = tmp();
  const r = await bench(['--profile', 'tcp-quick', '--out', out]);
  assert.equal(r.exitCode, 0, r.all);
  const result = load(out);
  assert.equal(result.status, 'complete');
  const byVariant = new Map(result.variants.map((v) => [v.name, v.trials]));
  for (const v of result.variants) {
    for (const tr of v.trials) {
      assert.equal(tr.status, 'ok', tr.error);
      const m = tr.metrics;
      const w = windowOf(tr);
      const flow = tr.readings!.generator!.flow!;
      t.diagnostic(`${v.name} #${tr.repetition}: goodput ${(m.goodput_bps! / 1e9).toFixed(3)} Gbit/s, retransmits ${m.retransmits}, udp lost ${m.udp_lost_ratio}, tap ${(w.bytes * 8 / w.span / 1e9).toFixed(3)} Gbit/s ${Math.round(w.packets / w.span)} pps, lost_ratio ${m.lost_ratio?.toFixed(4)}, qdisc ${tr.readings!.qdisc!.kind} backlog mean ${m.qdisc_backlog_mean}`);
      assert.equal(tr.readings!.generator!.tool, 'iperf3');
      assert.equal(tr.consumer!.tool, 'wire');
      assert.ok(m.goodput_bps! > 0, 'goodput above zero');
      assert.equal(tr.readings!.qdisc!.kind, 'pfifo_fast', 'qdisc default read back as what the kernel attached');
      assert.ok(tr.readings!.qdisc!.samples.backlogPackets.length >= 20, 'qdisc sampled in the window (every 50 ms)');
      for (const k of ['sent_pps', 'lost_pps', 'lost_ratio', 'qdisc_drop_pps', 'qdisc_requeue_pps', 'qdisc_backlog_mean', 'occupancy_mean'] as const) assert.equal(typeof m[k], 'number', `${k} in ${v.name}`);
      // Every count closes exactly: reads, the qdisc's count against reads + drops (at counters
      // no probe counts drops: tx_dropped is the count).
      assert.ok(tr.crossCheck.length >= 2);
      for (const c of tr.crossCheck) assert.ok(c.ok, `${v.name}: ${c.name}: ${c.probe} vs ${c.counter}`);
      assert.ok(tr.crossCheck.some((c) => c.name.startsWith('sent = delivered')));
      // The peer tap's counters are recorded (the ACKs or nothing came back through it).
      assert.ok(tr.readings!.peerTap, 'peer tap counters kept');
      assert.equal(tr.consumer!.toPeer!.packets, tr.consumer!.packets, 'the wire forwarded what it read');
      if (flow.protocol === 'tcp') {
        assert.equal(typeof m.retransmits, 'number', 'retransmits reported');
        assert.equal(m.udp_lost_ratio, null);
        if (!v.name.includes('flood')) {
          // Payload through the lab tap over the window against iperf3's receiver figure over its
          // own measured seconds (which cover the window and up to a second more): within 30%.
          const payloadBps = ((w.bytes - TCP_FRAME_OVERHEAD * w.packets) * 8) / w.span;
          assert.ok(Math.abs(payloadBps / m.goodput_bps! - 1) < 0.3, `tap payload ${(payloadBps / 1e9).toFixed(3)} Gbit/s vs goodput ${(m.goodput_bps! / 1e9).toFixed(3)}`);
        }
      } else {
        assert.equal(m.retransmits, null);
        assert.ok(m.udp_lost_ratio! >= 0 && m.udp_lost_ratio! < 1);
        const payloadBps = ((w.bytes - UDP_FRAME_OVERHEAD * w.packets) * 8) / w.span;
        assert.ok(Math.abs(payloadBps / m.goodput_bps! - 1) < 0.1, `UDP: tap payload ${(payloadBps / 1e6).toFixed(1)} Mbit/s vs goodput ${(m.goodput_bps! / 1e6).toFixed(1)}`);
      }
    }
  }
  // Beside the flood the tap carried the flood too: more sent than the flows alone, and the flood's report is kept.
  for (const tr of byVariant.get('tcp-8-flood')!) {
    assert.equal(tr.readings!.background!.tool, 'trafgen');
    assert.ok(tr.readings!.background!.packetsSent! > 50_000, `the flood ran: ${tr.readings!.background!.packetsSent}`);
  }
  const md = readFileSync(join(out, 'summary.md'), 'utf8');
  assert.match(md, /## Sent and lost \(Kpps\)/);
  assert.match(md, /\| tcp-8 \| default \(pfifo_fast\) \| iperf3 tcp x8 \| wire \|/);
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /<section id="sent-lost">/);
});

/** A UDP flood (trafgen, 64-byte frames) on 2 CPUs into a 16-packet queue, one variant per kind. */
function floodProfile(kinds: QdiscKind[]): string {
  return [
    'name: flood-qdiscs',
    'duration: 1',
    'rampUp: 0.5',
    'repetitions: 1',
    'warmupTrials: 0',
    'probes: { level: counters }',
    'workload:',
    '  tap: { txQueueLen: 16 }',
    '  generator: { type: trafgen, packetSize: 64, cpus: 2, qdisc: true }',
    '  consumer: { type: sink, mode: blocking, cpu: -1 }',
    'variants:',
    ...kinds.map((k) => `  - { name: ${k}, workload: { tap: { qdisc: ${k} } } }`),
    '',
  ].join('\n');
}

test('the qdisc is set and read back for each kind; the sent/lost accounts close exactly on a UDP flood into a full queue', async (t) => {
  if (why) return t.skip(why);
  const usable = QDISC_KINDS.filter((k) => support.get(k) === null);
  const dir = tmp();
  const file = join(dir, 'flood.yaml');
  writeFileSync(file, floodProfile(usable));
  const out = join(dir, 'out');
  const r = await bench(['--profile', file, '--out', out]);
  assert.equal(r.exitCode, 0, r.all);
  const result = load(out);
  for (const kind of QDISC_KINDS) {
    await t.test(`qdisc ${kind}`, (st) => {
      if (support.get(kind) !== null) return st.skip(`this kernel cannot attach ${kind}: ${support.get(kind)}`);
      const tr = result.variants.find((v) => v.name === kind)!.trials[0]!;
      assert.equal(tr.status, 'ok', tr.error);
      const q = tr.readings!.qdisc!;
      assert.equal(q.requested, kind);
      assert.equal(q.kind, kind === 'default' ? 'pfifo_fast' : kind, 'read back');
      for (const at of Object.values(q.at)) assert.equal(at.kind, q.kind, 'the same qdisc at every reading');
      const m = tr.metrics;
      st.diagnostic(`${kind}: sent ${(m.sent_pps! / 1e3).toFixed(0)} Kpps, delivered ${(m.rx_pps! / 1e3).toFixed(0)}, qdisc drops ${(m.qdisc_drop_pps! / 1e3).toFixed(1)}, tun drops ${(m.drop_pps! / 1e3).toFixed(1)}, lost ratio ${(m.lost_ratio! * 100).toFixed(1)}%; checks: ${tr.crossCheck.map((c) => `${c.probe}=${c.counter}`).join(', ')}`);
      assert.ok(m.drop_pps! > 0, 'the 16-packet ring was full: tun dropped');
      assert.ok(m.lost_ratio! > 0 && m.lost_ratio! < 1);
      for (const c of tr.crossCheck) assert.ok(c.ok, `${kind}: ${c.name}: ${c.probe} vs ${c.counter}`);
      const sentCheck = tr.crossCheck.find((c) => c.name.startsWith('sent = delivered'));
      const genCheck = tr.crossCheck.find((c) => c.name.startsWith("packets sent (generator's count"))!;
      assert.ok(genCheck, 'trafgen\'s own count against the accounts');
      if (kind === 'noqueue') assert.equal(sentCheck, undefined, 'noqueue: no qdisc count to check against');
      else assert.ok(sentCheck && sentCheck.counter > 0, 'the qdisc\'s count against delivered + drops');
    });
  }
});

test('a qdisc this kernel cannot attach is refused before any traffic, with the kernel option and the fix', async (t) => {
  if (why) return t.skip(why);
  const missing = QDISC_KINDS.filter((k) => support.get(k) !== null);
  if (missing.length === 0) return t.skip('this kernel attaches every kind: nothing to refuse');
  const dir = tmp();
  const file = join(dir, 'missing.yaml');
  writeFileSync(file, floodProfile(missing));
  const r = await bench(['--profile', file, '--out', join(dir, 'out')]);
  assert.equal(r.exitCode, 2, r.all);
  for (const k of missing) assert.match(r.all ?? '', new RegExp(`qdisc ${k} .*needs CONFIG_NET_SCH_${k === 'fq' ? 'FQ\\)' : 'FQ_CODEL'}.*modprobe sch_${k}`));
  assert.doesNotMatch(r.all ?? '', /\[1\/\d+\]/, 'no trial started');
});
