// tunbench series on the supported tree: a two-commit series (Debian's linux-source-6.1 with
// tunbench's patches as BASE, then a one-line change to DRV_DESCRIPTION in drivers/net/tun.c)
// built commit by commit, the second incrementally, then both kernels booted and run
// interleaved in the TCG VM (test/fixtures/profiles/series-quick.yaml), the tip judged
// against BASE by the gate. It reuses a build already made, never a cold one of its own:
//  - CI (and after kernel/build.sh): the patched source kernel/build.sh unpacked and
//    test/integration/kernel-build.test.ts built (.cache/kernel/src-*) is made a git
//    repository (BASE: its files as they are; the tip: a commit on a side branch, made without
//    touching the files), and the series runs --in-place there: BASE reuses that build's object
//    folder (nothing to recompile), the tip recompiles tun.c and relinks. About 5 minutes.
//  - else the fixture of bench/series-build.ts when its builds are cached (the series' own
//    checkout; both builds cache hits).
// Skipped when neither exists.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { checkoutDir } from '../../src/kernel/series.ts';
import { listTreeBuilds, objDirOf } from '../../src/kernel/tree-build.ts';
import type { Result } from '../../src/types.ts';
import { kernelSeriesRepo, TIP_LINE } from '../helpers/kernel-series-repo.ts';
import { vmMissing } from '../helpers/vm.ts';

const CACHE = '.cache/kernel';
const ENV = {
  LC_ALL: 'C', GIT_AUTHOR_NAME: 'tunbench', GIT_AUTHOR_EMAIL: 'tunbench@localhost', GIT_COMMITTER_NAME: 'tunbench', GIT_COMMITTER_EMAIL: 'tunbench@localhost',
  GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z', GIT_CONFIG_NOSYSTEM: '1', HOME: '/nonexistent',
};
const TIP_SUBJECT = 'tun: a one-line change (DRV_DESCRIPTION)';

/** kernel/build.sh's unpacked, patched source when `tunbench kernel build` has built it. */
function builtSource(): string | null {
  if (!existsSync(CACHE)) return null;
  const d = readdirSync(CACHE).find((n) => n.startsWith('src-') && existsSync(join(CACHE, n, '.tunbench-unpacked')));
  if (!d) return null;
  const src = realpathSync(join(CACHE, d));
  return listTreeBuilds().some((b) => b.tree === src) ? src : null;
}

