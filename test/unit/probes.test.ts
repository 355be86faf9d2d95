// The probe layer without a kernel: rendering (validated values, markers, per-backend attach
// points), BTF offsets from bpftool's raw dump, kallsyms ranges, and parsing and cutting real
// bpftrace output (test/fixtures/results/fixture-run: a real run on the development machine,
// tx_queue_len 256, one counters trial and one full trial).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { chooseBackend } from '../../src/probes/backends.ts';
import { parseProgFdinfo } from '../../src/probes/bpf-stats.ts';
import { memberOffset, NEEDED_STRUCTS, parseBtfRaw, tunOffsetsFrom, type TunOffsets } from '../../src/probes/btf-offsets.ts';
import { parseDropReasons } from '../../src/probes/drop-reasons.ts';
import { functionRangesIn } from '../../src/probes/kallsyms.ts';
import { parseProbeOutput } from '../../src/probes/parse.ts';
import { readResult } from '../../src/result/read.ts';
import { locationFilter, occupancyBuckets, renderScript } from '../../src/probes/render.ts';
import { cutWindow, histogramDelta } from '../../src/probes/window.ts';
import type { Result } from '../../src/types.ts';

const fixture = (p: string) => readFileSync(new URL(`../fixtures/${p}`, import.meta.url), 'utf8');
// A schema-2 result (it held copies of readings.probe on its trials): read as every command reads it.
const run: Result = readResult(fileURLToPath(new URL('../fixtures/results/fixture-run/result.json', import.meta.url)));

const offsets: TunOffsets = {
  source: '/sys/kernel/btf/vmlinux',
  tfile: { tun: 960, queueIndex: 980, txRing: 1600, skq: null, rxQueueQlen: 184, rxQueueLock: 188 },
  tunStruct: { dev: 2064 },
  ring: { producer: 0, producerLock: 4, consumerHead: 64, consumerLock: 72, size: 128, queue: 136 },
};
const ranges = [{ start: '0xffffffff81dfdf00', end: '0xffffffff81dfe3f0', symbol: 'tun_net_xmit' }];
const params = { readerPid: 4242, sampleMs: 10, capacity: 1000, queues: 1, level: 'counters' as const, backend: null, locks: false, offsets, xmitRanges: ranges };

