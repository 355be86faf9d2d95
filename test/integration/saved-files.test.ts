// Saved-file commands held to the bench's standard (issue 20): every command that reads a
// saved file (report, compare, gate, baseline save, baseline list, bench --gate BASELINE) x
// every class of bad file, and every command that writes x every class of bad output path:
// exit 2 (125 under --bisect), one `tunbench:` line naming the path, no TypeError, raw errno,
// internal error or stack, in under 10 s. Bad files are made from the fixture result by
// deleting or mistyping parts. Nothing here measures: `bench --gate` is refused before the run
// lock, and runs with TUNBENCH_LOCK pointing at a lock this test holds, so a regression would
// be refused at the lock instead of measuring.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { execa } from 'execa';
import { acquireRunLock } from '../../src/process/lock.ts';
import { CLI, tmp } from '../helpers/cli.ts';

const FIXTURE = 'test/fixtures/results/fixture-run/result.json';
const dir = tmp('tunbench-saved');
const lock = join(dir, 'run.lock');
const releaseLock = acquireRunLock(lock);
const baselines = join(dir, 'baselines');
const env = { TUNBENCH_LOCK: lock, TUNBENCH_BASELINES: baselines, GITHUB_STEP_SUMMARY: '' };

const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
  execa(process.execPath, [...CLI, ...args], { reject: false, env: { ...process.env, ...env, ...extra }, timeout: 20_000 });

const good = (): Record<string, any> => JSON.parse(readFileSync(FIXTURE, 'utf8'));
const put = (name: string, data: unknown): string => {
  const p = join(dir, name);
  writeFileSync(p, typeof data === 'string' ? data : JSON.stringify(data, null, 2));
  return p;
};
const GOOD = put('good.json', good());

/** Bad saved files, by class: [path, what the message must say]. */
const text = readFileSync(FIXTURE, 'utf8');
const BAD_FILES: Record<string, [string, RegExp]> = {
  hollow: [put('hollow.json', (({ variants: _v, ...r }) => r)(good())), /variants: missing/],
  partial: [put('partial.json', (() => { const r = good(); delete r.variants[0].trials[0].status; return r; })()), /variants\[0\]\.trials\[0\]\.status: missing/],
  truncated: [put('truncated.json', text.slice(0, 4000)), /not complete JSON/],
  'foreign object': [put('foreign.json', { name: 'left-pad', version: '1.0.0' }), /JSON of another kind/],
  'foreign array': [put('array.json', [1, 2, 3]), /holds an array/],
  'foreign number': [put('number.json', '7'), /holds number 7/],
  'future schema': [put('future.json', { ...good(), schemaVersion: 99 }), /schema version 99 .*newer than this tunbench reads/],
  'mis-typed': [put('mistyped.json', (() => { const r = good(); r.variants[1].trials = { many: true }; return r; })()), /variants\[1\]\.trials: expected array, found an object/],
  'missing file': [join(dir, 'no-such-result.json'), /no such file: looked for a tunbench result/],
  'folder without it': [(() => { const d = join(dir, 'empty-folder'); mkdirSync(d); return d; })(), /the folder has no result\.json/],
};

/** Commands that read a result, with the bad file in each position they read. */
const READERS: Array<[string, (bad: string, out: string) => string[], number]> = [
  ['report', (bad, out) => ['report', bad, '--out', out], 2],
  ['compare (A)', (bad, out) => ['compare', bad, GOOD, '--out', out, '--no-report'], 2],
  ['compare (B)', (bad, out) => ['compare', GOOD, bad, '--out', out, '--no-report'], 2],
  ['gate --baseline', (bad) => ['gate', '--baseline', bad, '--candidate', GOOD, '--no-report'], 2],
  ['gate --candidate --bisect', (bad) => ['gate', '--baseline', GOOD, '--candidate', bad, '--no-report', '--bisect'], 125],
  ['baseline save', (bad) => ['baseline', 'save', 'b1', bad], 2],
  ['bench --gate BASELINE', (bad, out) => ['bench', '--profile', 'quick', '--gate', bad, '--out', out, '--progress', 'quiet', '--no-report'], 2],
];

