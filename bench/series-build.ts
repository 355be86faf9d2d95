// Benchmark: what `tunbench series` pays to build a series, cold and incrementally. On the
// supported tree (Debian's linux-source-6.1 + tunbench's patches) as a two-commit git series
// (test/helpers/kernel-series-repo.ts: base, then a one-line change to drivers/net/tun.c), built
// the way the series command builds (src/kernel/series.ts: one checkout in turn, one object
// folder):
//   1. base, cold: the checkout's object folder and both cached builds removed first
//   2. tip, incremental: git checkout rewrites one file; Kbuild recompiles it and relinks
//   3. base again: a cache hit (its build is cached by commit)
// Prints each wall time and the incremental build as a fraction of the cold one (target: under
// 10%). Uses the default kernel cache, so the series test (test/integration/vm-series.test.ts)
// finds both builds cached afterwards.
//   npx tsx bench/series-build.ts [JOBS=all CPUs]
// Run it alone (a cold build takes every CPU for minutes): flock /tmp/tunbench-measure.lock ...
import { existsSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { buildCommit, checkoutDir, objDirOf, repositoryOf } from '../src/kernel/series.ts';
import { defaultTreeCache, listTreeBuilds } from '../src/kernel/tree-build.ts';
import { kernelSeriesRepo } from '../test/helpers/kernel-series-repo.ts';

const jobs = Number(process.argv[2] ?? availableParallelism());
const log = (l: string) => console.error(l);
const fixture = await kernelSeriesRepo(undefined, log);
if (!fixture) { console.error('bench: /usr/src/linux-source-6.1.tar.xz missing: apt-get install linux-source-6.1'); process.exit(2); }
if (fixture.seconds) console.log(`fixture: made the two-commit repository in ${fixture.seconds.toFixed(0)} s (unpack, patch, git add; once)`);
const dir = checkoutDir(await repositoryOf(fixture.repo)); // as the series command names it (its repository's common git folder)

// Cold: nothing of this checkout's builds left.
if (existsSync(dir)) {
  const real = realpathSync(dir);
  rmSync(objDirOf(real), { recursive: true, force: true });
  for (const b of listTreeBuilds()) if (b.tree === real) rmSync(b.dir, { recursive: true, force: true });
}

async function step(what: string, sha: string): Promise<{ seconds: number; cached: boolean; compiled: number }> {
  const t0 = Date.now();
  const r = await buildCommit(fixture!.repo, sha, { dir, jobs, log });
  const seconds = (Date.now() - t0) / 1000;
  if (!r.ok) { console.error(`bench: ${what} did not build: ${r.reason}`); process.exit(2); }
  const buildLog = join(objDirOf(realpathSync(dir)), 'build.log');
  const compiled = r.build.cached ? 0 : (readFileSync(buildLog, 'latin1').match(/^ {2}CC\b/gm) ?? []).length;
  console.log(`${what.padEnd(34)} ${seconds.toFixed(1).padStart(7)} s  ${r.build.cached ? 'cache hit' : `${compiled} files compiled (CC)`}  load ${loadavg()[0]!.toFixed(1)}`);
  return { seconds, cached: r.build.cached, compiled };
}

console.log(`series build bench: ${fixture.repo} base ${fixture.base.slice(0, 12)} -> tip ${fixture.tip.slice(0, 12)} (one line of drivers/net/tun.c), make -j${jobs}, cache ${defaultTreeCache()}`);
const cold = await step('1. base, cold', fixture.base);
const inc = await step('2. tip (one-file change), incr.', fixture.tip);
const hit = await step('3. base again', fixture.base);
const pct = (inc.seconds / cold.seconds) * 100;
console.log(`incremental / cold: ${pct.toFixed(1)}% (target: under 10%) ${pct < 10 ? 'met' : 'NOT met'}; cache hit ${hit.seconds.toFixed(1)} s`);
if (cold.cached || !hit.cached) process.exit(2);
