import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { listProfiles, loadProfile, mergeWorkload, parseProfile } from '../../src/profile/load.ts';
import { schemaText } from '../../scripts/write-schema.ts';

function errorOf(text: string): string {
  try {
    parseProfile(text, 'p.yaml');
  } catch (e) {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.equal(e.exitCode, 2);
    return e.message;
  }
  assert.fail('expected the profile to be rejected');
}

test('every shipped profile is valid and the required ones exist', () => {
  const names = listProfiles();
  for (const required of ['default', 'quick', 'ci']) assert.ok(names.includes(required), `${required} missing`);
  assert.ok(names.some((n) => loadProfile(n).profile.variants.length > 1), 'at least one sweep profile with variants');
  for (const n of names) assert.equal(loadProfile(n).profile.name.length > 0, true);
});

test('defaults fill a minimal profile', () => {
  const p = parseProfile('name: x\n', 'p.yaml');
  assert.equal(p.workload.tap.txQueueLen, 1000);
  assert.equal(p.workload.generator.type, 'trafgen');
  assert.equal(p.workload.consumer.type, 'sink');
  assert.equal(p.probes.level, 'counters');
  assert.equal(p.repetitions, 5);
});

test('unknown keys are rejected with file and field path', () => {
  const m = errorOf('name: x\nworkload:\n  tap: { txQueueLenn: 5 }\n');
  assert.match(m, /p\.yaml: workload\.tap\.txQueueLenn: unknown field/);
});

test('type errors name the path, what was expected and what was found', () => {
  const m = errorOf('name: x\nrepetitions: many\n');
  assert.match(m, /p\.yaml: repetitions: expected number.*found the string "many"/);
  const r = errorOf('name: x\nworkload:\n  tap: { txQueueLen: 0 }\n');
  assert.match(r, /workload\.tap\.txQueueLen: .*>=1.*found number 0/);
});

test('variant overrides are validated under the variant path', () => {
  const m = errorOf('name: x\nvariants:\n  - { name: a }\n  - { name: b, workload: { consumer: { mode: fastest } } }\n');
  assert.match(m, /variants\[1\]\.workload\.consumer\.mode: .*blocking.*found the string "fastest"/);
  assert.match(errorOf('name: x\nvariants:\n  - { name: a }\n  - { name: a }\n'), /duplicate variant name 'a'/);
  assert.match(errorOf('name: x\nvariants:\n  - { name: a, baseline: true }\n  - { name: b, baseline: true }\n'), /more than one variant has baseline/);
});

test('malformed YAML and non-mapping documents are clear errors', () => {
  assert.match(errorOf('name: [x\n'), /not valid YAML/);
  assert.match(errorOf('- a\n- b\n'), /must be a YAML mapping; found a list of 2/);
});

test('a missing profile names the available ones', () => {
  assert.throws(() => loadProfile('no-such-profile'), (e: unknown) => e instanceof UserError && /not found/.test(e.message) && /default/.test(e.hint ?? ''));
});

test('merge: fields override, a different generator type replaces it whole', () => {
  const base = { tap: { txQueueLen: 1000, mtu: 1500 }, generator: { type: 'trafgen', rate: 5 } };
  assert.deepEqual(mergeWorkload(base, { tap: { txQueueLen: 64 } }), { tap: { txQueueLen: 64, mtu: 1500 }, generator: { type: 'trafgen', rate: 5 } });
  assert.deepEqual((mergeWorkload(base, { generator: { type: 'pktgen' } }) as { generator: unknown }).generator, { type: 'pktgen' });
});

test('profiles/profile.schema.json is up to date (npm run schema)', () => {
  const committed = readFileSync(new URL('../../profiles/profile.schema.json', import.meta.url), 'utf8');
  assert.equal(committed, schemaText());
  const schema = JSON.parse(committed) as { properties: Record<string, unknown>; additionalProperties?: boolean };
  assert.ok('workload' in schema.properties && 'variants' in schema.properties);
  assert.equal(schema.additionalProperties, false);
});
