// The trial loop's rules (src/run/loop.ts) through a fake executor: no lab, no VM, the real
// plan and the real result.json writer. Order (interleaved and shuffled), warm-ups, a failed
// trial, five failures in a row, a trial that cannot run at all, and an interruption that
// keeps the trials measured.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { emptyMetrics } from '../../src/metrics.ts';
import { parseProfile } from '../../src/profile/load.ts';
import { buildPlan, resolveVariants } from '../../src/profile/plan.ts';
import type { ProgressEvent } from '../../src/progress.ts';
import { MAX_FAILED_IN_A_ROW, runTrialLoop, type Executor } from '../../src/run/loop.ts';
import type { PlannedTrial, Result, TrialResult } from '../../src/types.ts';
import { fixtureCaps } from '../helpers/result-fixture.ts';

const trialOf = (p: PlannedTrial, error?: string): TrialResult => ({
  index: p.index, variant: p.variant, repetition: p.repetition, warmup: p.warmup, overhead: p.overhead,
  startedAt: new Date().toISOString(), status: error ? 'failed' : 'ok', ...(error ? { error } : {}),
  windowSeconds: 1, probeLevel: p.probeLevel, probeBackend: null, metrics: emptyMetrics(),
  counters: null, crossCheck: [], consumer: null, rawProbeFile: null,
});

const label = (t: { variant: string; warmup: boolean; repetition: number }): string => `${t.variant}${t.warmup ? 'w' : t.repetition}`;

/** A run of `yaml` through a fake executor; `behave` decides each trial (default: measured). */
async function run(yaml: string, behave: (p: PlannedTrial, ctx: { interrupt: (s: NodeJS.Signals) => void; saved: () => Result }) => TrialResult | Promise<TrialResult> = (p) => trialOf(p), arrived?: () => TrialResult | null) {
  const profile = parseProfile(yaml, 'test.yaml');
  const variants = resolveVariants(profile);
  const plan = buildPlan(profile, variants);
  const dir = mkdtempSync(join(tmpdir(), 'tb-loop-'));
  const saved = (): Result => JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Result;
  const executed: PlannedTrial[] = [];
  const savedBefore: number[] = [];
  const events: ProgressEvent[] = [];
  let hook: ((s: NodeJS.Signals) => void) | null = null;
  let finished = 0;
  const executor: Executor = {
    // The host name stands for what an executor learns as it runs (a VM's run time): asked at every save.
    environment: () => ({ run: { kernel: fixtureCaps.kernel, tun: fixtureCaps.tun, host: { ...fixtureCaps.host, hostname: finished ? 'finished' : 'running' }, target: 'host', capabilities: fixtureCaps }, variants: null }),
    execute: async (p) => {
      executed.push(p);
      savedBefore.push(saved().variants.flatMap((v) => v.trials).length);
      return behave(p, { interrupt: (s) => hook!(s), saved });
    },
    finish: async () => { finished++; },
    ...(arrived ? { arrived } : {}),
  };
  let error: Error | null = null;
  let result: Result | null = null;
  try {
    ({ result } = await runTrialLoop({
      dir, id: 'test', command: ['tunbench', 'bench'], profile, profileSource: 'test.yaml', plan, variants, warnings: [],
      progress: (e) => events.push(e), executor,
      onInterrupt: (h) => { hook = h; return () => { hook = null; }; },
    }));
  } catch (e) {
    error = e as Error;
  }
  return { plan, executed, savedBefore, events, error, result, saved: saved(), finished, hookLeft: hook !== null };
}

const two = 'name: t\nrepetitions: 3\nwarmupTrials: 1\nvariants: [{ name: a, baseline: true }, { name: b }]\n';

