// src/kernel/: the cache key of a kernel source tree and the build recipe, on tiny trees
// (a fake Kbuild that builds in milliseconds, test/helpers/fake-kernel-tree.ts).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { UserError } from '../../src/errors.ts';
import { buildKernelTree, buildKey, checkTree, failureExcerpt, isKernelTree, listTreeBuilds, lostFragmentLines, missingBuildPackages } from '../../src/kernel/tree-build.ts';
import { treeKey } from '../../src/kernel/tree-key.ts';
import { fakeKernelTree } from '../helpers/fake-kernel-tree.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tunbench-kerneltree-'));
let n = 0;
const fresh = (): string => fakeKernelTree(join(tmp, `tree-${++n}`));
const fragment = (text: string): string => { const f = join(tmp, `frag-${++n}`); writeFileSync(f, text); return f; };
const FRAG = 'CONFIG_TUN=y\n# comment\nCONFIG_LOCKDEP=n\n';

test('isKernelTree: top Makefile + Kconfig + arch/x86', () => {
  const t = fresh();
  assert.equal(isKernelTree(t), true);
  rmSync(join(t, 'arch/x86'), { recursive: true });
  assert.equal(isKernelTree(t), false);
  assert.equal(isKernelTree(join(tmp, 'nowhere')), false);
});

test('checkTree refuses a missing path, a file, a non-tree and a tree configured in place (make mrproper)', () => {
  const err = (p: string): UserError => { try { checkTree(p); } catch (e) { assert.ok(e instanceof UserError); return e; } assert.fail(`no error for ${p}`); };
  assert.match(err(join(tmp, 'nowhere')).message, /not found/);
  const file = join(tmp, 'a-file');
  writeFileSync(file, '');
  assert.match(err(file).message, /not a folder/);
  assert.match(err(tmp).message, /not a Linux source tree/);
  const t = fresh();
  writeFileSync(join(t, '.config'), 'CONFIG_X=y\n');
  const e = err(t);
  assert.match(e.message, /configured or built in place \(\.config\)/);
  assert.match(e.hint ?? '', /mrproper/);
  assert.equal(e.exitCode, 2);
});

test('stamp key (not a git tree): stable, changes when a file changes or is touched, and with the fragment', async () => {
  const t = fresh();
  const a = await buildKey(t, FRAG);
  assert.equal(a.tree.kind, 'stamp');
  assert.equal((await buildKey(t, FRAG)).key, a.key, 'nothing changed: same key');
  assert.notEqual((await buildKey(t, `${FRAG}CONFIG_VETH=y\n`)).key, a.key, 'fragment changed');
  assert.equal((await buildKey(t, `# another comment\n${FRAG}\n`)).key, a.key, "a fragment's comments do not count");
  assert.notEqual((await buildKey(t, `${FRAG}# CONFIG_VETH is not set\n`)).key, a.key, '"is not set" lines do');
  const when = new Date('2024-01-01T00:00:00Z');
  utimesSync(join(t, 'src.c'), when, when);
  const touched = await buildKey(t, FRAG);
  assert.notEqual(touched.key, a.key, 'mtime changed');
  writeFileSync(join(t, 'src.c'), 'int main(void) { return 10; }\n');
  utimesSync(join(t, 'src.c'), when, when);
  assert.notEqual((await buildKey(t, FRAG)).key, touched.key, 'content (size) changed');
  mkdirSync(join(t, '.git'));
  writeFileSync(join(t, '.git/junk'), 'x');
  assert.equal((await buildKey(t, FRAG)).tree.kind, 'stamp', 'a .git that is not a repository: still a stamp');
});

test('a tree inside another git repository (e.g. under .cache/) is stamped, not keyed by that repository', async () => {
  const repo = join(tmp, `outer-${++n}`);
  mkdirSync(repo);
  await execa('git', ['init', '-q', repo]);
  const t = fakeKernelTree(join(repo, 'inner'));
  assert.equal((await treeKey(t)).kind, 'stamp');
});