/** The checks every refusal passes: exit code, one message line naming `path`, nothing raw, fast. */
function assertRefused(r: { exitCode?: number; stdout: string; stderr: string }, code: number, path: string, re: RegExp, ms: number, label: string): void {
  const all = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.exitCode, code, `${label}: exit code\n${all}`);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('tunbench:'));
  assert.equal(lines.length, 1, `${label}: one message\n${r.stderr}`);
  assert.ok(lines[0]!.includes(path), `${label}: the message names ${path}\n${r.stderr}`);
  assert.match(r.stderr, re, label);
  assert.match(r.stderr, /\n {2}fix: /, `${label}: says the fix`);
  for (const bad of [/TypeError/, /ENOENT/, /EEXIST/, /internal error/, /^ {4}at /m]) assert.doesNotMatch(all, bad, `${label}\n${all}`);
  assert.ok(ms < 10_000, `${label}: took ${ms} ms`);
}

for (const [cmd, args, code] of READERS) {
  test(`${cmd}: every class of bad saved file is refused by path`, async () => {
    for (const [cls, [path, re]] of Object.entries(BAD_FILES)) {
      const out = join(dir, `out-${cmd.replace(/\W+/g, '_')}-${cls.replace(/\W+/g, '_')}`);
      const t0 = Date.now();
      const r = await cli(args(path, out));
      assertRefused(r, code, path, re, Date.now() - t0, `${cmd} x ${cls}`);
      assert.ok(!existsSync(out), `${cmd} x ${cls}: nothing written to ${out}`);
      assert.ok(!existsSync(join(baselines, 'b1')), `${cmd} x ${cls}: no half-saved baseline`);
    }
  });
}

test('report of a comparison: hollow, truncated and future comparisons are refused by path', async () => {
  const cmpDir = join(dir, 'cmp');
  const made = await cli(['compare', GOOD, GOOD, '--out', cmpDir, '--no-report']);
  assert.equal(made.exitCode, 0, made.stderr);
  const cmp = JSON.parse(readFileSync(join(cmpDir, 'comparison.json'), 'utf8'));
  const cases: Array<[string, unknown, RegExp]> = [
    ['cmp-hollow.json', (({ comparisons: _c, ...c }) => c)(cmp), /not a usable tunbench comparison: comparisons: missing/],
    ['cmp-trunc.json', JSON.stringify(cmp).slice(0, 300), /not complete JSON/],
    ['cmp-future.json', { ...cmp, schemaVersion: 7 }, /schema version 7, newer/],
    ['cmp-mistyped.json', { ...cmp, summary: { ...cmp.summary, variants: 3 } }, /summary\.variants: expected array, found number 3/],
  ];
  for (const [name, data, re] of cases) {
    const p = put(name, data);
    const t0 = Date.now();
    assertRefused(await cli(['report', p, '--out', join(dir, `out-${name}`)]), 2, p, re, Date.now() - t0, `report x ${name}`);
  }
});

// ---------------------------------------------------------------- schema-2 results
const V2 = 'test/fixtures/results/schema-2/result.json';

test('a schema-2 result (trial-level copies of probe and generator) is read by report, compare, gate and baseline save', async () => {
  const rep = join(dir, 'v2-report');
  const r = await cli(['report', V2, '--out', rep]);
  assert.equal(r.exitCode, 0, r.stderr);
  const analysis = JSON.parse(readFileSync(join(rep, 'analysis.json'), 'utf8'));
  assert.equal(analysis.kind, 'tunbench-analysis');
  assert.deepEqual(analysis.variants.map((v: { label: string; trials: number }) => [v.label, v.trials]), [['ring', 3], ['small-ring', 3]]);
  assert.equal(analysis.charts.occupancyTime.length, 2, 'the probe samples are charted from readings.probe');
  assert.match(readFileSync(join(rep, 'report.html'), 'utf8'), /small-ring/);
  // compare and gate: the version-2 file against a version-3 copy of the same run (baseline save writes version 3).
  assert.equal((await cli(['baseline', 'save', 'v2-saved', V2])).exitCode, 0);
  const v3 = JSON.parse(readFileSync(join(baselines, 'v2-saved', 'result.json'), 'utf8'));
  assert.equal(v3.schemaVersion, 3);
  assert.ok(v3.variants.every((v: { trials: object[] }) => v.trials.every((t) => !('probe' in t) && !('generator' in t))));
  const cmpOut = join(dir, 'v2-compare');
  const c = await cli(['compare', V2, 'v2-saved', '--out', cmpOut, '--json', '--no-report']);
  assert.equal(c.exitCode, 0, c.stderr);
  const cmp = JSON.parse(c.stdout);
  assert.deepEqual(cmp.differences, [], 'the same run in both versions measured the same thing');
  assert.equal(cmp.comparisons.find((x: { metric: string; candidate: string }) => x.metric === 'rx_pps' && x.candidate === 'B:ring').ratio, 1);
  const g = await cli(['gate', '--baseline', 'v2-saved', '--candidate', V2, '--out', join(dir, 'v2-gate')]);
  // 3 trials a side: the one-sided test cannot reach alpha / 3, so the gate cannot judge (exit 2), and says why.
  assert.equal(g.exitCode, 2, g.stderr);
  assert.match(g.stdout, /tunbench gate: CANNOT JUDGE[\s\S]*run at least \d+ trials a side/);
  assert.doesNotMatch(`${g.stdout}${g.stderr}`, /TypeError|schema version|internal error/);
});

