// tunbench series: the range (BASE..TIP) read and checked in a git tree, the plan of kernels
// in groups that share BASE, the one checkout that builds incrementally, and bad input as exit
// 2 (not a git tree, a bad or empty range) before anything is built. On a fake Kbuild tree
// (test/helpers/fake-kernel-tree.ts) under git: builds in milliseconds.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { UserError } from '../../src/errors.ts';
import { buildCommit, checkCleanTree, checkoutDir, checkGitTree, repositoryOf, currentHead, kernelName, objDirOf, parseRange, resolveRange, restoreHead, seriesPlan } from '../../src/kernel/series.ts';
import { missingBuildPackages } from '../../src/kernel/tree-build.ts';
import { fakeKernelTree } from '../helpers/fake-kernel-tree.ts';

const git = (dir: string, args: string[]) => execa('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'commit.gpgsign=false', ...args]);

/** A fake kernel tree under git: BASE, then `n` commits each changing src.c by one line. */
async function seriesRepo(n: number): Promise<{ repo: string; shas: string[] }> {
  const repo = fakeKernelTree();
  writeFileSync(join(repo, 'arch/x86/Kconfig'), '# git keeps no empty folder\n');
  await git(repo, ['init', '-q', '-b', 'main']);
  await git(repo, ['add', '-A']);
  await git(repo, ['commit', '-q', '-m', 'base']);
  for (let i = 1; i <= n; i++) {
    writeFileSync(join(repo, 'src.c'), `${readFileSync(join(repo, 'src.c'), 'utf8')}/* change ${i} */\n`);
    await git(repo, ['commit', '-q', '-am', `change ${i}`]);
  }
  const shas = (await git(repo, ['rev-list', '--reverse', 'HEAD'])).stdout.split('\n');
  return { repo, shas };
}

const userError = (re: RegExp) => (e: unknown) => e instanceof UserError && e.exitCode === 2 && re.test(e.message);

test('parseRange: BASE..TIP, and every other shape refused with exit 2', () => {
  assert.deepEqual(parseRange('v6.1..my-series'), { base: 'v6.1', tip: 'my-series' });
  assert.deepEqual(parseRange(' HEAD~3..HEAD '), { base: 'HEAD~3', tip: 'HEAD' });
  assert.throws(() => parseRange('HEAD'), userError(/expected BASE\.\.TIP/));
  assert.throws(() => parseRange('a...b'), userError(/three dots/));
  assert.throws(() => parseRange('..HEAD'), userError(/BASE is empty/));
  assert.throws(() => parseRange('HEAD~1..'), userError(/TIP is empty/));
  assert.throws(() => parseRange('a..b..c'), userError(/expected BASE\.\.TIP/));
  assert.throws(() => parseRange('--all..HEAD'), userError(/not a revision/));
});

test('seriesPlan: BASE and commits named, in groups of at most N kernels, each with BASE first', () => {
  const c = (i: number) => ({ sha: `${String(i).repeat(7)}${'0'.repeat(33)}`, subject: `s${i}` });
  const p = seriesPlan(c(0), [c(1), c(2), c(3), c(4), c(5)], 3);
  assert.equal(p.base.name, 'base');
  assert.deepEqual(p.commits.map((k) => k.name), ['c1-1111111', 'c2-2222222', 'c3-3333333', 'c4-4444444', 'c5-5555555']);
  assert.deepEqual(p.commits.map((k) => k.index), [1, 2, 3, 4, 5]);
  assert.deepEqual(p.groups.map((g) => g.map((k) => k.name)), [['base', 'c1-1111111', 'c2-2222222'], ['base', 'c3-3333333', 'c4-4444444'], ['base', 'c5-5555555']]);
  assert.equal(seriesPlan(c(0), [c(1)], 4).groups.length, 1);
  assert.throws(() => seriesPlan(c(0), [c(1)], 1), userError(/at least 2/));
  assert.throws(() => seriesPlan(c(0), [], 4), userError(/no commits/));
  assert.equal(kernelName({ index: 12, sha: 'abcdef0123', subject: '' }), 'c12-abcdef0');
});

test('resolveRange: the commits of BASE..TIP oldest first; bad, unknown, reversed and empty ranges are exit 2', async () => {
  const { repo, shas } = await seriesRepo(3);
  const r = await resolveRange(repo, 'HEAD~3..HEAD');
  assert.equal(r.base.sha, shas[0]);
  assert.equal(r.base.subject, 'base');
  assert.deepEqual(r.commits.map((c) => c.sha), shas.slice(1));
  assert.deepEqual(r.commits.map((c) => c.subject), ['change 1', 'change 2', 'change 3']);
  assert.deepEqual((await resolveRange(repo, `${shas[1]!.slice(0, 10)}..main`)).commits.map((c) => c.subject), ['change 2', 'change 3']);
  await assert.rejects(resolveRange(repo, 'HEAD..HEAD'), userError(/is empty/));
  await assert.rejects(resolveRange(repo, 'HEAD..HEAD~2'), userError(/not an ancestor/));
  await assert.rejects(resolveRange(repo, 'nosuchref..HEAD'), userError(/BASE 'nosuchref' is not a commit/));
  await assert.rejects(resolveRange(repo, 'HEAD~1..nosuch'), userError(/TIP 'nosuch' is not a commit/));
  await assert.rejects(checkGitTree(mkdtempSync(join(tmpdir(), 'tunbench-nogit-'))), userError(/is not a git work tree/));
  await assert.rejects(checkGitTree('/nonexistent/tree'), userError(/tree not found/));
  await assert.rejects(checkGitTree(join(repo, 'arch')), userError(/is inside the git work tree .*, not the top of one/));
});

test('buildCommit: one checkout in turn, one object folder: the second commit builds incrementally, a broken one is an outcome, the user\'s tree untouched', async () => {
  const { repo, shas } = await seriesRepo(2);
  writeFileSync(join(repo, 'src.c'), 'BROKEN\n'); // a third commit that does not build
  await git(repo, ['commit', '-q', '-am', 'broken']);
  const broken = (await git(repo, ['rev-parse', 'HEAD'])).stdout.trim();
  const headBefore = (await git(repo, ['rev-parse', 'HEAD'])).stdout.trim();
  const cacheDir = mkdtempSync(join(tmpdir(), 'tunbench-scache-'));
  const dir = checkoutDir(await repositoryOf(repo), cacheDir);
  const o = { cacheDir, dir, checkTools: false, jobs: 1 };
  const b0 = await buildCommit(repo, shas[0]!, o);
  const b1 = await buildCommit(repo, shas[1]!, o);
  assert.ok(b0.ok && b1.ok, JSON.stringify([b0, b1]));
  assert.notEqual(b0.build.key, b1.build.key, 'each commit its own cached build');
  assert.match(readFileSync(b1.build.image, 'utf8'), /change 1/, "the second build is the second commit's");
  // The fake Kbuild appends to builds.log in its object folder: both builds used the same one.
  const objs = (await execa('sh', ['-c', `ls -d ${cacheDir}/obj-tree-*`])).stdout.split('\n');
  assert.equal(objs.length, 1, `one object folder for the series: ${objs.join(' ')}`);
  assert.equal(objDirOf(realpathSync(dir), cacheDir), objs[0], "objDirOf names the object folder tree-build.ts uses");
  assert.equal(readFileSync(join(objs[0]!, 'builds.log'), 'utf8'), 'built\nbuilt\n');
  const again = await buildCommit(repo, shas[0]!, o);
  assert.ok(again.ok && again.build.cached, 'BASE again: a cache hit');
  const bad = await buildCommit(repo, broken, o);
  assert.equal(bad.ok, false);
  assert.match(!bad.ok ? bad.reason : '', /bzImage failed \(exit 2\)[\s\S]*error: expected ';' before 'BROKEN'/);
  assert.equal((await git(repo, ['rev-parse', 'HEAD'])).stdout.trim(), headBefore, "the user's HEAD is unchanged");
  assert.equal((await git(repo, ['status', '--porcelain'])).stdout, '', "the user's tree is unchanged");
  assert.ok(!existsSync(join(repo, '.git/worktrees')), 'no worktree registered in the user\'s repository');
});

test('tunbench series: bad input is exit 2 with the fix and no stack trace, before anything is built', async () => {
  const { repo } = await seriesRepo(1);
  const cli = (args: string[]) => execa(process.execPath, ['bin/tunbench.js', 'series', ...args], { reject: false });
  const cases: Array<[string[], RegExp]> = [
    [[], /series needs TREE and BASE\.\.TIP/],
    [[tmpdir(), 'HEAD~1..HEAD'], /is not a git work tree/],
    [[repo, 'HEAD'], /expected BASE\.\.TIP/],
    [[repo, 'HEAD..HEAD'], /is empty/],
    [[repo, 'HEAD~1..HEAD', '--profile', 'no-such-profile'], /no-such-profile/],
    [[repo, 'HEAD~1..HEAD', '--max-kernels', '1'], /at least 2/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args);
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.match(r.stderr, /fix: /);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  }
  const help = await cli(['--help']);
  assert.equal(help.exitCode, 0);
  assert.match(help.stdout, /Exit codes: 0 every commit built/);
});

test('tunbench series: a commit that does not build is a result (exit 1, its reason and log), not an abort', async (t) => {
  const missing = missingBuildPackages();
  if (missing.length) return t.skip(`build tools missing (${missing.join(' ')}): the command refuses before building`);
  const { repo } = await seriesRepo(0);
  writeFileSync(join(repo, 'src.c'), 'BROKEN\n');
  await git(repo, ['commit', '-q', '-am', 'a broken commit']);
  const cache = mkdtempSync(join(tmpdir(), 'tunbench-scache-'));
  const out = join(mkdtempSync(join(tmpdir(), 'tunbench-series-')), 's');
  const r = await execa(process.execPath, ['bin/tunbench.js', 'series', repo, 'HEAD~1..HEAD', '--out', out, '--progress', 'quiet'], { reject: false, env: { TUNBENCH_KERNEL_CACHE: cache } });
  assert.equal(r.exitCode, 1, r.stderr);
  const sha = (await git(repo, ['rev-parse', 'HEAD'])).stdout.trim();
  assert.match(r.stdout, new RegExp(`^commit 1 ${sha.slice(0, 12)} "a broken commit": does not build: make -j\\d+ bzImage failed \\(exit 2\\).*error: expected ';' before 'BROKEN'`, 'm'));
  assert.match(r.stdout, /1 commit\(s\): 0 pass, 0 regression, 1 do not build, 0 do not boot, 0 cannot be judged \(exit 1\)/);
  const s = JSON.parse(readFileSync(join(out, 'series.json'), 'utf8')) as { base: { build: { ok: boolean } }; commits: Array<{ status: string; build: { ok: boolean; log?: string } }>; exitCode: number };
  assert.equal(s.base.build.ok, true);
  assert.equal(s.commits[0]!.status, 'does not build');
  assert.ok(s.commits[0]!.build.log && existsSync(s.commits[0]!.build.log), 'the failed build\'s log is kept in the series folder');
  assert.match(readFileSync(s.commits[0]!.build.log, 'utf8'), /BROKEN/);
  assert.ok(existsSync(join(out, 'series.md')));
  // The one page leads with the answer: which commit, and that it does not build.
  const html = readFileSync(join(out, 'series.html'), 'utf8');
  assert.match(html, new RegExp(`<div class="verdict fail" id="series-answer"><b>commit 1 \\(${sha.slice(0, 12)} a broken commit\\): does not build</b>`));
  assert.match(html, /<td class="regressed"><b>does not build<\/b>/);
  assert.match(html, new RegExp(`<a href="${relative(out, s.commits[0]!.build.log!)}">build log</a>`), 'the failed build\'s log linked');
  assert.match(html, /1 commit\(s\): 0 pass, 0 regression, 1 do not build/);
  assert.doesNotMatch(html, /<script/i, 'no script: it opens anywhere');
  assert.match(r.stdout, /the page: .*series\.html/);
});

test('two worktrees of one repository share its series checkout and object folder: a series from the second builds incrementally on the first one\'s objects', async () => {
  const { repo, shas } = await seriesRepo(2);
  const other = join(mkdtempSync(join(tmpdir(), 'tunbench-wt-')), 'linux-wt');
  await git(repo, ['worktree', 'add', '-q', '--detach', other, shas[2]!]);
  assert.equal(await repositoryOf(other), await repositoryOf(repo), 'the same repository, named from either worktree');
  assert.equal(await repositoryOf(repo), realpathSync(join(repo, '.git')));
  const cacheDir = mkdtempSync(join(tmpdir(), 'tunbench-scache-'));
  assert.equal(checkoutDir(await repositoryOf(other), cacheDir), checkoutDir(await repositoryOf(repo), cacheDir));
  assert.match(checkoutDir(await repositoryOf(repo), cacheDir), /\/series-[0-9a-f]{12}\/[^/]+$/);
  const o = { cacheDir, checkTools: false, jobs: 1 };
  const b0 = await buildCommit(repo, shas[1]!, o);
  const b1 = await buildCommit(other, shas[2]!, o); // named through the second worktree
  assert.ok(b0.ok && b1.ok, JSON.stringify([b0, b1]));
  assert.match(readFileSync(b1.build.image, 'utf8'), /change 2/);
  const objs = (await execa('sh', ['-c', `ls -d ${cacheDir}/obj-tree-*`])).stdout.split('\n');
  assert.equal(objs.length, 1, `one object folder for both worktrees: ${objs.join(' ')}`);
  assert.equal(readFileSync(join(objs[0]!, 'builds.log'), 'utf8'), 'built\nbuilt\n', 'the second build ran in the first one\'s object folder');
});

test('buildCommit --in-place: the commits checked out in the clean tree itself, its own object folder, HEAD put back; a dirty tree refused', async () => {
  const { repo, shas } = await seriesRepo(1);
  const cacheDir = mkdtempSync(join(tmpdir(), 'tunbench-scache-'));
  const head = await currentHead(repo);
  assert.equal(head, 'main');
  await checkCleanTree(repo);
  const b0 = await buildCommit(repo, shas[0]!, { cacheDir, inPlace: true, checkTools: false, jobs: 1 });
  const b1 = await buildCommit(repo, shas[1]!, { cacheDir, inPlace: true, checkTools: false, jobs: 1 });
  assert.ok(b0.ok && b1.ok);
  assert.match(readFileSync(b1.build.image, 'utf8'), /change 1/);
  assert.doesNotMatch(readFileSync(b0.build.image, 'utf8'), /change 1/);
  assert.equal(JSON.parse(readFileSync(join(b1.build.dir, 'meta.json'), 'utf8')).tree, realpathSync(repo), 'built in the tree itself');
  assert.equal(await restoreHead(repo, head), null);
  assert.equal(await currentHead(repo), 'main');
  assert.equal((await git(repo, ['status', '--porcelain'])).stdout, '');
  writeFileSync(join(repo, 'new-file.c'), '\n');
  await assert.rejects(checkCleanTree(repo), userError(/--in-place .* has local changes \(1: new-file\.c\)/));
});