test('git key: commit + diff against HEAD + untracked files, ignored files and mtimes do not count', async () => {
  const t = fresh();
  const git = (...args: string[]) => execa('git', ['-C', t, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]);
  await git('init', '-q');
  writeFileSync(join(t, '.gitignore'), '*.o\n');
  await git('add', '.');
  await git('commit', '-qm', 'one');
  const clean = await treeKey(t);
  assert.equal(clean.kind, 'git');
  assert.equal(clean.dirty, false);
  assert.match(clean.commit ?? '', /^[0-9a-f]{40}$/);
  const when = new Date('2024-01-01T00:00:00Z');
  utimesSync(join(t, 'src.c'), when, when);
  writeFileSync(join(t, 'ignored.o'), 'junk');
  assert.equal((await treeKey(t)).hash, clean.hash, 'touching a file or adding an ignored one changes nothing');

  const original = readFileSync(join(t, 'src.c'));
  writeFileSync(join(t, 'src.c'), 'int main(void) { return 2; }\n');
  const edited = await treeKey(t);
  assert.notEqual(edited.hash, clean.hash, 'uncommitted diff');
  assert.equal(edited.dirty, true);
  await git('add', 'src.c');
  assert.equal((await treeKey(t)).hash, edited.hash, 'staged or not: the same diff against HEAD');
  writeFileSync(join(t, 'src.c'), original);
  await git('add', 'src.c');
  assert.equal((await treeKey(t)).hash, clean.hash, 'diff undone: the clean key again');

  writeFileSync(join(t, 'new.c'), 'a');
  const untracked = await treeKey(t);
  assert.notEqual(untracked.hash, clean.hash, 'untracked file');
  writeFileSync(join(t, 'new.c'), 'b');
  assert.notEqual((await treeKey(t)).hash, untracked.hash, "untracked file's content");
  rmSync(join(t, 'new.c'));

  writeFileSync(join(t, 'src.c'), 'int main(void) { return 3; }\n');
  await git('commit', '-qam', 'two');
  const committed = await treeKey(t);
  assert.notEqual(committed.hash, clean.hash, 'new commit');
  assert.equal(committed.dirty, false);
});