/** That source as a git repository: BASE = its files now (committed), the tip on branch tunbench-series-tip. */
async function sourceSeries(src: string): Promise<{ repo: string; base: string; tip: string }> {
  const git = (args: string[], o: { input?: string; env?: Record<string, string> } = {}) => execa('git', ['-C', src, '-c', 'core.compression=1', '-c', 'gc.auto=0', '-c', 'commit.gpgsign=false', ...args], { env: { ...ENV, ...(o.env ?? {}) }, ...(o.input !== undefined ? { input: o.input } : {}) });
  if (!existsSync(join(src, '.git'))) await git(['init', '-q', '-b', 'tunbench-base']);
  await git(['add', '-A', '-f']);
  if ((await execa('git', ['-C', src, 'diff', '--cached', '--quiet'], { reject: false })).exitCode !== 0 || (await execa('git', ['-C', src, 'rev-parse', '-q', '--verify', 'HEAD'], { reject: false })).exitCode !== 0) {
    await git(['commit', '-q', '-m', 'base: linux-source-6.1 with tunbench kernel/patches (kernel/build.sh)']);
  }
  const base = (await git(['rev-parse', 'HEAD'])).stdout.trim();
  const tun = (await git(['show', 'HEAD:drivers/net/tun.c'], {})).stdout;
  const changed = tun.replace(/^#define DRV_DESCRIPTION\t"Universal TUN\/TAP device driver"$/m, `#define DRV_DESCRIPTION\t"${TIP_LINE}"`);
  assert.notEqual(changed, tun, 'tun.c has the DRV_DESCRIPTION line');
  const blob = (await git(['hash-object', '-w', '--stdin', '--path', 'drivers/net/tun.c'], { input: `${changed}\n` })).stdout.trim();
  const index = join(mkdtempSync(join(tmpdir(), 'tunbench-idx-')), 'index');
  await git(['read-tree', 'HEAD'], { env: { GIT_INDEX_FILE: index } });
  await git(['update-index', '--cacheinfo', `100644,${blob},drivers/net/tun.c`], { env: { GIT_INDEX_FILE: index } });
  const tree = (await git(['write-tree'], { env: { GIT_INDEX_FILE: index } })).stdout.trim();
  const tip = (await git(['commit-tree', tree, '-p', base, '-m', TIP_SUBJECT])).stdout.trim();
  await git(['update-ref', 'refs/heads/tunbench-series-tip', tip]);
  rmSync(join(index, '..'), { recursive: true, force: true });
  return { repo: src, base, tip };
}

test('series: a two-commit series on the supported tree, the one-line change built incrementally, both run interleaved in the VM and judged against BASE', { timeout: 30 * 60_000 }, async (t) => {
  if (process.arch !== 'x64') return t.skip('builds x86_64 kernels on x86_64 hosts only');
  const vm = vmMissing();
  if (vm) return t.skip(vm);
  let setup: { repo: string; base: string; tip: string; inPlace: boolean };
  const src = builtSource();
  if (src) {
    setup = { ...(await sourceSeries(src)), inPlace: true };
  } else {
    const fx = existsSync(join(CACHE, 'series-fixture/made')) ? await kernelSeriesRepo() : null;
    const dir = fx ? realpathSync(checkoutDir(realpathSync(fx.repo))) : '';
    if (!fx || listTreeBuilds().filter((b) => b.tree === dir).length < 2) {
      return t.skip('no kernel build to reuse: run kernel/build.sh (or the kernel-build test with TUNBENCH_KERNEL_BUILD=1) or npx tsx bench/series-build.ts');
    }
    setup = { repo: realpathSync(fx.repo), base: fx.base, tip: fx.tip, inPlace: false };
  }
  t.diagnostic(`series on ${setup.repo}${setup.inPlace ? ' --in-place' : ''}: ${setup.base.slice(0, 12)}..${setup.tip.slice(0, 12)}`);

  const out = join(mkdtempSync(join(tmpdir(), 'tunbench-series-')), 'series');
  const t0 = Date.now();
  const r = await execa(process.execPath, ['bin/tunbench.js', 'series', setup.repo, `${setup.base}..${setup.tip}`, '--profile', 'test/fixtures/profiles/series-quick.yaml', '--out', out, '--progress', 'plain', ...(setup.inPlace ? ['--in-place'] : [])], { reject: false, all: true });
  const all = r.all ?? '';
  t.diagnostic(`tunbench series: exit ${r.exitCode} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  assert.equal(r.exitCode, 0, all);

  type C = { index: number; sha: string; name: string; status: string; build: { ok: boolean; image?: string; cached?: boolean; seconds?: number }; boot?: { ok: boolean }; run?: string; comparisons?: Array<{ metric: string; candidate: string; baseline: string }>; gate?: { verdict: string } };
  const s = JSON.parse(readFileSync(join(out, 'series.json'), 'utf8')) as { base: C; commits: C[]; exitCode: number; groups: string[][] };
  assert.equal(s.exitCode, 0);
  assert.equal(s.base.sha, setup.base);
  assert.deepEqual(s.commits.map((c) => c.sha), [setup.tip]);
  const tip = s.commits[0]!;
  assert.equal(tip.status, 'pass', JSON.stringify(tip.gate));
  assert.ok(tip.build.ok && tip.boot?.ok);
  assert.equal(tip.gate?.verdict, 'pass');
  assert.ok(tip.comparisons?.some((c) => c.metric === 'rx_pps' && c.candidate === tip.name && c.baseline === 'base'), 'rx_pps of the tip compared with BASE');
  assert.deepEqual(s.groups, [['base', tip.name]]);
  assert.match(all, new RegExp(`^commit 1 ${setup.tip.slice(0, 12)} "tun: a one-line change \\(DRV_DESCRIPTION\\)": pass`, 'm'));
  t.diagnostic(`builds: BASE ${s.base.build.cached ? 'cached' : `${s.base.build.seconds} s`}, tip ${tip.build.cached ? 'cached' : `${tip.build.seconds} s`}`);

  if (setup.inPlace && tip.build.cached) {
    t.diagnostic('the tip was built by an earlier run of this test (cached): its incremental build is not looked at again');
  } else if (setup.inPlace) {
    // The tip was the last build in the tree's object folder: tun.c recompiled, little else.
    const log = readFileSync(join(objDirOf(setup.repo), 'build.log'), 'latin1');
    const cc = log.match(/^ {2}CC\b.*$/gm) ?? [];
    t.diagnostic(`tip: ${cc.length} files compiled: ${cc.slice(0, 6).map((l) => l.trim().split(/\s+/).at(-1)).join(' ')}`);
    assert.ok(cc.some((l) => l.endsWith('drivers/net/tun.o')), 'tun.c recompiled');
    assert.ok(cc.length < 100, `an incremental build, not a cold one: ${cc.length} files compiled`);
  }
  if (setup.inPlace) {
    // The tree is as it was: HEAD back on BASE, nothing changed.
    assert.equal((await execa('git', ['-C', setup.repo, 'rev-parse', 'HEAD'])).stdout.trim(), setup.base);
    assert.equal((await execa('git', ['-C', setup.repo, 'status', '--porcelain'])).stdout, '');
  }

  // Both kernels ran, interleaved, in their own VMs; the tip's kernel is the changed one.
  const result = JSON.parse(readFileSync(join(tip.run!, 'result.json'), 'utf8')) as Result;
  assert.equal(result.status, 'complete');
  assert.deepEqual(result.variants.map((v) => v.name), ['base', tip.name]);
  assert.deepEqual(result.variants.map((v) => v.environment?.vmName), ['base', tip.name]);
  assert.deepEqual(result.variants.map((v) => (v.environment?.vm as { kernel?: { image?: string } } | undefined)?.kernel?.image), [s.base.build.image, tip.build.image], "each VM booted its commit's bzImage");
  const order = result.variants.flatMap((v) => v.trials.map((tr) => ({ v: v.name, i: tr.index }))).sort((a, b) => a.i - b.i).map((x) => x.v);
  assert.deepEqual(order, ['base', tip.name, 'base', tip.name, 'base', tip.name, 'base', tip.name], 'interleaved A B A B');
  // The tip's kernel is the changed one (its vmlinux, out of the bzImage, holds the new line),
  // BASE's is not; and each VM booted its own (the release and the image in the environment).
  const vmlinux = async (image: string): Promise<string> => {
    const x = await execa('sh', [join(setup.repo, 'scripts/extract-vmlinux'), image], { encoding: 'buffer', reject: false, maxBuffer: 1 << 28 });
    return Buffer.from(x.stdout as Uint8Array).toString('latin1');
  };
  const [vb, vt] = [await vmlinux(s.base.build.image!), await vmlinux(tip.build.image!)];
  if (vb.includes('Linux version')) {
    assert.ok(vt.includes(TIP_LINE), "the tip's kernel has the changed line");
    assert.ok(!vb.includes(TIP_LINE) && vb.includes('Universal TUN/TAP device driver'), "BASE's kernel has the original line");
  } else {
    t.diagnostic('scripts/extract-vmlinux could not unpack the bzImage here: the changed line is not looked for');
  }
});
