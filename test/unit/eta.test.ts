// The run's time left (src/eta.ts) on synthetic trial lengths: shown only when the measured
// trials have just predicted one well, and then within 25% of the real time left.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ETA_TOLERANCE, EtaEstimator } from '../../src/eta.ts';
import { createProgress } from '../../src/progress.ts';
import { parseProfile } from '../../src/profile/load.ts';
import { buildPlan, minimumPlanSeconds, transferDeadlineSeconds } from '../../src/profile/plan.ts';

/** Replays a run whose trials took `durations` s: at each trial's start, the shown estimate
 * (or null) and the real time left to the run's end. */
function replay(durations: number[]): Array<{ index: number; shown: number | null; real: number }> {
  const eta = new EtaEstimator();
  const out: Array<{ index: number; shown: number | null; real: number }> = [];
  let now = 1000;
  durations.forEach((d, i) => {
    eta.trialStart(now);
    out.push({ index: i, shown: eta.secondsLeft(durations.length - i), real: durations.slice(i).reduce((a, b) => a + b, 0) });
    now += d;
  });
  return out;
}

function assertShownWithin(rows: ReturnType<typeof replay>, tolerance = ETA_TOLERANCE): void {
  for (const r of rows) {
    if (r.shown === null) continue;
    assert.ok(Math.abs(r.shown - r.real) <= tolerance * r.real, `trial ${r.index}: shown ${r.shown.toFixed(1)} s, real ${r.real.toFixed(1)} s`);
  }
}

test('nothing is shown before two trials have ended', () => {
  const rows = replay([4.5, 4.5, 4.5, 4.5]);
  assert.equal(rows[0]!.shown, null);
  assert.equal(rows[1]!.shown, null);
  assert.equal(rows[2]!.shown, 9);
  assert.equal(rows[3]!.shown, 4.5);
});

test('a first trial 3x slower than the rest: hidden until the steady length is confirmed, then exact', () => {
  const rows = replay([30, 10, 10, 10, 10, 10]);
  assert.deepEqual(rows.map((r) => r.shown), [null, null, null, 30, 20, 10]);
  assertShownWithin(rows, 0);
});

test('TCG: trials 40 s beyond a 2 s window, the first one slower (bpftrace compile), jitter of a few seconds', () => {
  const rows = replay([55, 42, 44, 41, 45, 43, 40, 46]);
  assert.equal(rows[1]!.shown, null, 'one trial is not enough');
  assert.ok(rows.slice(3).every((r) => r.shown !== null), 'shown once the lengths agree');
  assertShownWithin(rows);
  // The old estimate, window + ramp-up + 2.5 s per trial, would have said 8 x 4.5 = 36 s for 356 s.
});

test('the host: steady 4.5 s trials are shown from the third on, exactly', () => {
  const rows = replay([4.6, 4.5, 4.5]);
  assert.equal(rows[2]!.shown, 4.5);
});

test('a trial that breaks the pattern hides the estimate until the next one confirms it', () => {
  const rows = replay([10, 10, 10, 30, 10, 10, 10]);
  assert.notEqual(rows[3]!.shown, null);
  assert.equal(rows[4]!.shown, null, 'after the 30 s trial');
  assertShownWithin(rows.slice(5));
});

test('two kernels interleaved (40 s and 60 s trials alternating, pauses included): shown values within 25%', () => {
  const rows = replay([70, 60, 40, 60, 40, 60, 40, 60, 40, 60]);
  assert.ok(rows.some((r) => r.shown !== null));
  assertShownWithin(rows);
});

test('progress lines: "at least" at run start, no "s left" while unknown, "about N s left" when shown', () => {
  const lines: string[] = [];
  const p = createProgress('plain', (s) => lines.push(s));
  p({ event: 'run-start', profile: 'quick', trials: 3, minimumSeconds: 6, resultDir: '/tmp/r' });
  p({ event: 'trial-start', index: 0, total: 3, variant: 'a', repetition: 0, warmup: false, secondsLeft: null });
  p({ event: 'trial-start', index: 2, total: 3, variant: 'a', repetition: 2, warmup: false, secondsLeft: 4.4 });
  assert.match(lines[0]!, /3 trials, at least 6 s \(ramp-ups and windows\)/);
  assert.equal(lines[1], '[1/3] a rep 1\n');
  assert.equal(lines[2], '[3/3] a rep 3 (about 4 s left)\n');
});

test('transfer trials: no ramp-up or window counted in the minimum; their deadlines bound them, said at run start', () => {
  const profile = parseProfile([
    'name: t', 'duration: 2', 'rampUp: 1', 'repetitions: 2', 'warmupTrials: 0',
    'variants:',
    '  - { name: timed }',
    '  - { name: xfer, workload: { transfer: { packets: 1000, deadlineSeconds: 5 } } }',
    '  - { name: xfer-long, workload: { transfer: { packets: 1000, deadlineSeconds: 30 } } }',
    '',
  ].join('\n'), 'p');
  const plan = buildPlan(profile);
  assert.equal(plan.trials.length, 6);
  // Only the two timed trials have a ramp-up and a window (3 s each); a transfer may end at once.
  assert.equal(minimumPlanSeconds(profile, plan), 6);
  assert.deepEqual(transferDeadlineSeconds(plan), { trials: 4, seconds: 2 * 5 + 2 * 30 });
  const lines: string[] = [];
  const p = createProgress('plain', (s) => lines.push(s));
  p({ event: 'run-start', profile: 't', trials: 6, minimumSeconds: 6, transfers: transferDeadlineSeconds(plan), resultDir: '/tmp/r' });
  assert.match(lines[0]!, /6 trials, at least 6 s \(ramp-ups and windows\), 4 of them fixed transfers taking up to 70 s in all \(their deadlines\)/);
  // Without transfers the line is as before.
  const timed = parseProfile('name: q\nduration: 2\nrampUp: 1\nrepetitions: 3\nwarmupTrials: 0\n', 'p');
  assert.equal(minimumPlanSeconds(timed, buildPlan(timed)), 9);
  assert.deepEqual(transferDeadlineSeconds(buildPlan(timed)), { trials: 0, seconds: 0 });
});
