// Results of schema version 2 (trials held copies of readings.probe and readings.generator) are
// read by every command as version 3: the copies dropped, nothing else changed, and the
// analysis of the lifted result is the analysis of the file as written.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareResults, compareWithinResult } from '../../src/analysis/compare.ts';
import { readResult } from '../../src/result/read.ts';
import { writeResult } from '../../src/result/store.ts';
import { resultFrom2, upgradeResult } from '../../src/result/upgrade.ts';
import { RESULT_SCHEMA_VERSION, type Result } from '../../src/types.ts';

const V2 = 'test/fixtures/results/schema-2/result.json';
const raw = (): Record<string, any> => JSON.parse(readFileSync(V2, 'utf8'));

test('the schema-2 fixture is what version 2 wrote: copies of the probe samples and the generator report on each trial', () => {
  const r = raw();
  assert.equal(r.schemaVersion, 2);
  const trials = r.variants.flatMap((v: any) => v.trials);
  assert.equal(trials.length, 6);
  for (const t of trials) {
    assert.equal(t.status, 'ok');
    assert.deepEqual(t.probe, t.readings.probe);
    assert.deepEqual(t.generator, t.readings.generator);
    assert.ok(t.probe !== null && t.generator !== null);
  }
});

test('read as version 3: the copies are gone, the readings and every other field unchanged', () => {
  const before = raw();
  const r = readResult(V2) as unknown as Record<string, any>;
  assert.equal(r.schemaVersion, RESULT_SCHEMA_VERSION);
  assert.deepEqual(raw(), before, 'the file is not changed');
  before.variants.forEach((v: any, i: number) => v.trials.forEach((t: any, k: number) => {
    const u = r.variants[i].trials[k];
    assert.ok(!('probe' in u) && !('generator' in u), 'no trial-level copy');
    const { probe: _p, generator: _g, ...rest } = t;
    assert.deepEqual(u, rest);
  }));
  const { variants: _a, schemaVersion: _b, ...top } = before;
  const { variants: _c, schemaVersion: _d, ...top3 } = r;
  assert.deepEqual(top3, top);
});

test('each fact saved once: the same run saved as version 3 is at least a fifth smaller', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunbench-v3-'));
  const path = writeResult(dir, readResult(V2));
  const v2 = readFileSync(V2, 'utf8').length;
  const v3 = readFileSync(path, 'utf8').length;
  assert.ok(v3 < v2 * 0.8, `version 3: ${v3} characters, version 2: ${v2}`);
  assert.deepEqual(readResult(path), readResult(V2), 'a saved version 3 reads back as the lifted version 2');
});

test('the upgrade is a pure step: input untouched; parts of the wrong type left for the schema to name', () => {
  const o = raw();
  const copy = structuredClone(o);
  const u = upgradeResult(o)!;
  assert.deepEqual(o, copy);
  assert.equal(u.schemaVersion, 3);
  assert.deepEqual(resultFrom2({ schemaVersion: 2, variants: 'many' }), { schemaVersion: 3, variants: 'many' });
  assert.deepEqual(resultFrom2({ schemaVersion: 2, variants: [{ trials: [7] }] }), { schemaVersion: 3, variants: [{ trials: [7] }] });
  assert.equal(upgradeResult({ schemaVersion: 1 }), null, 'no step from version 1');
});

test('the analysis of a schema-2 result: within it and against a version-3 copy of it', () => {
  const r = readResult(V2);
  const within = compareWithinResult(r);
  for (const m of ['xmit_pps', 'rx_pps', 'drop_ratio']) assert.ok(within.comparisons.some((c) => c.metric === m && c.nBaseline === 3 && c.nCandidate === 3), m);
  assert.ok(within.comparisons.every((c) => c.baseline === 'ring' && c.candidate === 'small-ring'));
  const dir = mkdtempSync(join(tmpdir(), 'tunbench-v3-'));
  const v3: Result = readResult(writeResult(dir, r));
  const across = compareResults(r, v3, { baselineSource: 'v2', candidateSource: 'v3' });
  assert.equal(across.differences.length, 0, 'the two versions of one run measured the same thing');
  const rx = across.comparisons.find((c) => c.metric === 'rx_pps' && c.candidate === 'B:ring')!;
  assert.equal(rx.ratio, 1, 'the same trials: no change');
  assert.equal(rx.baselineMedian, rx.candidateMedian);
});
