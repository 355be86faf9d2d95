// tunbench kernel build PATH on a real tree: the patched kernel's source that kernel/build.sh
// unpacks into .cache/kernel/src-<version>. kernel/build.sh builds through the same command,
// so after it the first call here is a cache hit already, and CI builds the kernel once
// (this file runs before kernel-patch.test.ts, which then reuses build.sh's output).
// Runs when that tree was built by `tunbench kernel build` already (cached), or with
// TUNBENCH_KERNEL_BUILD=1 (CI), which builds it (about 7 minutes cold on 2 CPUs).
// Also: a failing build (a fake Kbuild tree) ends with exit 2, the compiler's last lines and
// no stack trace.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { listTreeBuilds, missingBuildPackages, type TreeBuild } from '../../src/kernel/tree-build.ts';
import { bzImageRelease } from '../../src/qemu/kernel-fetch.ts';
import { fakeKernelTree } from '../helpers/fake-kernel-tree.ts';
import { tmp } from '../helpers/cli.ts';

const CACHE = '.cache/kernel';
const cli = (args: string[], env: Record<string, string> = {}) => execa(process.execPath, ['bin/tunbench.js', 'kernel', ...args], { reject: false, env });

function unpackedSource(): string | null {
  if (!existsSync(CACHE)) return null;
  const d = readdirSync(CACHE).find((n) => n.startsWith('src-') && existsSync(join(CACHE, n, '.tunbench-unpacked')));
  return d ? realpathSync(join(CACHE, d)) : null;
}

test('kernel build on the patched source tree: built or cached, then a cache hit in seconds', { timeout: 60 * 60_000 }, async (t) => {
  if (process.arch !== 'x64') return t.skip('builds x86_64 kernels on x86_64 hosts only');
  const wanted = process.env.TUNBENCH_KERNEL_BUILD === '1';
  let src = unpackedSource();
  if (!src) {
    if (!wanted) return t.skip('the patched source is not unpacked (.cache/kernel/src-*); run kernel/build.sh or set TUNBENCH_KERNEL_BUILD=1 (cold build: about 7 minutes)');
    if (process.getuid?.() !== 0) return t.skip('kernel/build.sh needs root to install its packages');
    const build = await execa('kernel/build.sh', { reject: false, all: true });
    assert.equal(build.exitCode, 0, build.all);
    src = unpackedSource();
    assert.ok(src, 'kernel/build.sh left no unpacked source');
  } else if (!wanted && !listTreeBuilds().some((b) => b.tree === src)) {
    return t.skip(`${src} has no build by tunbench kernel build yet; run kernel/build.sh or set TUNBENCH_KERNEL_BUILD=1 (cold build: about 7 minutes)`);
  }

  const first = await cli(['build', src]);
  assert.equal(first.exitCode, 0, first.stderr);
  const image = first.stdout.trim().split('\n').at(-1) ?? '';
  assert.match(image, /\/tree-[0-9a-f]{16}\/bzImage$/);
  assert.ok(existsSync(image), image);
  t.diagnostic(`first call: ${first.stderr.trim().split('\n').at(-1)}`);

  const t0 = Date.now();
  const second = await cli(['build', src, '--json']);
  const wall = (Date.now() - t0) / 1000;
  assert.equal(second.exitCode, 0, second.stderr);
  const r = JSON.parse(second.stdout) as TreeBuild;
  assert.equal(r.cached, true, 'second call: a cache hit');
  assert.equal(r.image, image);
  assert.ok(wall < 60, `a cache hit took ${wall} s`);
  assert.match(r.release, /^6\.1\.\d+/);
  assert.equal(bzImageRelease(r.image), r.release, "the bzImage's own version string is the release printed");
  t.diagnostic(`cache hit: ${wall.toFixed(1)} s wall (${r.seconds.toFixed(1)} s in buildKernelTree)`);

  const list = await cli(['list', '--json']);
  assert.equal(list.exitCode, 0, list.stderr);
  assert.ok((JSON.parse(list.stdout) as Array<{ image: string }>).some((b) => b.image === image), 'kernel list shows the build');
});

test('kernel build: a failed build exits 2 with the compiler\'s last lines and no stack trace; so does a path that is no tree', async (t) => {
  const missing = missingBuildPackages();
  if (missing.length) return t.skip(`build tools missing (${missing.join(' ')}): the command refuses before building`);
  const tree = fakeKernelTree();
  writeFileSync(join(tree, 'src.c'), 'BROKEN\n');
  const cache = tmp('tunbench-kcache');
  const r = await cli(['build', tree], { TUNBENCH_KERNEL_CACHE: cache });
  assert.equal(r.exitCode, 2, r.stderr);
  assert.equal(r.stdout, '', 'no bzImage path printed');
  assert.match(r.stderr, /^tunbench: make -j\d+ bzImage failed \(exit 2\)/m);
  assert.match(r.stderr, /src\.c:1:1: error: expected ';' before 'BROKEN'/);
  assert.match(r.stderr, /full log: .*\/obj-tree-[0-9a-f]{12}\/build\.log/);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(r.stderr, /internal error/);

  const notTree = await cli(['build', tmpdir()], { TUNBENCH_KERNEL_CACHE: cache });
  assert.equal(notTree.exitCode, 2);
  assert.match(notTree.stderr, /not a Linux source tree/);
});