test('interleaved: warm-ups first, then A B A B; every trial saved before the next starts; finished once, then the last save', async () => {
  const r = await run(two);
  assert.equal(r.error, null);
  assert.deepEqual(r.executed.map(label), ['aw', 'bw', 'a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
  assert.deepEqual(r.savedBefore, [0, 1, 2, 3, 4, 5, 6, 7], 'result.json rewritten after each trial');
  assert.equal(r.saved.status, 'complete');
  assert.equal(r.saved.statusReason, undefined);
  assert.ok(r.saved.finishedAt);
  assert.deepEqual(r.saved.variants.map((v) => v.trials.map(label)), [['aw', 'a0', 'a1', 'a2'], ['bw', 'b0', 'b1', 'b2']]);
  assert.equal(r.saved.variants[0]!.trials.filter((t) => t.warmup).length, 1, 'warm-ups are kept, marked');
  assert.equal(r.finished, 1);
  assert.equal(r.saved.environment.host.hostname, 'finished', 'the environment is asked again after finish');
  assert.deepEqual(r.result, r.saved, 'the returned result is the saved one');
  assert.equal(r.hookLeft, false, 'the signal hook is removed at the end');
  assert.deepEqual(r.events.filter((e) => e.event === 'trial-start').map((e) => (e as { index: number }).index), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('shuffled: each round holds every variant once, in an order of its own, and the loop follows the plan', async () => {
  const yaml = (seed: number) => `name: t\norder: shuffled\nseed: ${seed}\nrepetitions: 6\nwarmupTrials: 1\nvariants: [{ name: a, baseline: true }, { name: b }, { name: c }]\n`;
  const rounds = new Set<string>();
  for (const seed of [1, 2, 3]) {
    const r = await run(yaml(seed));
    assert.equal(r.saved.status, 'complete');
    assert.deepEqual(r.executed.map(label), r.plan.trials.map(label), 'executed in the plan\'s order');
    assert.deepEqual(r.executed.map((t) => t.index), r.executed.map((_, i) => i));
    for (let i = 0; i < r.executed.length; i += 3) {
      const round = r.executed.slice(i, i + 3);
      assert.deepEqual(round.map((t) => t.variant).sort(), ['a', 'b', 'c'], `round ${i / 3} of seed ${seed}`);
      assert.equal(new Set(round.map((t) => t.warmup)).size, 1, 'warm-up rounds come first, whole');
      rounds.add(round.map((t) => t.variant).join(''));
    }
  }
  assert.ok(rounds.size > 1, `shuffled rounds differ: ${[...rounds].join(' ')}`);
});

test('a failed trial is kept and the run goes on; the run ends incomplete, naming the first failure', async () => {
  const r = await run(two, (p) => trialOf(p, p.index === 3 ? 'the sink died' : undefined));
  assert.equal(r.error, null);
  assert.equal(r.executed.length, 8);
  assert.equal(r.saved.status, 'incomplete');
  assert.equal(r.saved.statusReason, '1 of 8 trials failed (first: trial 4, b: the sink died)', 'index 3 is trial 4, as the progress line [4/8] numbered it');
  assert.equal(r.saved.variants[1]!.trials.find((t) => t.index === 3)?.status, 'failed');
});

test(`${MAX_FAILED_IN_A_ROW} failed trials in a row stop the run: failed, with a warning; the trials kept`, async () => {
  const r = await run('name: t\nrepetitions: 10\nwarmupTrials: 0\n', (p) => trialOf(p, p.index === 0 ? undefined : `no traffic (${p.index})`));
  assert.equal(r.error, null);
  assert.equal(r.executed.length, 1 + MAX_FAILED_IN_A_ROW, 'stopped after five failures in a row');
  assert.equal(r.saved.status, 'failed');
  assert.equal(r.saved.statusReason, '5 of 6 trials failed and 4 did not run (first: trial 2, default: no traffic (1))');
  assert.ok(r.saved.warnings.some((w) => w === '5 trials in a row failed (last: no traffic (5)): the run stops here'), r.saved.warnings.join('\n'));
  assert.equal(r.saved.variants[0]!.trials.length, 6);
  // Four failures, then a measured trial: the count starts again.
  const q = await run('name: t\nrepetitions: 10\nwarmupTrials: 0\n', (p) => trialOf(p, p.index % 5 === 4 ? undefined : 'flaky'));
  assert.equal(q.executed.length, 10);
  assert.equal(q.saved.status, 'incomplete');
});

test('a trial that cannot run at all (the executor throws) ends the run failed, keeping its trial and those before', async () => {
  const r = await run(two, (p) => {
    if (p.index < 2) return trialOf(p);
    throw Object.assign(new Error('kprobe is not available'), { trial: trialOf(p, 'kprobe is not available') });
  });
  assert.match(r.error?.message ?? '', /kprobe is not available/);
  assert.equal(r.executed.length, 3);
  assert.equal(r.saved.status, 'failed');
  assert.equal(r.saved.statusReason, 'kprobe is not available');
  assert.deepEqual(r.saved.variants.flatMap((v) => v.trials).map((t) => `${t.index}:${t.status}`).sort(), ['0:ok', '1:ok', '2:failed']);
  assert.equal(r.finished, 0);
});

test('an interruption during a trial saves the trials measured, marked interrupted; the trial cut short is not kept', async () => {
  // As a VM killed by the signal: the trial in progress throws.
  const r = await run(two, (p, c) => {
    if (p.index < 3) return trialOf(p);
    c.interrupt('SIGTERM');
    assert.equal(c.saved().statusReason, 'interrupted by SIGTERM', 'saved at once by the signal hook');
    throw new Error('the VM is gone');
  });
  assert.equal(r.error?.message, 'the VM is gone');
  assert.equal(r.saved.status, 'incomplete');
  assert.equal(r.saved.statusReason, 'interrupted by SIGTERM', 'not overwritten as failed');
  assert.deepEqual(r.saved.variants.flatMap((v) => v.trials).map((t) => t.index).sort(), [0, 1, 2]);
  assert.equal(r.finished, 0, 'finish is not called after an interruption (the cleanup stack stops the executor)');
  assert.ok(r.events.some((e) => e.event === 'run-end' && /interrupted \(SIGTERM\); 3 trials kept/.test(e.status)));
  // A trial that returns after the signal (a host trial stopped early): not kept, the loop stops.
  const q = await run(two, (p, c) => {
    if (p.index === 4) c.interrupt('SIGINT');
    return trialOf(p);
  });
  assert.equal(q.error, null);
  assert.equal(q.executed.length, 5);
  assert.equal(q.saved.status, 'incomplete');
  assert.equal(q.saved.statusReason, 'interrupted by SIGINT');
  assert.equal(q.saved.variants.flatMap((v) => v.trials).length, 4);
});

test('a signal while a measured trial is on its way back (a VM answered, the host is pausing it): that trial is kept too', async () => {
  let answered: TrialResult | null = null;
  const r = await run(two, (p, c) => {
    if (p.index < 3) return trialOf(p);
    answered = trialOf(p);
    c.interrupt('SIGTERM');
    throw new Error('the VM is gone');
  }, () => answered);
  assert.equal(r.saved.statusReason, 'interrupted by SIGTERM');
  assert.deepEqual(r.saved.variants.flatMap((v) => v.trials).map((t) => t.index).sort(), [0, 1, 2, 3], 'the answered trial is in the saved result');
  assert.equal(r.saved.variants.find((v) => v.name === 'b')!.trials.length, 2, 'kept under its own variant');
  assert.ok(r.events.some((e) => e.event === 'run-end' && /4 trials kept/.test(e.status)));
});
