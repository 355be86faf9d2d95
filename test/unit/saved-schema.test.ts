// The one schema of saved files (src/result/schema.ts) and its reader (src/result/read.ts):
// it takes the fixture result and freshly written files of every kind, and refuses each class
// of bad file with a UserError naming the path and the part; writes are validated first and
// all or nothing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareResults, compareWithinResult } from '../../src/analysis/compare.ts';
import { analyze, analyzeRun } from '../../src/analysis/analyze.ts';
import { gate } from '../../src/analysis/gate.ts';
import { gateWithinRun } from '../../src/analysis/run-gate.ts';
import type { Analysis } from '../../src/analysis/types.ts';
import { UserError } from '../../src/errors.ts';
import { readResult, readSaved } from '../../src/result/read.ts';
import { SAVED } from '../../src/result/schema.ts';
import { writeFileAtomic, writeResult, writeSaved } from '../../src/result/store.ts';
import { fixtureResult } from '../helpers/result-fixture.ts';

const FIXTURE = 'test/fixtures/results/fixture-run/result.json';
const dir = mkdtempSync(join(tmpdir(), 'tunbench-schema-'));
const good = (): Record<string, any> => JSON.parse(readFileSync(FIXTURE, 'utf8'));
const put = (name: string, data: unknown): string => {
  const p = join(dir, name);
  writeFileSync(p, typeof data === 'string' ? data : JSON.stringify(data));
  return p;
};
const refuses = (fn: () => unknown, re: RegExp, label: string) =>
  assert.throws(fn, (e: unknown) => e instanceof UserError && re.test(e.message) && !/TypeError|ENOENT|internal error/.test(e.message), label);

