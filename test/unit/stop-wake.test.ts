// The sampler's stop/wake record (issue 23): rendered from BTF offsets, parsed, cut to the window.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBtfRaw, tunOffsetsFrom, txqOffsets, type TunOffsets } from '../../src/probes/btf-offsets.ts';
import { parseProbeOutput } from '../../src/probes/parse.ts';
import { renderScript } from '../../src/probes/render.ts';
import { cutWindow } from '../../src/probes/window.ts';

const base: TunOffsets = {
  source: '/sys/kernel/btf/vmlinux',
  tfile: { tun: 960, queueIndex: 980, txRing: 1600, skq: null, rxQueueQlen: 184, rxQueueLock: 188 },
  tunStruct: { dev: 2064 },
  ring: { producer: 0, producerLock: 4, consumerHead: 64, consumerLock: 72, size: 128, queue: 136 },
};
const txq = { devTx: 896, queueSize: 320, state: 160, qdisc: 8, qdiscGsoQlen: 144 };
const params = { readerPid: 4242, sampleMs: 10, capacity: 1000, queues: 2, level: 'counters' as const, backend: null, locks: false, offsets: { ...base, txq }, xmitRanges: [] };

test('sampler: each tx queue\'s stopped bit and its qdisc\'s held packets, per tick, from the tap\'s net_device', () => {
  const s = renderScript(params);
  assert.doesNotMatch(s, /\{\{|\/\/@/);
  assert.match(s, /\$txq1 = \*\(uint64 \*\)\(@dev \+ 896\) \+ 320;/, 'queue 1: _tx + 1 x sizeof(struct netdev_queue)');
  assert.match(s, /\$s0 = \(\*\(uint64 \*\)\(\$txq0 \+ 160\) & 1\) != 0 \? 1 : 0;/, 'bit 0: __QUEUE_STATE_DRV_XOFF');
  assert.match(s, /\$h0 = \*\(uint32 \*\)\(\$qd0 \+ 144\);/, 'Qdisc.gso_skb.qlen');
  assert.match(s, /@bs\[\$slot, 0\] = \$s0;\n\t@bh\[\$slot, 0\] = \$h0;/, 'stored with the tick');
  assert.match(s, /printf\("ticks %d 4 4 %llu %d %d %d %d %d %d %d %d %llu /, 'four values a queue, two queues: four ticks to a record (36 arguments at most)');
  assert.match(s, /@bn\[3, 1\], @bf\[3, 1\], @bs\[3, 1\], @bh\[3, 1\]\);/);
  assert.match(s, /clear\(@bs\); clear\(@bh\);/);
  const tick = s.slice(s.indexOf('interval:ms:10'), s.indexOf('END'));
  assert.doesNotMatch(tick, /kfree_skb/, 'still nothing per drop');
  // Without the offsets (an older kernel's BTF), nothing of it.
  const without = renderScript({ ...params, offsets: base });
  assert.doesNotMatch(without, /printf\("txq|\$s0 =|@bs|@bh/);
  assert.match(without, /printf\("ticks %d 7 2 /, 'two values a queue without them: seven ticks to a record');
});

test('BTF: netdev_queue\'s size and the offsets, or null when one is missing', () => {
  const raw = [
    "[1] STRUCT 'net_device' size=2048 vlen=1", "\t'_tx' type_id=9 bits_offset=7168",
    "[2] STRUCT 'netdev_queue' size=320 vlen=2", "\t'qdisc' type_id=9 bits_offset=64", "\t'state' type_id=9 bits_offset=1280",
    "[3] STRUCT 'Qdisc' size=384 vlen=1", "\t'gso_skb' type_id=4 bits_offset=1024",
    "[4] STRUCT 'sk_buff_head' size=24 vlen=2", "\t'lock' type_id=9 bits_offset=160", "\t'qlen' type_id=9 bits_offset=128",
  ].join('\n');
  assert.deepEqual(txqOffsets(parseBtfRaw(raw)), { devTx: 896, queueSize: 320, state: 160, qdisc: 8, qdiscGsoQlen: 144 });
  assert.equal(txqOffsets(parseBtfRaw(raw.replace("'state'", "'other'"))), null);
  assert.equal(typeof tunOffsetsFrom(parseBtfRaw(raw), 'x'), 'string', 'no tun_file: the reason, as before');
});

test('stop/wake cut to the window: fraction, longest stop, a hang after the drain, held packets at the edges', () => {
  const lines = ['tunbench-attached 0'];
  // ticks every 10 ms from 0 to 200 ms; queue 0 stopped 50..80 ms, queue 1 from 150 ms on (never woken, even after the window).
  for (let ms = 0; ms <= 200; ms += 10) {
    const s0 = ms >= 50 && ms < 80 ? 1 : 0;
    const s1 = ms >= 150 ? 1 : 0;
    lines.push(`tick ${ms * 1e6} 10 0 20 0`, `txq ${ms * 1e6} ${s0} ${s0} ${s1} ${s1}`);
  }
  const text = lines.map((l) => JSON.stringify({ type: 'printf', data: `${l}\n` })).join('\n');
  const parsed = parseProbeOutput(text);
  assert.deepEqual(parsed.ticks[5]!.txqStopped, { 0: 1, 1: 0 });
  // The same ticks as the sampler prints them now: four to a record, four values a queue.
  const groups: string[] = [];
  for (let i = 0; i <= 20; i += 4) {
    const ticks = [...Array(4).keys()].map((k) => Math.min(20, i + k) * 10).map((ms) => {
      const s0 = ms >= 50 && ms < 80 ? 1 : 0;
      const s1 = ms >= 150 ? 1 : 0;
      return `${ms * 1e6} 10 0 ${s0} ${s0} 20 0 ${s1} ${s1}`;
    });
    groups.push(`ticks ${Math.min(4, 21 - i)} 4 4 ${ticks.join(' ')}`);
  }
  const batched = parseProbeOutput(['tunbench-attached 0', ...groups].map((l) => JSON.stringify({ type: 'printf', data: `${l}\n` })).join('\n'));
  assert.deepEqual(batched.ticks, parsed.ticks, 'batched records give the same ticks');
  const w = cutWindow(parsed, { backend: null, level: 'counters', sampleMs: 10, start: 0, end: 180e6, dropReasons: {}, bpf: null });
  const [q0, q1] = w.txq!.queues;
  assert.deepEqual(q0, { stoppedFraction: 30 / 180, longestStopNs: 30e6, stops: 1, wakes: 1, hang: null });
  assert.equal(q1!.hang!.sinceNs, 150e6, 'still stopped at the last tick of all (after the drain): a hang since 150 ms');
  assert.equal(q1!.hang!.forNs, 30e6);
  assert.deepEqual([w.heldAtStart, w.heldAtEnd], [0, 1]);
  // Older output without txq records: no stop/wake, no held packets.
  const old = parseProbeOutput(lines.filter((l) => !l.startsWith('txq')).map((l) => JSON.stringify({ type: 'printf', data: `${l}\n` })).join('\n'));
  const wo = cutWindow(old, { backend: null, level: 'counters', sampleMs: 10, start: 0, end: 180e6, dropReasons: {}, bpf: null });
  assert.equal(wo.txq, undefined);
  assert.equal(wo.heldAtEnd, undefined);
});
