// tunbench series on the supported tree: a two-commit series (Debian's linux-source-6.1 with
// tunbench's patches, then a one-line change to drivers/net/tun.c; test/helpers/
// kernel-series-repo.ts) built commit by commit in one checkout, the second commit
// incrementally, then both kernels booted and run interleaved in the TCG VM
// (test/fixtures/profiles/series-quick.yaml), each judged against BASE by the gate.
// Runs when both builds are cached (bench/series-build.ts leaves them so), or with
// TUNBENCH_KERNEL_BUILD=1 (CI): then it makes the repository (about 2 minutes) and builds BASE
// cold (about 6 minutes on 2 CPUs) and the tip incrementally (about a minute).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { checkoutDir } from '../../src/kernel/series.ts';
import { listTreeBuilds, type TreeBuildMeta } from '../../src/kernel/tree-build.ts';
import type { Result } from '../../src/types.ts';
import { kernelSeriesRepo, TARBALL, TIP_LINE } from '../helpers/kernel-series-repo.ts';
import { vmMissing } from '../helpers/vm.ts';

test('series: a two-commit series on the supported tree, the one-line change built incrementally, both run interleaved in the VM and judged against BASE', { timeout: 40 * 60_000 }, async (t) => {
  if (process.arch !== 'x64') return t.skip('builds x86_64 kernels on x86_64 hosts only');
  const vm = vmMissing();
  if (vm) return t.skip(vm);
  if (!existsSync(TARBALL)) return t.skip(`${TARBALL} missing (apt-get install linux-source-6.1)`);
  const repoDir = join('.cache/kernel/series-fixture/linux');
  const cached = existsSync(repoDir) && (() => { try { const d = realpathSync(checkoutDir(realpathSync(repoDir))); return listTreeBuilds().filter((b) => b.tree === d).length >= 2; } catch { return false; } })();
  if (!cached && process.env.TUNBENCH_KERNEL_BUILD !== '1') return t.skip('the series fixture is not built; run npx tsx bench/series-build.ts or set TUNBENCH_KERNEL_BUILD=1 (about 9 minutes)');

  const fixture = await kernelSeriesRepo(undefined, (l) => t.diagnostic(l));
  assert.ok(fixture);
  if (fixture.seconds) t.diagnostic(`fixture made in ${fixture.seconds.toFixed(0)} s`);
  const out = join(mkdtempSync(join(tmpdir(), 'tunbench-series-')), 'series');
  const t0 = Date.now();
  const r = await execa(process.execPath, ['bin/tunbench.js', 'series', fixture.repo, 'base..tip', '--profile', 'test/fixtures/profiles/series-quick.yaml', '--out', out, '--progress', 'plain'], { reject: false, all: true });
  const all = r.all ?? '';
  t.diagnostic(`tunbench series: exit ${r.exitCode} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  assert.equal(r.exitCode, 0, all);

  type C = { index: number; sha: string; name: string; status: string; build: { ok: boolean; image?: string; cached?: boolean }; boot?: { ok: boolean }; run?: string; comparisons?: Array<{ metric: string; candidate: string; baseline: string }>; gate?: { verdict: string } };
  const s = JSON.parse(readFileSync(join(out, 'series.json'), 'utf8')) as { base: C; commits: C[]; exitCode: number; groups: string[][] };
  assert.equal(s.exitCode, 0);
  assert.equal(s.base.sha, fixture.base);
  assert.deepEqual(s.commits.map((c) => c.sha), [fixture.tip]);
  const tip = s.commits[0]!;
  assert.equal(tip.status, 'pass', JSON.stringify(tip.gate));
  assert.ok(tip.build.ok && tip.boot?.ok);
  assert.equal(tip.gate?.verdict, 'pass');
  assert.ok(tip.comparisons?.some((c) => c.metric === 'rx_pps' && c.candidate === tip.name && c.baseline === 'base'), 'rx_pps of the tip compared with BASE');
  assert.deepEqual(s.groups, [['base', tip.name]]);
  assert.match(all, new RegExp(`^commit 1 ${fixture.tip.slice(0, 12)} "tun: a one-line change \\(DRV_DESCRIPTION\\)": pass`, 'm'));

  // The tip was built incrementally, in BASE's checkout and object folder: its build took a
  // fraction of BASE's cold one (both as recorded when they were built, here or by the bench).
  const meta = (image: string) => JSON.parse(readFileSync(join(dirname(image), 'meta.json'), 'utf8')) as TreeBuildMeta;
  const mb = meta(s.base.build.image!);
  const mt = meta(tip.build.image!);
  assert.equal(mb.tree, mt.tree, 'one checkout for the series');
  assert.equal(mt.commit, fixture.tip);
  t.diagnostic(`builds: BASE ${mb.buildSeconds.toFixed(0)} s, tip ${mt.buildSeconds.toFixed(0)} s (${((mt.buildSeconds / mb.buildSeconds) * 100).toFixed(1)}%)`);
  assert.ok(mt.buildSeconds < 0.25 * mb.buildSeconds, `the tip's build (${mt.buildSeconds} s) is incremental, not a cold one like BASE's (${mb.buildSeconds} s)`);

  // Both kernels ran, interleaved, in their own VMs; the tip's kernel is the changed one.
  const result = JSON.parse(readFileSync(join(tip.run!, 'result.json'), 'utf8')) as Result;
  assert.equal(result.status, 'complete');
  assert.deepEqual(result.variants.map((v) => v.name), ['base', tip.name]);
  assert.deepEqual(result.variants.map((v) => v.environment?.vmName), ['base', tip.name]);
  const order = result.variants.flatMap((v) => v.trials.map((tr) => ({ v: v.name, i: tr.index }))).sort((a, b) => a.i - b.i).map((x) => x.v);
  assert.deepEqual(order, ['base', tip.name, 'base', tip.name, 'base', tip.name, 'base', tip.name], 'interleaved A B A B');
  const consoleOf = (name: string) => readFileSync(join(tip.run!, 'vm', name, 'console.log'), 'latin1');
  if (/Universal TUN\/TAP device driver, /.test(consoleOf('base'))) {
    assert.ok(consoleOf(tip.name).includes(TIP_LINE), "the tip's guest prints the changed line");
    assert.ok(!consoleOf('base').includes(TIP_LINE));
  } else {
    t.diagnostic('the guests do not print tun\'s banner at this log level: the changed line is not checked in the console');
  }
});