test('counters level: the sampler alone, nothing per packet, per drop or per syscall, every placeholder filled', () => {
  const s = renderScript(params);
  assert.doesNotMatch(s, /\{\{|\/\/@/);
  assert.match(s, /interval:ms:10/);
  assert.match(s, /tracepoint:task:task_rename\n\/args->newcomm == "tb-handshake"\//, 'the handshake: a task rename, not a syscall');
  assert.match(s, /\$f0 = \*\(\$fdt->fd \+ 200\);/, 'the helper\'s copy of queue 0 at fd 200');
  assert.match(s, /\$tf0 \+ 1600 \+ 4\] = 1;/, 'producer lock address: tun_file + tx_ring + producer_lock');
  assert.match(s, /\$slot = @tick % 10;\n\t@bt\[\$slot\] = nsecs;\n\t@bn\[\$slot, 0\] = \$n0;\n\t@bf\[\$slot, 0\] = \$f0;/, 'each tick stored: time and the queue, no drop count');
  const record = /printf\("ticks %d 10 2 ((?:%llu %d %d ?)+)\\n", 10, ([^)]*)\);/.exec(s);
  assert.ok(record, 'ten ticks a record');
  assert.equal(record[1]!.trim().split(' ').length, 30);
  assert.ok(record[2]!.startsWith('@bt[0], @bn[0, 0], @bf[0, 0], @bt[1], '), record[2]);
  assert.ok(record[2]!.endsWith('@bt[9], @bn[9, 0], @bf[9, 0]'), record[2]);
  assert.equal(s.match(/@tick = @tick \+ 1;/g)?.length, 1, 'one tick counted once');
  assert.match(s, /if \(@tick % 10 != 0\) \{\n\t\tprintf\("ticks %d 10 2 [^"]*", @tick % 10, @bt\[0\]/, 'END prints the ticks stored since the last record');
  assert.doesNotMatch(s.slice(s.indexOf('interval:ms:10'), s.indexOf('if (@tick % 10 == 0)')), /print\(@/, 'no map printed on an ordinary tick');
  const attached = [...s.matchAll(/^([a-z]+:[^\s/{]*)$/gm)].map((m) => m[1]);
  assert.deepEqual(attached.sort(), ['interval:ms:10', 'tracepoint:task:task_rename'], 'every attach point at counters: lock contention is opt-in');
  assert.doesNotMatch(s.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, ''), /@lock_|hists/, 'no lock maps and no snapshot record without probes.locks');
  const locks = renderScript({ ...params, locks: true });
  const withLocks = [...locks.matchAll(/^([a-z]+:[^\s/{]*)$/gm)].map((m) => m[1]);
  assert.deepEqual(withLocks.sort(), ['interval:ms:10', 'tracepoint:lock:contention_begin', 'tracepoint:lock:contention_end', 'tracepoint:task:task_rename'], 'probes.locks adds the contention points');
  assert.match(locks, /if \(@tick % 10 == 0\) \{\n\t\tprintf\("hists %llu\\n", nsecs\);\n\t\tprint\(@lock_x\);/, 'and the snapshot every 10th tick');
  assert.doesNotMatch(locks, /\/\/@/);
  const code = s.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  for (const perPacket of ['syscalls:', 'kfree_skb', '@reason', '@dropn', 'net_dev_start_xmit', 'kprobe:', 'kfunc:', 'skb_copy_datagram_iovec', '@lat', '@ts[']) assert.ok(!code.includes(perPacket), `no ${perPacket} at the counters level`);
  assert.doesNotMatch(s, /str\(|strncmp|comm == "trafgen"/, 'no string compares on a hot path');
});

test('full level: drops by reason on skb:kfree_skb located in tun_net_xmit', () => {
  const s = renderScript({ ...params, level: 'full', backend: 'tracepoint', locks: true });
  assert.match(s, /tracepoint:skb:kfree_skb/);
  assert.match(s, /\(uint64\)args->location >= \(uint64\)0xffffffff81dfdf00 && \(uint64\)args->location < \(uint64\)0xffffffff81dfe3f0/);
  assert.match(s, /@bt\[\$slot\] = nsecs;\n\t@bd\[\$slot\] = @dropn;/, 'each tick with the drops so far');
  assert.match(s, /printf\("ticks %d 1 2 %llu %llu %d %d\\n", 1, @bt\[0\], @bd\[0\], @bn\[0, 0\], @bf\[0, 0\]\);/, 'a record every tick at full (its maps follow)');
});

test('full level: one per-packet part per attach point, reading the queue through the same offsets', () => {
  for (const [backend, probe] of [['tracepoint', 'tracepoint:net:net_dev_start_xmit'], ['kprobe', 'kprobe:tun_net_xmit'], ['fentry', 'kfunc:tun_net_xmit']] as const) {
    const s = renderScript({ ...params, level: 'full', backend, locks: true });
    assert.ok(s.includes(probe), backend);
    assert.match(s, /@lat = hist\(nsecs - \$t\)/);
    assert.match(s, /@occ = lhist\(\$nq, 0, 1016, 16\)/);
    assert.match(s, /pid == 4242/);
    assert.doesNotMatch(s, /\{\{|\/\/@/);
  }
  assert.throws(() => renderScript({ ...params, level: 'full', backend: null }), /needs a backend/);
});

test('the skq lines appear only where tun_file has tunbench\'s skq field', () => {
  assert.doesNotMatch(renderScript(params), /@qmode\[1\]/);
  const patched = renderScript({ ...params, queues: 2, offsets: { ...offsets, tfile: { ...offsets.tfile, skq: 1700 } } });
  assert.match(patched, /if \(\*\(uint8 \*\)\(\$tf1 \+ 1700\) != 0\)/);
  assert.match(patched, /\$f1 = \*\(\$fdt->fd \+ 201\);/, 'one handshake block per queue');
  assert.match(patched, /@qmode\[1\] = count\(\)/);
  assert.match(patched, /\$tf1 = @tf\[1\];/, 'one occupancy block per queue');
});

test('rendering refuses values that could inject code', () => {
  assert.throws(() => renderScript({ ...params, readerPid: 1.5 }), UserError);
  assert.throws(() => renderScript({ ...params, readerPid: -1 }), UserError);
  assert.throws(() => renderScript({ ...params, queues: 0 }), UserError);
  assert.throws(() => renderScript({ ...params, queues: 65 }), UserError);
  assert.throws(() => locationFilter([{ start: '0x1; system("id")', end: '0x2', symbol: 'x' }]), /bad text range/);
  assert.throws(() => renderScript({ ...params, offsets: { ...offsets, ring: { ...offsets.ring, size: -8 } } }), /bad BTF offset/);
  assert.throws(() => renderScript(params, { sampler: '{{NOPE}}', perPacket: '' }), /unknown placeholder/);
  assert.throws(() => renderScript(params, { sampler: '//@what x', perPacket: '' }), /unknown marker/);
});

test('with the fd table and sk_buff offsets from BTF, no kernel type is named: every load is raw (bpftrace builds no types, compiles in a fraction)', () => {
  const raw = { ...offsets, fdTable: { taskFiles: 1824, filesFdt: 32, fdtMaxFds: 0, fdtFd: 8, filePrivateData: 24 }, skb: { dev: 16, queueMapping: 124 } };
  const code = (t: string) => t.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const counters = code(renderScript({ ...params, offsets: raw }));
  assert.match(counters, /\$fdt = \*\(uint64 \*\)\(\*\(uint64 \*\)\(\(uint64\)curtask \+ 1824\) \+ 32\);/, 'task_struct.files, then files_struct.fdt');
  assert.match(counters, /if \(\*\(uint32 \*\)\(\$fdt \+ 0\) > 200\) \{/, 'fdtable.max_fds');
  assert.match(counters, /\$f0 = \*\(uint64 \*\)\(\*\(uint64 \*\)\(\$fdt \+ 8\) \+ 1600\);/, 'fdtable.fd[200]: 8 bytes a pointer');
  assert.match(counters, /\$tf0 = \*\(uint64 \*\)\(\$f0 \+ 24\);/, 'file.private_data');
  for (const backend of ['tracepoint', 'kprobe'] as const) {
    const full = code(renderScript({ ...params, level: 'full', backend, offsets: raw }));
    assert.doesNotMatch(full, /struct |->(?!newcomm|skbaddr|reason|location|lock_addr)/, `${backend}: no type named, no member reached by name`);
    assert.match(full, /@tf\[\(uint64\)\*\(uint16 \*\)\(\$skb \+ 124\)\]/, 'the queue from sk_buff.queue_mapping');
    assert.match(full, /if \(\(\*\(uint64 \*\)\(\(uint64\)args->skbaddr \+ 16\)\) == @dev\)/, 'the dropped skb\'s device from sk_buff.dev');
    assert.doesNotMatch(renderScript({ ...params, level: 'full', backend, offsets: raw }), /^\/\*\(/m, 'no predicate opens a comment (a raw load right after the predicate\'s slash)');
  }
  // Without them, typed as before.
  assert.match(renderScript(params), /\$fdt = curtask->files->fdt;/);
  assert.match(renderScript({ ...params, level: 'full', backend: 'tracepoint' }), /\(struct sk_buff \*\)args->skbaddr/);
});

test('occupancy buckets: about 64 linear buckets, one past capacity', () => {
  assert.deepEqual(occupancyBuckets(1000), { max: 1016, step: 16 });
  assert.deepEqual(occupancyBuckets(64), { max: 65, step: 1 });
});

test('BTF offsets from a bpftool raw dump, through anonymous members and typedefs', () => {
  const raw = [
    "[1] STRUCT 'sk_buff_head' size=24 vlen=3",
    "\t'(anon)' type_id=2 bits_offset=0",
    "\t'qlen' type_id=9 bits_offset=128",
    "\t'lock' type_id=9 bits_offset=160",
    "[2] UNION '(anon)' size=16 vlen=1",
    "\t'next' type_id=9 bits_offset=0",
    "[3] STRUCT 'sock' size=800 vlen=1",
    "\t'sk_receive_queue' type_id=1 bits_offset=1280",
    "[4] STRUCT 'ptr_ring' size=192 vlen=6",
    "\t'producer' type_id=9 bits_offset=0",
    "\t'producer_lock' type_id=9 bits_offset=32",
    "\t'consumer_head' type_id=9 bits_offset=512",
    "\t'consumer_lock' type_id=9 bits_offset=576",
    "\t'size' type_id=9 bits_offset=1024",
    "\t'queue' type_id=9 bits_offset=1088",
    "[5] STRUCT 'tun_file' size=2000 vlen=3",
    "\t'tun' type_id=9 bits_offset=7680",
    "\t'queue_index' type_id=9 bits_offset=7840",
    "\t'tx_ring' type_id=4 bits_offset=12800",
    "[6] STRUCT 'tun_struct' size=3000 vlen=1",
    "\t'dev' type_id=9 bits_offset=16512",
    "[9] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED",
  ].join('\n');
  const types = parseBtfRaw(raw);
  assert.equal(memberOffset(types, types.get(1)!, 'next'), 0);
  const o = tunOffsetsFrom(types, 'test');
  assert.ok(typeof o !== 'string', String(o));
  assert.deepEqual(o.tfile, { tun: 960, queueIndex: 980, txRing: 1600, skq: null, rxQueueQlen: 176, rxQueueLock: 180 });
  assert.deepEqual(o.ring, offsets.ring);
  const noRing = tunOffsetsFrom(parseBtfRaw(raw.replace("'tx_ring'", "'tx_array'")), 'test');
  assert.match(String(noRing), /tun_file has no member tx_ring/);
  // Parsed for the needed structs only (as readTunOffsets does): the same offsets, and a struct
  // outside them (with its members), a function and its parameters skipped.
  const more = [raw, "[20] STRUCT 'unrelated' size=8 vlen=1", "\t'x' type_id=9 bits_offset=0", "[21] FUNC_PROTO '(anon)' ret_type_id=9 vlen=1", "\t'skb' type_id=9", "[22] TYPEDEF 'u32' type_id=9"].join('\n');
  const some = parseBtfRaw(more, new Map(), NEEDED_STRUCTS);
  assert.deepEqual(tunOffsetsFrom(some, 'test'), o);
  assert.equal(some.has(20), false);
  assert.equal(some.has(21), false);
  assert.equal(some.get(22)?.typeId, 9, 'typedefs kept: anonymous members resolve through them');
  assert.equal(some.get(2)?.members.length, 1, 'anonymous unions keep their members');
});

test('kallsyms: a function\'s ranges, cold parts included', () => {
  const text = ['ffffffff81dfdf00 t tun_net_xmit', 'ffffffff81dfe3f0 t tun_xdp_xmit', 'ffffffff8123b5ec t tun_net_xmit.cold', 'ffffffff8123b60f t other', 'ffffffff81dfe500 T tun_net_xmit_other'].join('\n');
  assert.deepEqual(functionRangesIn(text, 'tun_net_xmit').map((r) => [r.symbol, r.start, r.end]), [
    ['tun_net_xmit.cold', '0xffffffff8123b5ec', '0xffffffff8123b60f'],
    ['tun_net_xmit', '0xffffffff81dfdf00', '0xffffffff81dfe3f0'],
  ]);
});

test('bpf program fdinfo: run time and count, or nothing when the statistics are off', () => {
  assert.deepEqual(parseProgFdinfo('pos:\t0\nprog_type:\t1\nprog_id:\t42\nrun_time_ns:\t1234\nrun_cnt:\t7\n'), { id: 42, runTimeNs: 1234, runCount: 7 });
  assert.equal(parseProgFdinfo('prog_type:\t1\nprog_id:\t42\n'), null);
});

test('drop reasons come from the real kfree_skb format file', () => {
  const r = parseDropReasons(fixture('kfree_skb.format'));
  assert.equal(r.FULL_RING, 80);
  assert.ok(Object.keys(r).length > 100);
});

test('parser: real counters-level output into ticks, the handshake and the END record', () => {
  const p = parseProbeOutput(fixture('results/fixture-run/raw/trial-000-counters.bpftrace.jsonl'));
  assert.ok(p.attachedAt! > 0);
  assert.equal(Object.keys(p.handshakes).length, 1, 'one queue found');
  assert.ok(p.ticks.length > 100);
  for (let i = 1; i < p.ticks.length; i++) {
    assert.ok(p.ticks[i]!.t > p.ticks[i - 1]!.t);
    assert.ok((p.ticks[i]!.reasons['80'] ?? 0) >= (p.ticks[i - 1]!.reasons['80'] ?? 0), 'drops are cumulative');
  }
  assert.ok(p.ticks.some((t) => (t.qlen['0'] ?? 0) >= 200), 'the flood fills the 256-packet ring');
  assert.ok(p.ticks.some((t) => t.qfull['0'] === 1), 'and the ring says it is full');
  assert.deepEqual(p.queueModes, { ring: 1, skq: 0 });
  const t = run.variants[0]!.trials[0]!;
  assert.equal(Object.values(p.end!.reasons).reduce((s, x) => s + x, 0), t.counters!.tx_dropped, 'END totals (not the exit dump) equal the tap\'s tx_dropped');
  assert.ok(p.messages.every((m) => !m.startsWith('{"type": "map"')));
});

test('parser: batched tick records ("ticks <count> <slots> <per queue> ...") give one tick each, the first <count> of a record only', () => {
  const line = (text: string) => JSON.stringify({ type: 'printf', data: text + '\n' });
  const text = [
    line('tunbench-attached 1000'),
    line('handshake 0 18446612686569543680'),
    line('ticks 3 3 2 2000 -1 -1 3000 5 0 4000 7 1'),
    line('hists 4500'),
    JSON.stringify({ type: 'map', data: { '@lock_x': 4 } }),
    line('ticks 1 3 2 5000 9 1 4000 7 1 4000 7 1'),
    line('ticks 2 2 2 6000 1 0'),
    line('end 7000'),
  ].join('\n');
  const p = parseProbeOutput(text);
  assert.deepEqual(p.ticks.map((t) => t.t), [2000, 3000, 4000, 5000]);
  assert.deepEqual(p.ticks.map((t) => t.qlen['0']), [undefined, 5, 7, 9], 'queue not found yet at the first tick (-1)');
  assert.deepEqual(p.ticks.map((t) => t.qfull['0']), [undefined, 0, 1, 1]);
  assert.equal(p.histSnapshots[0]!.counts?.lock_x, 4);
  assert.deepEqual(p.messages, ['ticks 2 2 2 6000 1 0'], 'a record whose width does not divide is reported, not read');
  const full = parseProbeOutput([line('ticks 1 1 2 2000 17 3 1'), line('ticks 1 1 2 3000 19 4 0')].join('\n'));
  assert.deepEqual(full.ticks.map((t) => [t.t, t.dropsAtTick, t.qlen['0']]), [[2000, 17, 3], [3000, 19, 4]], 'the full level: drops so far, then the queue');
});

test('window: a real counters trial cut again from its raw output gives the saved samples', () => {
  const t = run.variants[0]!.trials[0]!;
  const r = t.readings!;
  const p = parseProbeOutput(fixture('results/fixture-run/raw/trial-000-counters.bpftrace.jsonl'));
  // The probes mark the window just outside the counter reads.
  const w = cutWindow(p, { backend: null, level: 'counters', sampleMs: 10, start: r.window.startNs - 1e6, end: r.window.endNs + 1e6, dropReasons: { FULL_RING: 80 }, bpf: r.probe!.bpf });
  assert.ok(Math.abs(w.windowSeconds - r.probe!.windowSeconds) < 0.03);
  // This output is from before the counters level lost its per-drop program: its reasons are
  // not read at counters any more (drops are tx_dropped's alone).
  assert.equal(w.dropsTotal, null);
  assert.deepEqual(w.drops, {});
  assert.deepEqual(w.series.drops, []);
  assert.equal(w.totals.drops, null);
  assert.equal(w.xmit, null);
  assert.equal(w.latencyNs, null);
  assert.equal(w.occupancyAtEnqueue, null);
});

test('window: the full level keeps drops by reason, equal to tx_dropped', () => {
  const t = run.variants[1]!.trials[0]!;
  const r = t.readings!;
  const p = parseProbeOutput(fixture('results/fixture-run/raw/trial-001-full.bpftrace.jsonl'));
  const w = cutWindow(p, { backend: 'tracepoint', level: 'full', sampleMs: 10, start: r.window.startNs, end: r.window.endNs, dropReasons: { FULL_RING: 80 }, bpf: null });
  assert.ok(w.dropsTotal! > 0);
  assert.deepEqual(Object.keys(w.drops), ['FULL_RING']);
  assert.equal(w.totals.drops, t.counters!.tx_dropped);
});

test('window: the full level adds per-packet counts, occupancy at enqueue and latency', () => {
  const t = run.variants[1]!.trials[0]!;
  const r = t.readings!;
  const p = parseProbeOutput(fixture('results/fixture-run/raw/trial-001-full.bpftrace.jsonl'));
  const w = cutWindow(p, { backend: 'tracepoint', level: 'full', sampleMs: 10, start: r.window.startNs, end: r.window.endNs, dropReasons: { FULL_RING: 80 }, bpf: null });
  assert.ok(w.xmit! > w.reads!, 'a flood: more packets enter tun_net_xmit than are read');
  assert.equal(w.series.xmit.length, w.occupancySeries.values.length - 1);
  // Every tick's own time, from 0 at the window's first tick, increasing, ending at the window's span.
  const tMs = w.occupancySeries.tMs!;
  assert.equal(tMs.length, w.occupancySeries.values.length);
  assert.equal(tMs[0], 0);
  assert.ok(tMs.every((x, i) => i === 0 || x > tMs[i - 1]!));
  assert.ok(Math.abs(tMs.at(-1)! / 1000 - w.windowSeconds) < 0.001, `last tick ${tMs.at(-1)} ms vs window ${w.windowSeconds} s`);
  assert.ok((w.latencyNs?.buckets.length ?? 0) > 0);
  assert.ok((w.occupancyAtEnqueue?.buckets.length ?? 0) > 0);
  assert.equal(w.totals.xmit, t.counters!.tx_packets + t.counters!.tx_dropped, 'every packet entering tun_net_xmit was read or dropped');
});

test('window: too few samples is an error, not a zero', () => {
  const p = parseProbeOutput(fixture('results/fixture-run/raw/trial-000-counters.bpftrace.jsonl'));
  const t0 = p.ticks[5]!.t;
  assert.throws(() => cutWindow(p, { backend: null, level: 'counters', sampleMs: 10, start: t0 + 1, end: t0 + 2, dropReasons: {}, bpf: null }), /too few samples/);
});

test('histogram delta subtracts bucket by bucket', () => {
  assert.deepEqual(histogramDelta({ buckets: [{ min: 0, max: 1, count: 2 }] }, { buckets: [{ min: 0, max: 1, count: 5 }, { min: 2, max: 3, count: 1 }] }).buckets, [{ min: 0, max: 1, count: 3 }, { min: 2, max: 3, count: 1 }]);
});

test('backend choice (full level): auto takes the cheapest exact one available; a requested missing one is a clear error', () => {
  const a = { tracepoint: { available: true, reason: '' }, kprobe: { available: false, reason: 'no kprobes' }, fentry: { available: false, reason: 'no BTF funcs' } };
  assert.equal(chooseBackend(a, 'auto'), 'tracepoint');
  assert.equal(chooseBackend({ ...a, kprobe: { available: true, reason: '' } }, 'auto'), 'kprobe');
  assert.equal(chooseBackend({ ...a, kprobe: { available: true, reason: '' }, fentry: { available: true, reason: '' } }, 'auto'), 'fentry');
  assert.throws(() => chooseBackend(a, 'kprobe'), (e: unknown) => e instanceof UserError && /no kprobes/.test(e.message));
  assert.throws(() => chooseBackend({ ...a, tracepoint: { available: false, reason: 'x' } }, 'auto'), UserError);
});
