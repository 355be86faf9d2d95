import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { profileProblems } from '../../src/doctor/requirements.ts';
import { crossKernels } from '../../src/kernel/specs.ts';
import { parseProfile } from '../../src/profile/load.ts';
import { buildPlan, resolveVariants } from '../../src/profile/plan.ts';

const streams = `name: tcp-streams
repetitions: 2
warmupTrials: 1
workload:
  generator: { type: iperf3, protocol: tcp }
  consumer: { type: wire }
sweep: { streams: [1, 4, 8] }
`;

/** The profile error's lines (a UserError, exit 2 through the CLI). */
function errorOf(text: string): string {
  try {
    parseProfile(text, 'p.yaml');
  } catch (e) {
    assert.ok(e instanceof UserError, `a UserError, not ${String(e)}`);
    return e.message;
  }
  assert.fail('the profile was accepted');
}

test('sweep.streams: one variant per value, named after the profile, the first the baseline', () => {
  const vs = resolveVariants(parseProfile(streams, 'p.yaml'));
  assert.deepEqual(vs.map((v) => [v.name, v.baseline, v.workload.generator.type === 'iperf3' ? v.workload.generator.streams : null]), [
    ['tcp-streams-1', true, 1], ['tcp-streams-4', false, 4], ['tcp-streams-8', false, 8],
  ]);
  assert.equal(vs[1]!.workload.consumer.type, 'wire', 'the rest of the workload is the profile\'s');
  assert.match(vs[2]!.description ?? '', /8 parallel streams/);
});

test('a sweep is one interleaved run: warm-ups, then rounds of every swept value', () => {
  const plan = buildPlan(parseProfile(streams, 'p.yaml'));
  assert.deepEqual(plan.trials.map((t) => `${t.variant.replace('tcp-streams-', '')}${t.warmup ? 'w' : t.repetition}`), ['1w', '4w', '8w', '10', '40', '80', '11', '41', '81']);
});

test('sweep.prefix names the swept variants; explicit variants follow them and may compare to them', () => {
  const text = `${streams.replace('sweep: { streams: [1, 4, 8] }', 'sweep: { streams: [1, 8], prefix: tcp }')}variants:
  - { name: tcp-8-noqueue, compareTo: tcp-8, workload: { tap: { qdisc: noqueue }, generator: { streams: 8 } } }
`;
  const vs = resolveVariants(parseProfile(text, 'p.yaml'));
  assert.deepEqual(vs.map((v) => [v.name, v.baseline, v.compareTo ?? null, v.workload.tap.qdisc]), [
    ['tcp-1', true, null, 'default'], ['tcp-8', false, null, 'default'], ['tcp-8-noqueue', false, 'tcp-8', 'noqueue'],
  ]);
});

test('an explicit baseline: true takes the baseline from the sweep', () => {
  const text = `${streams}variants:\n  - { name: ref, baseline: true }\n`;
  const vs = resolveVariants(parseProfile(text, 'p.yaml'));
  assert.deepEqual(vs.map((v) => [v.name, v.baseline]), [['tcp-streams-1', false], ['tcp-streams-4', false], ['tcp-streams-8', false], ['ref', true]]);
});

test('sweep.threads: trafgen cpus and pktgen threads, each into its own queue of a multi-queue tap', () => {
  const trafgen = resolveVariants(parseProfile('name: flood\nworkload: { generator: { type: trafgen, qdisc: true } }\nsweep: { threads: [1, 2] }\n', 'p.yaml'));
  assert.deepEqual(trafgen.map((v) => [v.name, v.baseline, v.workload.generator.type === 'trafgen' ? v.workload.generator.cpus : null, v.workload.tap.queues, v.workload.tap.steering]), [
    ['flood-1', true, 1, 1, undefined], ['flood-2', false, 2, 2, 'cpu'],
  ]);
  const pktgen = resolveVariants(parseProfile('name: pg\nworkload: { generator: { type: pktgen } }\nsweep: { threads: [1, 4] }\n', 'p.yaml'));
  assert.deepEqual(pktgen.map((v) => [v.name, v.workload.generator.type === 'pktgen' ? v.workload.generator.threads : null, v.workload.tap.queues]), [['pg-1', 1, 1], ['pg-4', 4, 4]]);
});