// ---------------------------------------------------------------- bad output paths
const regularFile = put('a-file', 'x');
const roMount = join(dir, 'ro');
mkdirSync(roMount);
let roMounted = false;
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', roMount], { stdio: 'ignore' });
  roMounted = true;
} catch {
  /* not root: the read-only class is skipped */
}

const BAD_OUTS: Record<string, [string, RegExp]> = {
  'existing regular file': [regularFile, /exists and is a file, not a folder/],
  'under /proc': ['/proc/tunbench-out', /under \/proc \(a kernel pseudo file system\)/],
  ...(roMounted ? { 'read-only file system': [join(roMount, 'out'), /read-only file system/] as [string, RegExp] } : {}),
};

const WRITERS: Array<[string, (out: string) => string[], NodeJS.ProcessEnv?]> = [
  ['report --out', (out) => ['report', GOOD, '--out', out]],
  ['compare --out', (out) => ['compare', GOOD, GOOD, '--out', out]],
  ['gate --out', (out) => ['gate', '--baseline', GOOD, '--candidate', GOOD, '--out', out]],
  ['bench --out', (out) => ['bench', '--profile', 'quick', '--out', out, '--progress', 'quiet']],
];

for (const [cmd, args] of WRITERS) {
  test(`${cmd}: every class of bad output folder is refused before any work`, async () => {
    for (const [cls, [path, re]] of Object.entries(BAD_OUTS)) {
      const t0 = Date.now();
      assertRefused(await cli(args(path)), 2, path, re, Date.now() - t0, `${cmd} x ${cls}`);
    }
  });
}

test('baseline save: a baselines folder that cannot be written is refused before anything is written', async () => {
  for (const [cls, [path, re]] of Object.entries(BAD_OUTS)) {
    const t0 = Date.now();
    assertRefused(await cli(['baseline', 'save', 'b2', GOOD], { TUNBENCH_BASELINES: path }), 2, path, re, Date.now() - t0, `baseline save x ${cls}`);
  }
});

test('gate --markdown: a missing folder, a folder, /proc and a read-only file system are refused (exit 2, 125 with --bisect)', async () => {
  const cases: Array<[string, RegExp]> = [
    [join(dir, 'no-such-folder', 'gate.md'), /its folder .*no-such-folder does not exist/],
    [dir, /is a folder, not a file/],
    ['/proc/gate.md', /under \/proc/],
    ...(roMounted ? [[join(roMount, 'gate.md'), /read-only file system/] as [string, RegExp]] : []),
  ];
  for (const [md, re] of cases) {
    for (const bisect of [false, true]) {
      const t0 = Date.now();
      const r = await cli(['gate', '--baseline', GOOD, '--candidate', GOOD, '--no-report', '--markdown', md, ...(bisect ? ['--bisect'] : [])]);
      assertRefused(r, bisect ? 125 : 2, md, re, Date.now() - t0, `gate --markdown ${md}${bisect ? ' --bisect' : ''}`);
    }
  }
});

test('$GITHUB_STEP_SUMMARY in a missing folder: a warning naming it, the verdict and its exit code kept', async () => {
  const step = join(dir, 'no-such-folder', 'summary.md');
  const r = await cli(['gate', '--baseline', GOOD, '--candidate', GOOD, '--no-report'], { GITHUB_STEP_SUMMARY: step });
  // The fixture has 1 trial a side: the verdict is "cannot judge" (2) with or without the summary.
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stdout, /tunbench gate: CANNOT JUDGE/);
  assert.match(r.stderr, new RegExp(`warning: \\$GITHUB_STEP_SUMMARY ${step}: its folder .* does not exist; the summary is not appended there \\(the verdict and exit code are kept\\)`));
  assert.doesNotMatch(r.stderr, /TypeError|ENOENT|internal error|^ {4}at /m);
});

