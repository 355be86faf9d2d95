import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProfile } from '../../src/profile/load.ts';
import { buildPlan, resolveVariants } from '../../src/profile/plan.ts';

const twoVariants = `name: x
repetitions: 3
warmupTrials: 1
workload: { tap: { txQueueLen: 1000 }, consumer: { type: sink, delayNs: 0 } }
variants:
  - { name: a }
  - { name: b, baseline: true, workload: { tap: { txQueueLen: 64 } } }
`;

test('variants are merged onto the profile workload; baseline honoured', () => {
  const vs = resolveVariants(parseProfile(twoVariants, 'p'));
  assert.deepEqual(vs.map((v) => [v.name, v.baseline, v.workload.tap.txQueueLen]), [['a', false, 1000], ['b', true, 64]]);
  assert.equal(vs[1]!.workload.tap.mtu, 1500);
});

test('a profile without variants has one baseline variant named default', () => {
  const vs = resolveVariants(parseProfile('name: x', 'p'));
  assert.deepEqual(vs.map((v) => [v.name, v.baseline]), [['default', true]]);
});

test('interleaved: warm-ups first, then A B A B ...', () => {
  const plan = buildPlan(parseProfile(twoVariants, 'p'));
  assert.deepEqual(plan.trials.map((t) => `${t.variant}${t.warmup ? 'w' : t.repetition}`), ['aw', 'bw', 'a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
  assert.deepEqual(plan.trials.map((t) => t.index), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('shuffled order is reproducible from the seed and keeps rounds whole', () => {
  const text = `${twoVariants.replace('repetitions: 3', 'repetitions: 20')}order: shuffled\nseed: 7\n`;
  const p1 = buildPlan(parseProfile(text, 'p')).trials.map((t) => t.variant).join('');
  const p2 = buildPlan(parseProfile(text, 'p')).trials.map((t) => t.variant).join('');
  const p3 = buildPlan(parseProfile(text.replace('seed: 7', 'seed: 8'), 'p')).trials.map((t) => t.variant).join('');
  assert.equal(p1, p2);
  assert.notEqual(p1, p3);
  for (let i = 0; i < p1.length; i += 2) assert.deepEqual([...p1.slice(i, i + 2)].sort(), ['a', 'b']);
  assert.notEqual(p1.slice(2), 'ab'.repeat(20), 'order actually shuffled');
});

test('measureOverhead adds a probes-off twin beside each measured trial', () => {
  const plan = buildPlan(parseProfile('name: x\nrepetitions: 2\nwarmupTrials: 1\nprobes: { measureOverhead: true }\n', 'p'));
  assert.deepEqual(plan.trials.map((t) => `${t.warmup ? 'w' : t.repetition}:${t.probeLevel}:${t.overhead}`), ['w:counters:false', '0:counters:false', '0:off:true', '1:counters:false', '1:off:true']);
});
