// tunbench series on the supported tree: Debian's linux-source-6.1 with tunbench's patches as
// BASE, then a one-line change to DRV_DESCRIPTION in drivers/net/tun.c (built incrementally,
// booted and run interleaved with BASE in the TCG VM, test/fixtures/profiles/series-quick.yaml,
// and judged against it by the gate), then a commit whose kernel panics at boot ("does not
// boot", the run made again without it) and one that does not compile ("does not build"):
// exit 1, every commit a result. It reuses a build already made, never a cold one of its own:
//  - CI (and after kernel/build.sh): the patched source kernel/build.sh unpacked and
//    test/integration/kernel-build.test.ts built (.cache/kernel/src-*) is made a git
//    repository (BASE: its files as they are; the tip: a commit on a side branch, made without
//    touching the files), and the series runs --in-place there: BASE is that build (the same
//    files: a cache hit), the tip recompiles tun.c and relinks in its object folder. About 5
//    minutes.
//  - else the fixture of bench/series-build.ts when its builds are cached (the series' own
//    checkout; both builds cache hits).
// Skipped when neither exists.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { checkoutDir, repositoryOf } from '../../src/kernel/series.ts';
import { listTreeBuilds } from '../../src/kernel/tree-build.ts';
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

const gitIn = (repo: string) => (args: string[], o: { input?: string; env?: Record<string, string> } = {}) => execa('git', ['-C', repo, '-c', 'core.compression=1', '-c', 'gc.auto=0', '-c', 'commit.gpgsign=false', ...args], { env: { ...ENV, ...(o.env ?? {}) }, ...(o.input !== undefined ? { input: o.input } : {}) });

/** A commit on top of `parent` that changes drivers/net/tun.c, made without touching the work tree. */
async function tunCommit(repo: string, parent: string, change: (text: string) => string, subject: string): Promise<string> {
  const git = gitIn(repo);
  const tun = `${(await git(['show', `${parent}:drivers/net/tun.c`])).stdout}\n`;
  const changed = change(tun);
  assert.notEqual(changed, tun, `${subject}: tun.c changed`);
  const blob = (await git(['hash-object', '-w', '--stdin', '--path', 'drivers/net/tun.c'], { input: changed })).stdout.trim();
  const tmp = mkdtempSync(join(tmpdir(), 'tunbench-idx-'));
  const env = { GIT_INDEX_FILE: join(tmp, 'index') };
  await git(['read-tree', parent], { env });
  await git(['update-index', '--cacheinfo', `100644,${blob},drivers/net/tun.c`], { env });
  const tree = (await git(['write-tree'], { env })).stdout.trim();
  rmSync(tmp, { recursive: true, force: true });
  return (await git(['commit-tree', tree, '-p', parent, '-m', subject])).stdout.trim();
}

/** kernel/build.sh's source as a git repository: BASE = its files as they are, committed. */
async function sourceBase(src: string): Promise<string> {
  const git = gitIn(src);
  if (!existsSync(join(src, '.git'))) await git(['init', '-q', '-b', 'tunbench-base']);
  await git(['add', '-A', '-f']);
  if ((await execa('git', ['-C', src, 'diff', '--cached', '--quiet'], { reject: false })).exitCode !== 0 || (await execa('git', ['-C', src, 'rev-parse', '-q', '--verify', 'HEAD'], { reject: false })).exitCode !== 0) {
    await git(['commit', '-q', '-m', 'base: linux-source-6.1 with tunbench kernel/patches (kernel/build.sh)']);
  }
  return (await git(['rev-parse', 'HEAD'])).stdout.trim();
}

