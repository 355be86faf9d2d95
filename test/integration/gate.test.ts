// The gate on real runs of this machine: A/A passes, a slowed reader is a regression (exit 1),
// incomparable inputs cannot be judged (exit 2), --bisect maps that and every other cannot-judge to 125.
// Real runs are smoke checks only: the rule's error rates are tested on seeded data (test/unit/stats-gate.test.ts).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { execa } from 'execa';
import { cli, tmp } from '../helpers/cli.ts';

const dir = tmp('tunbench-gate');

before(async () => {
  for (const [name, profile, reps] of [['a1', 'quick', '5'], ['a2', 'quick', '5'], ['slow', 'test/fixtures/profiles/slow-consumer.yaml', '5'], ['q3', 'quick', '3']] as const) {
    const r = await cli(['bench', '--profile', profile, '--repetitions', reps, '--out', join(dir, name), '--progress', 'quiet', '--no-report']);
    assert.equal(r.exitCode, 0, r.all);
  }
});

test('A/A: the same profile twice passes the gate', async () => {
  // Throughput metrics only: drop_ratio at sub-1% levels swings by hundreds of percent between
  // trials here, so with 5 trials a side a chance "significant" swing would make CI flaky.
  // A smoke check with a margin wide enough for this shared machine: two separate runs a minute
  // apart drift as a whole (here 1.01 vs 0.59 Mpps while another job ran), which an unpaired
  // test rightly cannot tell from a regression. The rule's error rates are tested on seeded data.
  const r = await cli(['gate', '--baseline', join(dir, 'a1'), '--candidate', join(dir, 'a2'), '--metrics', 'xmit_pps,rx_pps', '--max-regression', '60%', '--no-report']);
  console.log(r.all);
  assert.equal(r.exitCode, 0, r.all);
  assert.match(r.all ?? '', /PASS/);
});

test('a slowed reader is a regression in rx_pps: exit 1, with the Markdown summary written and appended to GITHUB_STEP_SUMMARY', async () => {
  const md = join(dir, 'gate.md');
  const step = join(dir, 'step-summary.md');
  const r = await cli(['gate', '--baseline', join(dir, 'a1'), '--candidate', join(dir, 'slow'), '--force', '--markdown', md, '--out', join(dir, 'gate-report')], { GITHUB_STEP_SUMMARY: step });
  console.log(r.all);
  assert.equal(r.exitCode, 1, r.all);
  assert.match(r.all ?? '', /FAIL \(regression\)/);
  assert.match(r.all ?? '', /rx_pps .*regressed/);
  const text = readFileSync(md, 'utf8');
  assert.match(text, /## tunbench gate: FAIL/);
  assert.match(text, /Rule: the gate fails when, for some gated metric .* one-sided rank test/);
  assert.match(r.all ?? '', /B:default vs A:default: rx_pps -\d+\.\d% \(worse\).*unpaired/, 'a drop is called worse; separate runs are compared unpaired, and say so');
  assert.match(text, /\| rx_pps \|/);
  assert.equal(readFileSync(step, 'utf8'), text);
  const html = readFileSync(join(dir, 'gate-report', 'report.html'), 'utf8');
  assert.match(html, /Gate: REGRESSION/);
  assert.match(html, /compared despite a difference: variant default: workload\.consumer\.delayNs: 0 vs 3000/);
});

test('incomparable results (different workloads, no --force) cannot be judged: exit 2, and 125 with --bisect', async () => {
  const r = await cli(['gate', '--baseline', join(dir, 'a1'), '--candidate', join(dir, 'slow')]);
  assert.equal(r.exitCode, 2, r.all);
  assert.match(r.all ?? '', /consumer\.delayNs: 0 vs 3000/);
  const b = await cli(['gate', '--baseline', join(dir, 'a1'), '--candidate', join(dir, 'slow'), '--bisect']);
  assert.equal(b.exitCode, 125, b.all);
  const missing = await cli(['gate', '--baseline', join(dir, 'nope'), '--candidate', join(dir, 'a1'), '--bisect']);
  assert.equal(missing.exitCode, 125, missing.all);
  const badFlag = await cli(['gate', '--baseline', join(dir, 'a1'), '--candidate', join(dir, 'a2'), '--bisect', '--no-such-flag']);
  assert.equal(badFlag.exitCode, 125, badFlag.all);
  // 3 trials a side can never reach alpha / 2 (two gated metrics): cannot judge, 125 with --bisect.
  const few = await cli(['gate', '--baseline', join(dir, 'q3'), '--candidate', join(dir, 'q3'), '--metrics', 'xmit_pps,rx_pps', '--bisect', '--no-report']);
  assert.equal(few.exitCode, 125, few.all);
  assert.match(few.all ?? '', /run at least 4 trials a side/);
});

test('baselines: save, list, and gate against a name', async () => {
  const env = { TUNBENCH_BASELINES: join(dir, 'baselines') };
  assert.equal((await cli(['baseline', 'save', 'main', join(dir, 'a1')], env)).exitCode, 0);
  const list = await cli(['baseline', 'list'], env);
  assert.match(list.all ?? '', /^main /m);
  const r = await cli(['gate', '--baseline', 'main', '--candidate', join(dir, 'a2'), '--metrics', 'xmit_pps,rx_pps', '--max-regression', '60%', '--no-report'], env);
  assert.equal(r.exitCode, 0, r.all);
  assert.equal((await cli(['baseline', 'save', '../bad', join(dir, 'a1')], env)).exitCode, 2);
});
