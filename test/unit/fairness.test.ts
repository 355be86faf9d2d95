import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { jainIndex } from '../../src/trial/fairness.ts';
import { parseIperf3Json } from '../../src/workload/generators/iperf3.ts';
import { flowReportOf } from '../../src/workload/generators/start.ts';

const close = (a: number | null, b: number, what: string) => assert.ok(a !== null && Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test("Jain's index: 1 for an even share, 1/n when one flow has it all, and known values between", () => {
  close(jainIndex([5]), 1, 'one flow');
  close(jainIndex([3, 3, 3, 3]), 1, 'even');
  close(jainIndex([7e9, 0, 0, 0]), 1 / 4, 'one of four');
  close(jainIndex([1, 2, 3]), 36 / (3 * 14), '(1+2+3)^2 / (3 (1+4+9))');
  close(jainIndex([1, 3]), 16 / 20, 'two flows 1:3');
  // No dependence on the unit or the total.
  close(jainIndex([1e9, 3e9]), jainIndex([1, 3])!, 'scale-free');
  // k of n flows sharing evenly, the rest starved: k/n.
  close(jainIndex([2, 2, 0, 0, 0, 0, 0, 0]), 2 / 8, 'two of eight');
});

test("Jain's index is not defined with no flows, nothing delivered, or a negative or non-finite share", () => {
  assert.equal(jainIndex([]), null);
  assert.equal(jainIndex([0, 0]), null);
  assert.equal(jainIndex([1, -1]), null);
  assert.equal(jainIndex([1, Number.NaN]), null);
});

test('an 8-stream iperf3 record keeps every stream in the flow report; fairness from them', () => {
  const r = parseIperf3Json(readFileSync(new URL('../fixtures/iperf3/tcp-8streams.json', import.meta.url), 'utf8'));
  const f = flowReportOf(r);
  assert.equal(f.perStream!.length, 8);
  assert.equal(f.perStream!.reduce((s, x) => s + (x.retransmits ?? 0), 0), f.retransmits, 'per-stream retransmits add up to the total');
  assert.equal(f.perStream!.reduce((s, x) => s + x.receivedBytes, 0), f.receivedBytes);
  const j = jainIndex(f.perStream!.map((x) => x.goodputBps))!;
  assert.ok(j > 1 / 8 && j <= 1, `index ${j} within (1/n, 1]`);
});
