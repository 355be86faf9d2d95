import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { chooseBackend } from '../../src/probes/backends.ts';
import { parseDropReasons } from '../../src/probes/drop-reasons.ts';
import { parseProbeOutput } from '../../src/probes/parse.ts';
import { loadTemplate, occupancyBuckets, renderScript } from '../../src/probes/render.ts';
import { cutWindow, histogramDelta, occupancyFromSeries } from '../../src/probes/window.ts';

const fixture = (p: string) => readFileSync(new URL(`../fixtures/${p}`, import.meta.url), 'utf8');
const params = { tap: 'tb123x0', readerPid: 4242, generator: 'trafgen' as const, sampleMs: 10, capacity: 1000, level: 'counters' as const };

test('rendering fills every placeholder and keeps the full-level lines out of counters', () => {
  const s = renderScript(loadTemplate('tracepoint'), params);
  assert.doesNotMatch(s, /\{\{/);
  assert.match(s, /str\(args->name\) == "tb123x0"/);
  assert.match(s, /pid == 4242/);
  assert.match(s, /comm == "trafgen"/);
  assert.match(s, /interval:ms:10/);
  assert.doesNotMatch(s, /@ts\[args|@lat = hist|\/\/@full/);
  const full = renderScript(loadTemplate('tracepoint'), { ...params, level: 'full', generator: 'pktgen' });
  assert.match(full, /@ts\[args->skbaddr\] = nsecs/);
  assert.match(full, /@lat = hist/);
  assert.match(full, /lhist\(@e - @d, 0, 1016, 16\)/);
  assert.match(full, /strncmp\(comm, "kpktgend_", 9\)/);
});

test('rendering refuses values that could inject code', () => {
  assert.throws(() => renderScript('{{TAP}}', { ...params, tap: 'x"; system("id' }), UserError);
  assert.throws(() => renderScript('{{TAP}}', { ...params, tap: 'a'.repeat(16) }), UserError);
  assert.throws(() => renderScript('{{READER_PID}}', { ...params, readerPid: 1.5 }), UserError);
  assert.throws(() => renderScript('{{READER_PID}}', { ...params, readerPid: -1 }), UserError);
  assert.throws(() => renderScript('{{NOPE}}', params), /unknown placeholder/);
});

test('occupancy buckets: about 64 linear buckets, one past capacity', () => {
  assert.deepEqual(occupancyBuckets(1000), { max: 1016, step: 16 });
  assert.deepEqual(occupancyBuckets(64), { max: 65, step: 1 });
});

test('drop reasons come from the real kfree_skb format file', () => {
  const r = parseDropReasons(fixture('kfree_skb.format'));
  assert.equal(r.FULL_RING, 80);
  assert.equal(r.NOT_SPECIFIED, 2);
  assert.ok(Object.keys(r).length > 100);
  assert.deepEqual(parseDropReasons('no symbolic table here'), {});
});

test('parser: real bpftrace output into ticks, histogram snapshots and the end record', () => {
  const p = parseProbeOutput(fixture('bpftrace/tracepoint-counters.jsonl'));
  assert.ok(p.attachedAt! > 0);
  assert.ok(p.ticks.length >= 12);
  for (let i = 1; i < p.ticks.length; i++) {
    assert.ok(p.ticks[i]!.t > p.ticks[i - 1]!.t);
    assert.ok(p.ticks[i]!.counts.xmit >= p.ticks[i - 1]!.counts.xmit, 'counters are cumulative');
  }
  assert.ok(p.histSnapshots.length >= 1);
  assert.ok(p.end, 'end record');
  assert.ok(p.end!.counts.xmit > 1_000_000, 'the END block totals, not the zeros of bpftrace\'s exit dump');
  assert.equal(p.end!.counts.reads, p.end!.counts.xmit);
  assert.ok(p.messages.every((m) => !m.startsWith('{"type": "map"')));
});

test('parser keeps non-JSON lines as messages', () => {
  const p = parseProbeOutput('couldn\'t set RLIMIT_MEMLOCK\n{"type": "printf", "data": "tick 10\\n"}\n{"type": "map", "data": {"@xmit": 5}}\nsomething odd\n');
  assert.equal(p.ticks[0]!.counts.xmit, 5);
  assert.deepEqual(p.messages, ["couldn't set RLIMIT_MEMLOCK", 'something odd']);
});

function synthetic(): string {
  // 1 ms ticks; 100 packets accepted and 90 read per tick, 2 drops per tick (reason 80).
  const lines = ['{"type": "printf", "data": "tunbench-attached 0\\n"}'];
  for (let i = 1; i <= 100; i++) {
    lines.push(`{"type": "printf", "data": "tick ${i * 1_000_000}\\n"}`);
    lines.push(`{"type": "map", "data": {"@xmit": ${i * 100}}}`, `{"type": "map", "data": {"@xdrop": ${i * 2}}}`, `{"type": "map", "data": {"@reads": ${i * 90}}}`);
    lines.push(`{"type": "map", "data": {"@lock_x": ${i}}}`, `{"type": "map", "data": {"@lock_x_ns": ${i * 1000}}}`, `{"type": "map", "data": {"@reason": {"80": ${i * 2}}}}`);
    if (i % 10 === 0) {
      lines.push(`{"type": "printf", "data": "hists ${i * 1_000_000}\\n"}`);
      lines.push(`{"type": "hist", "data": {"@lock_x_hist": [{"min": 512, "max": 1023, "count": ${i}}]}}`);
    }
  }
  lines.push('{"type": "printf", "data": "end 101000000\\n"}', '{"type": "map", "data": {"@xmit": 10000}}', '{"type": "map", "data": {"@xdrop": 200}}', '{"type": "map", "data": {"@reads": 10000}}', '{"type": "map", "data": {"@reason": {"80": 200}}}');
  lines.push('{"type": "printf", "data": "done 101000001\\n"}', '{"type": "map", "data": {"@xmit": 0}}', '{"type": "map", "data": {"@reads": 0}}');
  return lines.join('\n');
}

test('window: counts between the ticks nearest the marks, occupancy = accepted - read', () => {
  const w = cutWindow(parseProbeOutput(synthetic()), { backend: 'tracepoint', level: 'counters', capacity: 1000, sampleMs: 1, start: 20_000_000, end: 70_000_000, dropReasons: { FULL_RING: 80 } });
  assert.equal(w.window.windowSeconds, 0.05);
  assert.equal(w.window.xmit, 5000);
  assert.equal(w.window.reads, 4500);
  assert.equal(w.window.dropsTotal, 100);
  assert.deepEqual(w.window.drops, { FULL_RING: 100 });
  assert.equal(w.window.series.xmit.length, 50);
  assert.ok(w.window.series.xmit.every((x) => x === 100));
  assert.equal(w.window.occupancySeries.values[0], 21 * 10);
  assert.equal(w.window.lock.xmit.count, 50);
  assert.equal(w.window.lock.xmit.waitNs, 50_000);
  assert.deepEqual(w.window.lock.xmit.waitHist.buckets, [{ min: 512, max: 1023, count: 50 }]);
  assert.deepEqual(w.total, { xmit: 10000, drops: 200, reads: 10000 }, 'totals from END, not the exit dump');
});

test('window: reason-less drops are reported as unattributed', () => {
  const text = synthetic().replace(/\{"type": "map", "data": \{"@reason": \{"80": \d+\}\}\}\n?/g, '');
  const w = cutWindow(parseProbeOutput(text), { backend: 'tracepoint', level: 'counters', capacity: 1000, sampleMs: 1, start: 20_000_000, end: 70_000_000, dropReasons: {} });
  assert.deepEqual(w.window.drops, { unattributed: 100 });
});

test('window: too few samples is an error, not a zero', () => {
  assert.throws(() => cutWindow(parseProbeOutput(synthetic()), { backend: 'tracepoint', level: 'counters', capacity: 1000, sampleMs: 1, start: 20_000_000, end: 20_400_000, dropReasons: {} }), /too few samples/);
});

test('occupancy histogram from the series weights each sample by the packets enqueued', () => {
  const h = occupancyFromSeries([0, 10, 500], [5, 0, 3], 1000);
  assert.deepEqual(h.buckets, [{ min: 0, max: 15, count: 5 }, { min: 496, max: 511, count: 3 }]);
  assert.deepEqual(histogramDelta({ buckets: [{ min: 0, max: 1, count: 2 }] }, { buckets: [{ min: 0, max: 1, count: 5 }, { min: 2, max: 3, count: 1 }] }).buckets, [{ min: 0, max: 1, count: 3 }, { min: 2, max: 3, count: 1 }]);
});

test('backend choice: auto takes the most exact available; a requested missing one is a clear error', () => {
  const a = { tracepoint: { available: true, reason: '' }, kprobe: { available: false, reason: 'no kprobes' }, fentry: { available: false, reason: 'no BTF funcs' } };
  assert.equal(chooseBackend(a, 'auto'), 'tracepoint');
  assert.equal(chooseBackend({ ...a, kprobe: { available: true, reason: '' } }, 'auto'), 'kprobe');
  assert.throws(() => chooseBackend(a, 'kprobe'), (e: unknown) => e instanceof UserError && /no kprobes/.test(e.message));
  assert.throws(() => chooseBackend({ ...a, tracepoint: { available: false, reason: 'x' } }, 'auto'), UserError);
});

test('exact templates: skq lines only for a patched kernel, one tun_file branch per extra queue, no placeholder left', () => {
  for (const backend of ['kprobe', 'fentry'] as const) {
    const base = { tap: 'tb1x0', readerPid: 42, generator: 'pktgen' as const, sampleMs: 10, capacity: 256, level: 'counters' as const };
    const plain = renderScript(loadTemplate(backend), { ...base, queues: 1, skqField: false });
    assert.doesNotMatch(plain, /\$tf->skq|@qmode\[|\{\{/);
    assert.doesNotMatch(plain, /tfiles\[1\]/);
    const patched = renderScript(loadTemplate(backend), { ...base, queues: 3, skqField: true });
    assert.match(patched, /if \(\$tf->skq\)/);
    assert.match(patched, /@qmode\[\(uint64\)\$tf->skq\] = count\(\)/);
    assert.match(patched, /if \(\$q == 2\) \{ \$tf = \(struct tun_file \*\)\$tun->tfiles\[2\]; \}/);
    assert.doesNotMatch(patched, /\/\/@/);
  }
});

test('parser: exact backends give occupancy from @qlen (summed over queues) and enqueues by queue mode', () => {
  const lines = [
    { type: 'printf', data: 'tunbench-attached 100\n' },
    { type: 'printf', data: 'tick 1000000000\n' },
    { type: 'map', data: { '@xmit': 10 } },
    { type: 'map', data: { '@reads': 4 } },
    { type: 'map', data: { '@qlen': { '0': 5, '1': 2 } } },
    { type: 'printf', data: 'tick 1010000000\n' },
    { type: 'map', data: { '@xmit': 20 } },
    { type: 'map', data: { '@reads': 18 } },
    { type: 'map', data: { '@qlen': { '0': 1, '1': 0 } } },
    { type: 'printf', data: 'end 1020000000\n' },
    { type: 'map', data: { '@qlen': { '0': 0 } } },
    { type: 'map', data: { '@qmode': { '1': 20 } } },
    { type: 'printf', data: 'done 1020000001\n' },
    { type: 'map', data: { '@qmode': {} } },
  ].map((l) => JSON.stringify(l)).join('\n');
  const p = parseProbeOutput(lines);
  assert.deepEqual(p.ticks.map((t) => t.qlen), [7, 1]);
  assert.deepEqual(p.queueModes, { ring: 0, skq: 20 });
  const w = cutWindow(p, { backend: 'kprobe', level: 'counters', capacity: 256, sampleMs: 10, start: 1000000000, end: 1010000000, dropReasons: {} });
  assert.equal(w.window.occupancySource, 'queue');
  assert.deepEqual(w.window.occupancySeries.values, [1]);
  assert.deepEqual(w.window.enqueuesByQueueMode, { ring: 0, skq: 20 });
});