test('accepts the saved fixture, a freshly written result, comparison, analysis and gate verdict', () => {
  const fixture = readResult(FIXTURE);
  assert.equal(fixture.variants.length, 2);
  const fresh = fixtureResult({ trials: 6 });
  const out = join(dir, 'fresh');
  mkdirSync(out);
  writeResult(out, fresh);
  assert.equal(readResult(out).variants[0]!.trials.length, 6);
  const cmp = compareResults(fresh, fresh, { force: false });
  writeSaved(SAVED.comparison, join(out, 'comparison.json'), cmp);
  assert.equal(readSaved(SAVED.comparison, join(out, 'comparison.json')).data !== null, true);
  const g = gate({ comparison: cmp, maxRegression: 0.05, metrics: ['xmit_pps', 'rx_pps'] });
  writeSaved(SAVED.gate, join(out, 'gate.json'), g);
  readSaved(SAVED.gate, join(out, 'gate.json'));
  // The Analysis of a run, of a run with its own gate, and of a gate between two results.
  const self = gateWithinRun(fresh, fresh.profile.gate);
  for (const [name, a] of [['run', analyzeRun(fresh)], ['run-gate', analyzeRun(fresh, { gate: self })], ['two', analyze({ results: [{ result: fresh, source: 'a' }, { result: fresh, source: 'b' }], comparison: cmp, gate: g })]] as const) {
    writeSaved(SAVED.analysis, join(out, `analysis-${name}.json`), a);
    const back = readSaved<Analysis>(SAVED.analysis, join(out, `analysis-${name}.json`)).data;
    assert.equal(back.kind, 'tunbench-analysis');
    assert.ok(!('comparison' in (back.gate ?? {})), `${name}: the gate's comparison is the analysis's own, saved once`);
  }
  // analysis.json of earlier versions held a bare comparison: refused by name, not misread (nothing reads it back today).
  refuses(() => readSaved(SAVED.analysis, put('old-analysis.json', compareWithinResult(fresh))), /old-analysis\.json: a tunbench comparison, not a run's analysis/, 'a comparison as analysis.json');
});

test('tolerant where detail varies: unknown fields, new metric names, nulls for metrics not measured', () => {
  const r = good();
  r.somethingNew = { a: 1 };
  r.variants[0].trials[0].metrics.brand_new_metric = 42;
  r.variants[0].trials[0].metrics.xmit_pps = null;
  r.variants[0].trials[0].newTrialField = [1, 2];
  r.variants[0].trials[0].readings.newReading = 'x';
  assert.doesNotThrow(() => readResult(put('tolerant.json', r)));
});

test('refuses every class of bad result by path and part', () => {
  const hollow = good(); delete hollow.variants;
  const noVariants = good(); noVariants.variants = [];
  const partial = good(); delete partial.variants[1].trials[0].metrics;
  const noGate = good(); delete noGate.profile.gate;
  const future = good(); future.schemaVersion = 4;
  const older = good(); older.schemaVersion = 1;
  const mistyped = good(); mistyped.variants[0].trials[0].metrics.xmit_pps = 'fast';
  const mistyped2 = good(); mistyped2.variants = 'many';
  const text = readFileSync(FIXTURE, 'utf8');
  const cases: Array<[string, string, RegExp]> = [
    ['hollow', put('hollow.json', hollow), /hollow\.json: not a usable tunbench result: variants: missing \(expected array\)/],
    ['no variants', put('novariants.json', noVariants), /variants: no variants/],
    ['partial trial', put('partial.json', partial), /variants\[1\]\.trials\[0\]\.metrics: missing/],
    ['no gate', put('nogate.json', noGate), /profile\.gate: missing/],
    ['future', put('future.json', future), /future\.json: a tunbench result of schema version 4 \(tunbench 0\.1\.0 wrote it\), newer than this tunbench reads \(versions 2 to 3\)/],
    ['older', put('older.json', older), /older schema version 1 \(tunbench 0\.1\.0 wrote it\); this tunbench reads versions 2 to 3/],
    ['mis-typed metric', put('mistyped.json', mistyped), /variants\[0\]\.trials\[0\]\.metrics\.xmit_pps: expected number, found the string 'fast'/],
    ['mis-typed variants', put('mistyped2.json', mistyped2), /variants: expected array, found the string 'many'/],
    ['truncated', put('trunc.json', text.slice(0, text.length / 2)), /trunc\.json: not complete JSON .*truncated/],
    ['empty', put('empty.json', ''), /empty\.json: the file is empty/],
    ['array', put('array.json', [1, 2]), /array\.json: holds an array of 2, not a tunbench result/],
    ['number', put('number.json', '42'), /number\.json: holds number 42, not a tunbench result/],
    ['foreign object', put('package.json', { name: 'x', version: '1' }), /package\.json: JSON of another kind \(keys name, version\)/],
    ['missing', join(dir, 'nope.json'), /nope\.json: no such file: looked for a tunbench result/],
    ['folder without it', mkdtempSync(join(dir, 'empty-')), /empty-\w+: the folder has no result\.json/],
  ];
  for (const [label, path, re] of cases) refuses(() => readResult(path), re, label);
  const cmp = compareResults(fixtureResult(), fixtureResult(), { force: false }) as unknown as Record<string, unknown>;
  refuses(() => readSaved(SAVED.result, put('cmp-as-result.json', cmp)), /a tunbench comparison, not a result/, 'comparison given as a result');
  const hollowCmp = JSON.parse(JSON.stringify(cmp)); delete hollowCmp.comparisons;
  refuses(() => readSaved(SAVED.comparison, put('hollow-cmp.json', hollowCmp)), /not a usable tunbench comparison: comparisons: missing/, 'hollow comparison');
  refuses(() => readSaved(SAVED.baselineMeta, put('meta.json', { name: 'x' })), /meta\.json: not a usable baseline's record: savedAt: missing/, 'hollow meta');
});

test('writes are validated before anything is written, and leave no temporary file', () => {
  const out = mkdtempSync(join(dir, 'w-'));
  const bad = fixtureResult() as unknown as Record<string, unknown>;
  delete bad.variants;
  assert.throws(() => writeSaved(SAVED.result, join(out, 'result.json'), bad), /refusing to write .*result\.json: it would not be a tunbench result: variants: missing/);
  assert.deepEqual(readdirSync(out), []);
  assert.throws(() => writeFileAtomic(join(out, 'no', 'such', 'f'), 'x'));
  assert.deepEqual(readdirSync(out), []);
});

test('a write that fills the disk keeps the previous file whole and removes its temporary file', (t) => {
  const mnt = mkdtempSync(join(dir, 'tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore' });
  } catch {
    t.skip('cannot mount a tmpfs here (needs root)');
    return;
  }
  try {
    const f = join(mnt, 'result.json');
    writeFileAtomic(f, 'old');
    assert.throws(() => writeFileAtomic(f, 'x'.repeat(200_000)), (e: NodeJS.ErrnoException) => e.code === 'ENOSPC');
    assert.equal(readFileSync(f, 'utf8'), 'old');
    assert.deepEqual(readdirSync(mnt), ['result.json']);
  } finally {
    execFileSync('umount', [mnt]);
  }
});

test.after(() => {
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
});
