// Pure parts of issue 14's input checks: CPU lists and the CPU checks, profile text attacks,
// the profile-vs-machine problems and their field paths, the --out check.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { cpuProblems, formatCpuList, parseCpuList, usableCpus } from '../../src/lab/cpus.ts';
import { profileProblems } from '../../src/doctor/requirements.ts';
import { parseProfile } from '../../src/profile/load.ts';
import { resolveVariants } from '../../src/profile/plan.ts';
import { checkOutputDir } from '../../src/result/store.ts';

test('CPU lists: kernel syntax parsed and printed back', () => {
  assert.deepEqual(parseCpuList('0-3,6,8-9\n'), [0, 1, 2, 3, 6, 8, 9]);
  assert.equal(parseCpuList('x'), null);
  assert.equal(formatCpuList([0, 1, 2, 3, 6, 8, 9]), '0-3,6,8-9');
  assert.ok(usableCpus().length >= 1);
});

test('CPU checks: a consumer CPU or generator CPUs the machine lacks are named with the field and what it has', () => {
  const usable = [0, 1];
  assert.deepEqual(cpuProblems({ generator: { type: 'trafgen', cpus: 2 }, consumer: { type: 'sink', cpu: 'auto' } }, usable), []);
  const c = cpuProblems({ generator: { type: 'trafgen', cpus: 1 }, consumer: { type: 'sink', cpu: 7 } }, usable);
  assert.match(c[0]!, /^workload\.consumer\.cpu: CPU 7 does not exist here \(this machine has CPUs 0-1\)/);
  const g = cpuProblems({ generator: { type: 'pktgen', threads: 3 }, consumer: { type: 'sink', cpu: -1 } }, usable, 'variant x: ');
  assert.match(g[0]!, /^variant x: workload\.generator\.threads: 3 asks for CPUs 0-2 .*set threads to at most 2/);
  assert.deepEqual(cpuProblems({ generator: { type: 'iperf3' }, consumer: { type: 'guest' } }, usable), [], 'generators that do not pin by count are left alone');
});

test('profile text attacks are UserErrors naming the file: alias bomb, nesting, NUL bytes, two documents', () => {
  const bomb = ['name: b', 'a: &a [1,1,1,1,1,1,1,1,1]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]'].join('\n');
  const cases: Array<[string, RegExp]> = [
    [bomb, /f\.yaml: its aliases expand without bound/],
    [`name: n\nd: ${'['.repeat(50_000)}${']'.repeat(50_000)}`, /f\.yaml: nested too deeply/],
    ['name: a\u0000b\n', /f\.yaml: not a text file/],
    ['name: a\n---\nname: b\n', /f\.yaml: holds more than one YAML document/],
    ['42', /f\.yaml: a profile must be a YAML mapping; found number 42/],
  ];
  for (const [text, re] of cases) assert.throws(() => parseProfile(text, 'f.yaml'), (e: unknown) => e instanceof UserError && re.test(e.message), re.source);
});

test('profile problems: each names the field path under its variant and says how to fix it', () => {
  const p = parseProfile('name: p\nworkload:\n  generator: { type: trafgen, packetSize: 2000 }\nvariants:\n  - name: a\n  - name: b\n    workload: { consumer: { type: sink, cpu: 99 } }\n', 'p.yaml');
  const problems = profileProblems(resolveVariants(p), [0, 1]);
  assert.ok(problems.some((m) => /^variant a: workload\.generator\.packetSize: 2000 is larger than the tap's MTU 1500 \+ 14 .* at most 1514/.test(m)), problems.join('\n'));
  assert.ok(problems.some((m) => /^variant b: workload\.consumer\.cpu: CPU 99 does not exist here/.test(m)), problems.join('\n'));
  assert.deepEqual(profileProblems(resolveVariants(parseProfile('name: ok\n', 'ok.yaml')), [0, 1]), []);
});

test('--out check: pseudo file systems, files and empty paths are refused without creating anything', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunbench-out-'));
  const file = join(dir, 'f');
  writeFileSync(file, 'x');
  const refused: Array<[string, RegExp]> = [
    ['/proc/1/x', /under \/proc/], ['/sys/x/y', /under \/sys/], ['/dev/x', /under \/dev/],
    [file, /exists and is a file/], [join(file, 'a', 'b'), /f is a file, not a folder/], ['', /an empty path/],
  ];
  for (const [p, re] of refused) assert.throws(() => checkOutputDir(p), (e: unknown) => e instanceof UserError && re.test(e.message), p);
  assert.equal(checkOutputDir(join(dir, 'new', 'deeper')), join(dir, 'new', 'deeper'));
  rmSync(dir, { recursive: true, force: true });
});

test('--variants with --probes keeps the selection (it used to run every variant)', async () => {
  const { applyOverrides } = await import('../../src/commands/bench.ts');
  const { parseProfile } = await import('../../src/profile/load.ts');
  const p = parseProfile('name: v\nvariants:\n  - { name: a, baseline: true, probes: { level: counters } }\n  - { name: b }\n  - { name: c, probes: { level: full } }\n', 'v.yaml');
  const o = applyOverrides(p, { variants: ['a', 'c'], probes: 'off' });
  assert.deepEqual(o.variants.map((v) => v.name), ['a', 'c']);
  assert.ok(o.variants.every((v) => (v.probes as { level?: string } | undefined)?.level === 'off'));
  assert.equal(o.probes.level, 'off');
});