const oneLine = (t: string) => t.replace(/^#define DRV_DESCRIPTION\t"Universal TUN\/TAP device driver"$/m, `#define DRV_DESCRIPTION\t"${TIP_LINE}"`);
const panicAtInit = (t: string) => t.replace(/(static int __init tun_init\(void\)\n\{\n\tint ret = 0;\n)/, '$1\n\tpanic("tunbench series test: a commit that does not boot");\n');
const syntaxError = (t: string) => `${t}\nthis line does not compile;\n`;

test('series on the supported tree: a one-line change built incrementally and run interleaved with BASE in the VM, a commit that does not boot and one that does not build reported as such', { timeout: 30 * 60_000 }, async (t) => {
  if (process.arch !== 'x64') return t.skip('builds x86_64 kernels on x86_64 hosts only');
  const vm = vmMissing();
  if (vm) return t.skip(vm);
  let setup: { repo: string; base: string; tip: string; inPlace: boolean; cold: number | null };
  const src = builtSource();
  if (src) {
    const base = await sourceBase(src);
    const cold = listTreeBuilds().filter((b) => b.tree === src && b.kind === 'stamp').sort((a, b) => b.buildSeconds - a.buildSeconds)[0]?.buildSeconds ?? null;
    setup = { repo: src, base, tip: await tunCommit(src, base, oneLine, TIP_SUBJECT), inPlace: true, cold };
  } else {
    const fx = existsSync(join(CACHE, 'series-fixture/made')) ? await kernelSeriesRepo() : null;
    const dir = fx ? realpathSync(checkoutDir(await repositoryOf(fx.repo))) : '';
    if (!fx || listTreeBuilds().filter((b) => b.tree === dir).length < 2) {
      return t.skip('no kernel build to reuse: run kernel/build.sh (or the kernel-build test with TUNBENCH_KERNEL_BUILD=1) or npx tsx bench/series-build.ts');
    }
    const coldBase = listTreeBuilds().find((b) => b.tree === dir && b.commit === fx.base)?.buildSeconds ?? null;
    setup = { repo: realpathSync(fx.repo), base: fx.base, tip: fx.tip, inPlace: false, cold: coldBase };
  }
  // Two more commits: one whose kernel panics at boot, one that does not compile (on a side
  // branch, the files untouched): both are results of the series, not its end.
  const noBoot = await tunCommit(setup.repo, setup.tip, panicAtInit, 'tun: panic at init (a commit that does not boot)');
  const noBuild = await tunCommit(setup.repo, noBoot, syntaxError, 'tun: a commit that does not build');
  await gitIn(setup.repo)(['update-ref', 'refs/heads/tunbench-series-test', noBuild]);
  t.diagnostic(`series on ${setup.repo}${setup.inPlace ? ' --in-place' : ''}: ${setup.base.slice(0, 12)}..${noBuild.slice(0, 12)}`);

  const out = join(mkdtempSync(join(tmpdir(), 'tunbench-series-')), 'series');
  const t0 = Date.now();
  const r = await execa(process.execPath, ['bin/tunbench.js', 'series', setup.repo, `${setup.base}..tunbench-series-test`, '--profile', 'test/fixtures/profiles/series-quick.yaml', '--out', out, '--progress', 'plain', ...(setup.inPlace ? ['--in-place'] : [])], { reject: false, all: true });
  const all = r.all ?? '';
  t.diagnostic(`tunbench series: exit ${r.exitCode} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  assert.equal(r.exitCode, 1, all);

  type C = { index: number; sha: string; name: string; status: string; build: { ok: boolean; image?: string; cached?: boolean; seconds?: number; reason?: string; log?: string }; boot?: { ok: boolean; reason?: string }; run?: string; comparisons?: Array<{ metric: string; candidate: string; baseline: string }>; gate?: { verdict: string } };
  const s = JSON.parse(readFileSync(join(out, 'series.json'), 'utf8')) as { base: C; commits: C[]; exitCode: number; groups: string[][] };
  assert.equal(s.exitCode, 1);
  assert.equal(s.base.sha, setup.base);
  assert.deepEqual(s.commits.map((c) => c.sha), [setup.tip, noBoot, noBuild]);
  assert.deepEqual(s.commits.map((c) => c.status), ['pass', 'does not boot', 'does not build']);
  const [tip, c2, c3] = s.commits as [C, C, C];
  assert.ok(c2.build.ok && c2.boot && !c2.boot.ok);
  assert.match(c2.boot.reason ?? '', /panic/i);
  assert.match(all, new RegExp(`^commit 2 ${noBoot.slice(0, 12)} "tun: panic at init \\(a commit that does not boot\\)": does not boot: .*panic`, 'mi'));
  assert.equal(c3.build.ok, false);
  assert.match(c3.build.reason ?? '', /bzImage failed \(exit 2\) for .*: \S*drivers\/net\/tun\.c:\d+:\d+: error: /);
  assert.ok(c3.build.log && existsSync(c3.build.log), "the failed build's log is kept");
  assert.match(readFileSync(c3.build.log, 'latin1'), /this line does not compile/);
  assert.match(all, new RegExp(`^commit 3 ${noBuild.slice(0, 12)} "tun: a commit that does not build": does not build: make -j\\d+ bzImage failed`, 'm'));
  assert.match(all, /3 commit\(s\): 1 pass, 0 regression, 1 do not build, 1 do not boot, 0 cannot be judged \(exit 1\)/);
  assert.equal(tip.status, 'pass', JSON.stringify(tip.gate));
  assert.ok(tip.build.ok && tip.boot?.ok);
  assert.equal(tip.gate?.verdict, 'pass');
  // Each run of the series has its report, as bench writes one, named in series.md.
  assert.ok(tip.run && existsSync(join(tip.run, 'report.html')) && existsSync(join(tip.run, 'analysis.json')), `the run's report in ${tip.run}`);
  assert.match(readFileSync(join(out, 'series.md'), 'utf8'), new RegExp(`report ${join(tip.run, 'report.html').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.ok(tip.comparisons?.some((c) => c.metric === 'rx_pps' && c.candidate === tip.name && c.baseline === 'base'), 'rx_pps of the tip compared with BASE');
  assert.deepEqual(s.groups, [['base', tip.name, c2.name, c3.name]]);
  // The series' one page: the answer first (the two bad commits), then a row per commit, the
  // passing one linked to its run's report.
  const page = readFileSync(join(out, 'series.html'), 'utf8');
  assert.match(page, new RegExp(`id="series-answer"><b>commit 2 \\(${noBoot.slice(0, 12)} .*?\\): does not boot\\. commit 3 \\(${noBuild.slice(0, 12)} .*?\\): does not build</b>`));
  assert.match(page, new RegExp(`<td class="improved"><b>pass</b>[\\s\\S]*?<a href="${relative(out, join(tip.run, 'report.html')).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}">`));
  assert.match(page, /<b>does not boot<\/b>/);
  assert.match(all, new RegExp(`^commit 1 ${setup.tip.slice(0, 12)} "tun: a one-line change \\(DRV_DESCRIPTION\\)": pass`, 'm'));
  t.diagnostic(`builds: BASE ${s.base.build.cached ? 'cached' : `${s.base.build.seconds} s`}, tip ${tip.build.cached ? 'cached' : `${tip.build.seconds} s`}`);

  // The tip was built incrementally, on the objects of BASE's build (the same object folder):
  // its build, as recorded when it was made (here or by an earlier run), took a fraction of a
  // cold build of the same tree.
  const tipMeta = JSON.parse(readFileSync(join(dirname(tip.build.image!), 'meta.json'), 'utf8')) as { buildSeconds: number; tree: string };
  assert.equal(tipMeta.tree, setup.inPlace ? setup.repo : realpathSync(checkoutDir(await repositoryOf(setup.repo))));
  if (setup.cold) {
    t.diagnostic(`tip built in ${tipMeta.buildSeconds.toFixed(0)} s, a cold build of the tree ${setup.cold.toFixed(0)} s (${((tipMeta.buildSeconds / setup.cold) * 100).toFixed(1)}%)`);
    assert.ok(tipMeta.buildSeconds < 0.25 * setup.cold, `the tip's build (${tipMeta.buildSeconds} s) is incremental, not a cold one (${setup.cold} s)`);
  } else {
    t.diagnostic('no cold build of this tree on record: the incremental build is not compared with one');
  }
  if (setup.inPlace) {
    // The tree is as it was: HEAD back on BASE, nothing changed (the failed build left nothing in it).
    assert.equal((await execa('git', ['-C', setup.repo, 'rev-parse', 'HEAD'])).stdout.trim(), setup.base);
    assert.equal((await execa('git', ['-C', setup.repo, 'status', '--porcelain'])).stdout, '');
  }

  // Both kernels ran, interleaved, in their own VMs; the tip's kernel is the changed one.
  // The run that measured is the group's second attempt, without the kernel that did not boot.
  assert.match(tip.run!, /\/run-1-2$/);
  assert.match(readFileSync(join(dirname(tip.run!), 'run-1', 'vm', c2.name, 'console.log'), 'latin1'), /tunbench series test: a commit that does not boot/);
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