test('--kernel crosses the swept variants like written-out ones', () => {
  const crossed = crossKernels(parseProfile(streams.replace('[1, 4, 8]', '[1, 8]'), 'p.yaml'), [{ name: 'stock', spec: 'debian' }, { name: 'bp', spec: 'patched' }]);
  assert.equal(crossed.sweep, undefined);
  const vs = resolveVariants(crossed);
  assert.deepEqual(vs.map((v) => [v.name, v.baseline, v.compareTo ?? null]), [
    ['tcp-streams-1@stock', true, null], ['tcp-streams-1@bp', false, 'tcp-streams-1@stock'],
    ['tcp-streams-8@stock', false, null], ['tcp-streams-8@bp', false, 'tcp-streams-8@stock'],
  ]);
});

test('sweep errors are plain and name the field', () => {
  assert.match(errorOf('name: x\nworkload: { generator: { type: trafgen } }\nsweep: { streams: [1, 2] }\n'), /sweep\.streams: sweeps iperf3's parallel streams, but workload\.generator\.type is trafgen/);
  assert.match(errorOf(streams.replace('[1, 4, 8]', '[1, 4, 4]')), /sweep\.streams\[2\]: 4 is listed twice/);
  assert.match(errorOf(streams.replace('[1, 4, 8]', '[]')), /sweep\.streams: .*1/);
  assert.match(errorOf(streams.replace('[1, 4, 8]', '[0, 4]')), /sweep\.streams\[0\]/);
  assert.match(errorOf(streams.replace('[1, 4, 8]', '[1, 200]')), /sweep\.streams\[1\]/);
  assert.match(errorOf(streams.replace('streams: [1, 4, 8]', 'streams: [1], threads: [1, 2]')), /one axis at a time/);
  assert.match(errorOf(streams.replace('streams: [1, 4, 8]', 'prefix: a')), /sweep: names no axis/);
  assert.match(errorOf(streams.replace('streams: [1, 4, 8]', 'stream: [1, 4]')), /sweep\.stream: unknown field/);
  assert.match(errorOf(`${streams}variants:\n  - { name: tcp-streams-4 }\n`), /variants\[0\]\.name: duplicate variant name 'tcp-streams-4' \(a swept variant has it/);
  assert.match(errorOf(`${streams}variants:\n  - { name: a, compareTo: tcp-streams-2 }\n`), /variants\[0\]\.compareTo: expected the name of another variant \(tcp-streams-1, tcp-streams-4, tcp-streams-8, a\)/);
  assert.match(errorOf('name: x\nworkload: { generator: { type: iperf3 }, consumer: { type: wire } }\nsweep: { threads: [1, 2] }\n'), /sweep\.threads: .*iperf3; sweep streams instead/);
  assert.match(errorOf('name: x\nworkload: { generator: { type: trafgen }, consumer: { type: guest } }\nsweep: { threads: [1, 2] }\n'), /sweep\.threads: each thread gets its own queue .* consumer type sink/);
  assert.match(errorOf('name: x\nworkload: { generator: { type: trafgen } }\nsweep: { threads: [1, 17] }\n'), /sweep\.threads\[1\]/);
  assert.match(errorOf('name: my profile\nworkload: { generator: { type: iperf3 }, consumer: { type: wire } }\nsweep: { streams: [1] }\n'), /sweep\.streams\[0\]: the variant name 'my profile-1' is not a valid name.*set sweep\.prefix/);
  assert.match(errorOf(`${streams}variants:\n  - { name: a, baseline: true }\n  - { name: b, baseline: true }\n`), /more than one variant has baseline: true/);
});

test('tap.steering: cpu is the sink\'s program: refused before traffic with another consumer', () => {
  const probs = (consumer: string) => profileProblems(resolveVariants(parseProfile(`name: x\nworkload: { tap: { steering: cpu }, generator: { type: iperf3 }, consumer: { type: ${consumer} } }\n`, 'p.yaml')), [0, 1]);
  assert.ok(probs('wire').some((p) => /workload\.tap\.steering: cpu is a steering program the sink attaches; consumer type wire/.test(p)), probs('wire').join('; '));
  const sinkOk = profileProblems(resolveVariants(parseProfile('name: x\nworkload: { tap: { queues: 2, steering: cpu }, generator: { type: trafgen, cpus: 2 }, consumer: { type: sink } }\n', 'p.yaml')), [0, 1]);
  assert.ok(!sinkOk.some((p) => /steering/.test(p)), sinkOk.join('; '));
});