test('numeric options at their edges are refused at parse time, none hangs', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['gate', '--baseline', GOOD, '--candidate', GOOD, '--alpha', '0'], /--alpha: must be above 0%/],
    [['gate', '--baseline', GOOD, '--candidate', GOOD, '--alpha', '1'], /--alpha: must be above 0% and below 100%/],
    [['gate', '--baseline', GOOD, '--candidate', GOOD, '--alpha', 'NaN'], /--alpha: expected a percentage/],
    [['gate', '--baseline', GOOD, '--candidate', GOOD, '--max-regression=-5%'], /--max-regression: expected a percentage/],
    [['gate', '--baseline', GOOD, '--candidate', GOOD, '--max-regression', '100%'], /--max-regression: must be at least 0% and below 100%/],
    [['gate', '--baseline', GOOD, '--candidate', GOOD, '--noise', '1e9'], /--noise: expected a percentage/],
    [['compare', GOOD, GOOD, '--noise', '250%'], /--noise: must be at least 0% and below 100%/],
    [['bench', '--profile', 'quick', '--repetitions', '1e12'], /repetitions.*(--repetitions)/],
    [['bench', '--profile', 'quick', '--duration', '0'], /duration.*(--duration)/],
    [['bench', '--profile', 'quick', '--duration', 'NaN'], /--duration: expected a number/],
    [['bench', '--profile', 'quick', '--warmup-trials=-1'], /warmupTrials.*(--warmup-trials)/],
    [['bench', '--profile', 'quick', '--seed', '1.5'], /seed.*(--seed)/],
  ];
  for (const [args, re] of cases) {
    const t0 = Date.now();
    const r = await cli(args);
    const ms = Date.now() - t0;
    assert.equal(r.exitCode, 2, `${args.join(' ')}\n${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.doesNotMatch(r.stderr, /TypeError|internal error|^ {4}at /m);
    assert.ok(ms < 10_000, `${args.join(' ')}: ${ms} ms`);
  }
});

test('baseline list: none says so; a broken entry is named (exit 2) and the others still listed', async () => {
  const empty = await cli(['baseline', 'list'], { TUNBENCH_BASELINES: join(dir, 'no-baselines') });
  assert.equal(empty.exitCode, 0, empty.stderr);
  assert.match(empty.stdout, /no baselines saved in .*no-baselines \(tunbench baseline save NAME RESULT makes one\)/);
  assert.equal((await cli(['baseline', 'save', 'good-one', GOOD])).exitCode, 0);
  assert.ok(existsSync(join(baselines, 'good-one', 'meta.json')) && existsSync(join(baselines, 'good-one', 'result.json')));
  // A result.json without its meta.json (what a half save used to leave), a truncated meta.json, a hollow result.
  mkdirSync(join(baselines, 'no-meta'));
  writeFileSync(join(baselines, 'no-meta', 'result.json'), text);
  mkdirSync(join(baselines, 'bad-meta'));
  writeFileSync(join(baselines, 'bad-meta', 'result.json'), text);
  writeFileSync(join(baselines, 'bad-meta', 'meta.json'), '{"name": "bad-me');
  mkdirSync(join(baselines, 'hollow-result'));
  writeFileSync(join(baselines, 'hollow-result', 'meta.json'), readFileSync(join(baselines, 'good-one', 'meta.json')));
  writeFileSync(join(baselines, 'hollow-result', 'result.json'), readFileSync(BAD_FILES.hollow![0]));
  const r = await cli(['baseline', 'list']);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stdout, /^good-one /m);
  for (const [name, re] of [['no-meta', /meta\.json: no such file/], ['bad-meta', /meta\.json: not complete JSON/], ['hollow-result', /result\.json: not a usable tunbench result: variants: missing/]] as const) {
    const line = r.stderr.split('\n').find((l) => l.startsWith(`tunbench: broken baseline ${name}:`));
    assert.ok(line, `${name} named\n${r.stderr}`);
    assert.match(line!, re);
  }
  assert.doesNotMatch(r.stderr, /TypeError|ENOENT|internal error|^ {4}at /m);
  // gate --baseline NAME refuses the half-saved one by name, not by a raw errno.
  const g = await cli(['gate', '--baseline', 'no-meta', '--candidate', GOOD, '--no-report']);
  assert.equal(g.exitCode, 2);
  assert.match(g.stderr, /^tunbench: baseline no-meta: .*meta\.json: no such file/m);
});

after(() => {
  releaseLock();
  if (roMounted) execFileSync('umount', [roMount]);
  rmSync(dir, { recursive: true, force: true });
});
