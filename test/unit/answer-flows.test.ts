// The answer lines of a flow workload on a kernel that stops the queue: the comparison is the
// goodput's, and its "why" names the stopped queue even though the baseline never stopped
// (a metric 0 on one side has no ratio, and used to be left out of the reasons).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeRun } from '../../src/analysis/analyze.ts';
import { formatValue } from '../../src/report/format.ts';
import { buildReportModel } from '../../src/report/model.ts';
import { fixtureResult } from '../helpers/result-fixture.ts';

test('flows: the answer is the goodput, and why names the stopped queue, the longest stop and the retransmits', () => {
  const result = fixtureResult({ variants: ['stock', 'bp'], trials: 8 });
  for (const [vi, v] of result.variants.entries()) {
    for (const [k, t] of v.trials.entries()) {
      const wobble = 1 + ((k % 3) - 1) * 0.01;
      Object.assign(t.metrics, {
        goodput_bps: (vi === 0 ? 260e6 : 206e6) * wobble, retransmits: vi === 0 ? 14 + k : 0, stream_fairness: 1,
        txq_stopped_fraction: vi === 0 ? 0 : 0.78 * wobble, txq_longest_stop_ns: vi === 0 ? 0 : 2.08e8 * wobble, qdisc_drop_pps: vi === 0 ? 0 : 5.5 * wobble,
      });
    }
  }
  const model = buildReportModel({ analysis: analyzeRun(result), results: [result] });
  const bpLine = model.answers.find((a) => a.startsWith('bp ('))!;
  assert.match(bpLine, /goodput 20\d\.\d Mbit\/s, 0 retransmits; tx queue stopped 78% of the window, longest stop 208\.00 ms/);
  const cmp = model.answers.find((a) => a.startsWith('bp goodput'))!;
  assert.ok(cmp, model.answers.join('\n'));
  assert.match(cmp, /^bp goodput 0\.79x stock \[0\.\d+, 0\.\d+\] \(Hodges-Lehmann ratio of 8 paired rounds; paired by round, p = [\d.]+\): slower\./);
  assert.match(cmp, /Why: .*tx queue stopped 0\.00% -> 78\.00%.*longest tx queue stop 0 ns -> 208\.00 ms.*retransmits 1\d\.\d -> 0\.0/);
  assert.match(cmp, /qdisc drops 0 pps -> 5\.5 pps/);
});

test('a rate of a few packets a second is said in pps, not as 0.000 Mpps', () => {
  assert.equal(formatValue('qdisc_drop_pps', 5.67), '5.67 pps');
  assert.equal(formatValue('qdisc_drop_pps', 0), '0 pps');
  assert.equal(formatValue('rx_pps', 1.234e6), '1.234 Mpps');
});