test('lostFragmentLines: values that changed, options that vanished, =n and "is not set"', () => {
  const cfg = 'CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D="x"\nCONFIG_E=y\n';
  assert.deepEqual(lostFragmentLines('CONFIG_A=y\nCONFIG_C=n\nCONFIG_D="x"\n# CONFIG_F is not set\n', cfg), []);
  const lost = lostFragmentLines('CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=y\nCONFIG_E=n\nCONFIG_GONE=y\n', cfg);
  assert.equal(lost.length, 4);
  assert.match(lost[0]!, /^CONFIG_B=y \(now: m\)/);
  assert.match(lost[1]!, /^CONFIG_C=y \(now: not set\)/);
  assert.match(lost[2]!, /^CONFIG_E=n \(now: y\)/);
  assert.match(lost[3]!, /^CONFIG_GONE=y \(now: absent/);
  assert.deepEqual(lostFragmentLines('CONFIG_B=y\nCONFIG_B=m\n', cfg), [], 'the last line of an option counts');
});

test('failureExcerpt keeps the compiler\'s lines, not Kbuild\'s progress lines', () => {
  const log = ['  CC      init/main.o', 'init/main.c:3:1: error: boom', '    3 | boom', '  CC [M]  drivers/x.o', '  HOSTCC  scripts/basic/fixdep', 'make[1]: *** Error 1', ''].join('\n');
  assert.deepEqual(failureExcerpt(log), ['init/main.c:3:1: error: boom', '    3 | boom', 'make[1]: *** Error 1']);
  assert.equal(failureExcerpt(Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n')).length, 15);
});

test('buildKernelTree on a fake tree: builds, then a cache hit; a touched tree rebuilds in the same object folder; the tree is not written to', async () => {
  const t = fresh();
  const cacheDir = join(tmp, `cache-${++n}`);
  const frag = fragment(FRAG);
  const o = { cacheDir, fragment: frag, checkTools: false, jobs: 1 };
  const stampBefore = await treeKey(t);
  const first = await buildKernelTree(t, o);
  assert.equal(first.cached, false);
  assert.equal(first.release, '6.1.0-fake');
  assert.equal(first.dir, join(cacheDir, `tree-${first.key}`));
  assert.equal(first.image, join(first.dir, 'bzImage'));
  assert.equal(readFileSync(first.image, 'utf8'), readFileSync(join(t, 'src.c'), 'utf8'));
  assert.match(readFileSync(join(first.dir, '.config'), 'utf8'), /^CONFIG_TUN=y$/m);
  assert.equal(readFileSync(join(first.dir, 'release'), 'utf8'), '6.1.0-fake\n');
  const meta = JSON.parse(readFileSync(join(first.dir, 'meta.json'), 'utf8')) as { tree: string; kind: string };
  assert.equal(meta.kind, 'stamp');

  const second = await buildKernelTree(t, o);
  assert.equal(second.cached, true);
  assert.equal(second.key, first.key);
  assert.equal(second.image, first.image);

  const after = await treeKey(t);
  assert.equal(after.hash, stampBefore.hash, 'the build wrote nothing into the tree');

  writeFileSync(join(t, 'src.c'), 'int main(void) { return 4; }\n');
  const third = await buildKernelTree(t, o);
  assert.equal(third.cached, false);
  assert.notEqual(third.key, first.key);
  assert.ok(existsSync(first.image), 'the older build stays cached');
  const objs = listTreeBuilds(cacheDir);
  assert.equal(objs.length, 2);
  const obj = (await import('node:fs')).readdirSync(cacheDir).filter((d) => d.startsWith('obj-tree-'));
  assert.equal(obj.length, 1, 'one object folder per tree');
  assert.equal(readFileSync(join(cacheDir, obj[0]!, 'builds.log'), 'utf8'), 'built\nbuilt\n', 'the second build reused the object folder');

  const otherFragment = await buildKernelTree(t, { ...o, fragment: fragment(`${FRAG}CONFIG_VETH=y\n`) });
  assert.equal(otherFragment.cached, false, 'another fragment: another build');
});


test('buildKernelTree: a tree built, then made a git repository without touching a file, is a cache hit under its commit; one touched file builds again', async () => {
  const t = fresh();
  const cacheDir = join(tmp, `cache-${++n}`);
  const o = { cacheDir, fragment: fragment(FRAG), checkTools: false, jobs: 1 };
  const stamped = await buildKernelTree(t, o);
  assert.equal(stamped.cached, false);
  const git = (...args: string[]) => execa('git', ['-C', t, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]);
  await git('init', '-q');
  await git('add', '.');
  await git('commit', '-qm', 'base');
  const commit = (await git('rev-parse', 'HEAD')).stdout.trim();
  const asGit = await buildKernelTree(t, o);
  assert.equal(asGit.cached, true, 'the same files: no build');
  assert.notEqual(asGit.key, stamped.key, 'published under the git key');
  assert.equal(readFileSync(asGit.image, 'utf8'), readFileSync(stamped.image, 'utf8'));
  const meta = JSON.parse(readFileSync(join(asGit.dir, 'meta.json'), 'utf8')) as { kind: string; commit: string; sameAs: string };
  assert.deepEqual([meta.kind, meta.commit, meta.sameAs], ['git', commit, stamped.key]);
  const obj = (await import('node:fs')).readdirSync(cacheDir).find((d) => d.startsWith('obj-tree-'))!;
  assert.equal(readFileSync(join(cacheDir, obj, 'builds.log'), 'utf8'), 'built\n', 'make did not run again');
  assert.equal((await buildKernelTree(t, o)).key, asGit.key, 'then a plain cache hit');

  // A file touched (same content, same commit): the stamp differs, so it is built.
  const when = new Date('2024-01-01T00:00:00Z');
  utimesSync(join(t, 'Kconfig'), when, when);
  await git('commit', '-qm', 'two', '--allow-empty');
  const touched = await buildKernelTree(t, o);
  assert.equal(touched.cached, false);
  assert.equal(readFileSync(join(cacheDir, obj, 'builds.log'), 'utf8'), 'built\nbuilt\n');
});
test('buildKernelTree: a failing build is a UserError with the compiler\'s last lines and the log; a dropped fragment option is named', async () => {
  const t = fresh();
  const cacheDir = join(tmp, `cache-${++n}`);
  writeFileSync(join(t, 'src.c'), 'BROKEN\n');
  const o = { cacheDir, fragment: fragment(FRAG), checkTools: false };
  await assert.rejects(buildKernelTree(t, o), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.equal(e.exitCode, 2);
    assert.match(e.message, /bzImage failed \(exit 2\)/);
    assert.match(e.message, /src\.c:1:1: error: expected ';' before 'BROKEN'/);
    assert.match(e.message, /make\[2\]: \*\*\* /);
    assert.doesNotMatch(e.message, /CC +kernel\/fork\.o/, 'progress lines are left out');
    assert.match(e.message, /full log: .*obj-tree-[0-9a-f]{12}\/build\.log/);
    assert.doesNotMatch(e.message, /tinyconfig|olddefconfig|Entering directory/, "only the failed step's lines");
    return true;
  });
  assert.deepEqual(listTreeBuilds(cacheDir), [], 'nothing cached');

  writeFileSync(join(t, 'src.c'), 'ok\n');
  await assert.rejects(buildKernelTree(t, { ...o, fragment: fragment(`${FRAG}CONFIG_NOT_IN_TREE=y\n`) }), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /1 option\(s\) of .* did not survive/);
    assert.match(e.message, /CONFIG_NOT_IN_TREE=y \(now: absent/);
    const rejected = /missing from: (\S+)/.exec(e.message)?.[1] ?? '';
    assert.doesNotMatch(readFileSync(rejected, 'utf8'), /NOT_IN_TREE/);
    return true;
  });
});

test('a git repository without a commit is stamped', async () => {
  const t = fresh();
  await execa('git', ['init', '-q', t]);
  assert.equal((await treeKey(t)).kind, 'stamp');
});

test('a tree edited during its build is not cached', async () => {
  const t = fresh();
  writeFileSync(join(t, 'mutate'), '');
  const cacheDir = join(tmp, `cache-${++n}`);
  await assert.rejects(buildKernelTree(t, { cacheDir, fragment: fragment(FRAG), checkTools: false }), /changed while it was being built: nothing was cached/);
  assert.deepEqual(listTreeBuilds(cacheDir), []);
});

test('missing build tools: a UserError naming the Debian packages, before anything is built', async () => {
  const t = fresh();
  const path = process.env.PATH;
  process.env.PATH = join(tmp, 'empty-path');
  try {
    const pkgs = missingBuildPackages();
    for (const p of ['build-essential', 'flex', 'bison', 'bc', 'dwarves']) assert.ok(pkgs.includes(p), `${p} in ${pkgs.join(' ')}`);
    const cacheDir = join(tmp, `cache-${++n}`);
    await assert.rejects(buildKernelTree(t, { cacheDir, fragment: fragment(FRAG) }), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /needs tools this machine lacks: Debian packages build-essential flex bison/);
      assert.match(e.hint ?? '', /^apt-get install build-essential flex bison/);
      return true;
    });
    assert.equal(existsSync(cacheDir), false, 'refused before touching the cache');
  } finally {
    process.env.PATH = path;
  }
});
