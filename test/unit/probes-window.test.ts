// Window cutting of histograms: printed every 10th tick only, so a window that starts before
// the first snapshot takes the empty maps at attach as its baseline.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProbeOutput } from '../../src/probes/parse.ts';
import { cutWindow } from '../../src/probes/window.ts';

/** 1 ms ticks; 100 latency samples per tick in one bucket; histograms at every 10th tick. */
function output(): string {
  const lines = ['{"type": "printf", "data": "tunbench-attached 0\\n"}'];
  for (let i = 1; i <= 40; i++) {
    lines.push(`{"type": "printf", "data": "tick ${i * 1_000_000}\\n"}`, `{"type": "map", "data": {"@xmit": ${i * 100}}}`, `{"type": "map", "data": {"@reads": ${i * 100}}}`);
    if (i % 10 === 0) {
      lines.push(`{"type": "printf", "data": "hists ${i * 1_000_000}\\n"}`, `{"type": "hist", "data": {"@lat": [{"min": 1024, "max": 2047, "count": ${i * 100}}]}}`);
    }
  }
  return lines.join('\n');
}

const opts = { backend: 'tracepoint' as const, level: 'full' as const, capacity: 1000, sampleMs: 1, dropReasons: {} };

test('window starting before the first histogram snapshot: baseline is the empty maps at attach', () => {
  const w = cutWindow(parseProbeOutput(output()), { ...opts, start: 1_000_000, end: 30_000_000 });
  assert.deepEqual(w.window.latencyNs?.buckets, [{ min: 1024, max: 2047, count: 3000 }]);
});

test('window after a snapshot: the delta between the snapshots nearest the marks', () => {
  const w = cutWindow(parseProbeOutput(output()), { ...opts, start: 11_000_000, end: 31_000_000 });
  assert.deepEqual(w.window.latencyNs?.buckets, [{ min: 1024, max: 2047, count: 2000 }]);
  assert.equal(w.window.xmit, 2000);
});
