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

test('a percentage keeps 3 significant digits: the probes\' 0.153% of a CPU is not 0.2%', () => {
  assert.equal(formatValue('probe_cpu_pct', 0.153), '0.153%');
  assert.equal(formatValue('probe_cpu_pct', 0.0004567), '0.000457%');
  assert.equal(formatValue('probe_cpu_pct', 0), '0%');
  assert.equal(formatValue('cpu_generator_pct', 95.74), '95.7%');
  assert.equal(formatValue('cpu_generator_pct', 12), '12%');
  assert.equal(formatValue('cpu_generator_pct', 199.6), '200%');
});

test('transfers: a multicast burst answers with its completion time, what the receivers got, the sender and the unread tap; the comparison is the completion time', () => {
  const result = fixtureResult({ variants: ['stock-bridge', 'bp-bridge'], trials: 5 });
  for (const [vi, v] of result.variants.entries()) {
    for (const [k, t] of v.trials.entries()) {
      for (const key of Object.keys(t.metrics)) (t.metrics as Record<string, number | null>)[key] = null;
      const dnf = vi === 1 && k === 4 ? 1 : 0;
      Object.assign(t.metrics, {
        completion_ns: dnf ? null : (vi === 0 ? 460e6 : 384e6) * (1 + k * 0.01), transfer_sender_ns: dnf ? null : 300e6 + k * 1e6, transfer_dnf: dnf,
        mcast_read_delivered_min: 1, mcast_sender_errors: vi === 0 ? 12 : 0, mcast_sender_blocked: dnf, mcast_unread_recovered: dnf ? 0 : 1,
      });
    }
  }
  const model = buildReportModel({ analysis: analyzeRun(result), results: [result] });
  const stock = model.answers.find((a) => a.startsWith('stock-bridge ('))!;
  assert.doesNotMatch(stock, /no metric measured/);
  assert.match(stock, /transfer completed in 46\d\.\d+ ms, the sender done in 30\d\.\d+ ms; every read tap received at least 100% of the sender's frames; 12 write errors at the sender; the unread tap recovered every time/);
  const bp = model.answers.find((a) => a.startsWith('bp-bridge ('))!;
  assert.match(bp, /transfer did not finish by its deadline in 1 of 5 trials; the others completed in 38\d\.\d+ ms/);
  assert.match(bp, /no write error at the sender; the sender blocked without an error in 1 of 5 trials; the unread tap did not recover in 1 of 5 trials/);
  const cmp = model.answers.find((a) => a.startsWith('bp-bridge completion time'))!;
  assert.ok(cmp, model.answers.join('\n'));
  assert.match(cmp, /^bp-bridge completion time 0\.8\dx stock-bridge/);
});

test('request/response: the answer is the round trip at p50 and p99 and the transaction rate', () => {
  const result = fixtureResult({ variants: ['idle'], trials: 3 });
  for (const t of result.variants[0]!.trials) {
    for (const key of Object.keys(t.metrics)) (t.metrics as Record<string, number | null>)[key] = null;
    Object.assign(t.metrics, { rr_latency_p50_ns: 61_000, rr_latency_p99_ns: 140_000, rr_transactions_per_s: 15_900 });
  }
  const model = buildReportModel({ analysis: analyzeRun(result), results: [result] });
  const line = model.answers.find((a) => a.startsWith('idle ('))!;
  assert.match(line, /round trip 61\.\d+ us at p50, 140\.\d+ us at p99; 15,900 transactions\/s/);
});
