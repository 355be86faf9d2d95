// tunbench series TREE BASE..TIP --profile P: build every commit of a kernel series
// (incrementally, src/kernel/series.ts), run them all interleaved against BASE (one VM per
// kernel, in groups that share BASE), and report per commit which metric moved, by how much,
// and the gate's verdict. A commit that does not build or boot is a result, not an abort.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gateWithinRun } from '../analysis/run-gate.ts';
import type { GateOutcome } from '../analysis/types.ts';
import { comparisonLine } from '../analysis/verdict-words.ts';
import { builtWords, movedOf, renderSeriesHtml, type CommitResult } from '../report/series-html.ts';
import { UserError } from '../errors.ts';
import { buildCommit, checkCleanTree, checkGitTree, checkoutDir, currentHead, resolveRange, restoreHead, seriesPlan, type SeriesKernel, type SeriesPlan, repositoryOf } from '../kernel/series.ts';
import { defaultTreeCache, missingBuildPackages } from '../kernel/tree-build.ts';
import { onCleanup } from '../process/cleanup.ts';
import { crossKernels } from '../kernel/specs.ts';
import { loadProfile } from '../profile/load.ts';
import { ProfileSchema, type Profile } from '../profile/schema.ts';
import { createProgress, defaultProgressMode, type ProgressMode } from '../progress.ts';
import { RESULTS_DIR, utcStamp } from '../result/store.ts';
import { runProfile } from '../run/run.ts';
import type { Result } from '../types.ts';
import { applyOverrides } from './bench.ts';

const HELP = `usage: tunbench series TREE BASE..TIP [options]

Builds BASE and every commit of BASE..TIP (git rev-list --reverse) of the git tree TREE,
then runs the profile on all those kernels interleaved in one run (a VM per kernel), each
commit against BASE, and reports per commit which metric moved, by how much, and the gate's
verdict (the gate's rule: see the README). A commit that does not build or does not boot is
reported as such; the others are still run.
Builds are incremental: the commits are checked out in turn in one checkout under
${defaultTreeCache()}/series-<hash>/ (a git clone --shared: TREE itself is never written to)
with one object folder, so a commit that changes one file recompiles that file; each commit's
build is cached (tunbench kernel list), so running a series again builds nothing.

  --profile NAME|PATH   profile to run on every kernel (default: series-check)
  --out DIR             the series folder (default: results/<UTC time>-series-<profile>):
                        series.json, series.md, series.html, build logs of failed commits, run-N/ per run
  --max-kernels N       kernels booted at once, BASE included (default: 4); a longer series
                        runs in groups, each with BASE
  --jobs N              make -j N for the builds (default: all CPUs)
  --in-place            check the commits out in TREE itself (it must be clean; its HEAD is
                        put back after the builds): reuses the objects of an earlier
                        'tunbench kernel build TREE' (no cold build for BASE)
  --duration SECONDS    override the profile's window
  --repetitions N       override the profile's repetitions
  --progress MODE       tty, plain, json or quiet (as bench)

Exit codes: 0 every commit built, booted and passed the gate; 1 some commit regressed (the
gate failed it), did not build or did not boot; 2 bad input (not a git tree, a bad or empty
range, a bad profile or flag), missing build tools, BASE does not build or boot, or the gate
could not judge (too few trials: it says how many).`;


const num = (flag: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UserError(`${flag}: expected a number, found '${v}'`, { hint: "see 'tunbench series --help'" });
  return n;
};

/** The VM name of a variant of a multi-kernel run (its kernel). */
const vmOf = (result: Result, variant: string): string | undefined => result.variants.find((v) => v.name === variant)?.environment?.vmName ?? variant.split('@').at(-1);

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      profile: { type: 'string', default: 'series-check' },
      out: { type: 'string' },
      'max-kernels': { type: 'string', default: '4' },
      jobs: { type: 'string', short: 'j' },
      'in-place': { type: 'boolean', default: false },
      duration: { type: 'string' },
      repetitions: { type: 'string' },
      progress: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(HELP); return 0; }
  if (positionals.length !== 2) throw new UserError(`series needs TREE and BASE..TIP${positionals.length ? ` (found ${positionals.length} argument${positionals.length > 1 ? 's' : ''}: ${positionals.join(' ')})` : ''}`, { hint: "see 'tunbench series --help'" });
  const mode = (values.progress ?? defaultProgressMode()) as ProgressMode;
  if (!['tty', 'plain', 'json', 'quiet'].includes(mode)) throw new UserError(`--progress: expected tty, plain, json or quiet, found '${mode}'`);
  const maxKernels = num('--max-kernels', values['max-kernels'])!;
  let jobs: number | undefined;
  if (values.jobs !== undefined) {
    jobs = Number(values.jobs);
    if (!/^\d+$/.test(values.jobs) || jobs < 1) throw new UserError(`--jobs must be a whole number of at least 1, not '${values.jobs}'`, { hint: "see 'tunbench series --help'" });
  }

  // Bad input ends here, before anything is cloned, built or booted.
  const [treeArg, range] = positionals as [string, string];
  const repo = await checkGitTree(treeArg);
  const { base, commits } = await resolveRange(repo, range);
  const plan = seriesPlan(base, commits, maxKernels);
  const loaded = loadProfile(values.profile);
  const profile = applyOverrides(loaded.profile, { duration: num('--duration', values.duration), repetitions: num('--repetitions', values.repetitions) });
  crossChecked(profile, plan.groups[0]!.map((k) => ({ name: k.name, spec: '/dev/null' }))); // names and the crossing are valid
  if (process.arch !== 'x64') throw new UserError(`tunbench builds x86_64 kernels on an x86_64 host; this host is ${process.arch}`);
  const inPlace = values['in-place'];
  if (inPlace) await checkCleanTree(repo);
  const pkgs = missingBuildPackages();
  if (pkgs.length) throw new UserError(`building a kernel needs tools this machine lacks: Debian packages ${pkgs.join(' ')}`, { hint: `apt-get install ${pkgs.join(' ')}` });

  const seriesDir = resolve(values.out ?? join(RESULTS_DIR, `${utcStamp()}-series-${profile.name.replace(/[^A-Za-z0-9._-]/g, '_')}`));
  mkdirSync(seriesDir, { recursive: true });
  const say = (l: string) => console.error(l);
  say(`series: ${repo} ${range}: BASE ${base.sha.slice(0, 12)} and ${commits.length} commit(s); ${plan.groups.length} run(s) of at most ${maxKernels} kernels; folder ${seriesDir}`);

  // Builds, BASE first, then the commits in order: one checkout, one object folder.
  const dir = inPlace ? repo : checkoutDir(await repositoryOf(repo));
  const results = new Map<string, CommitResult>();
  const head = inPlace ? await currentHead(repo) : null;
  // Interrupted (Ctrl-C) mid-build: TREE's HEAD is put back all the same.
  const forgetHead = head ? onCleanup('series: HEAD of the tree', async () => { await restoreHead(repo, head); }) : () => undefined;
  try {
    await buildAll();
  } finally {
    forgetHead();
    if (head) {
      const problem = await restoreHead(repo, head);
      if (problem) console.error(`tunbench: warning: ${problem}`);
      else say(`series: ${repo}: ${head} checked out again`);
    }
  }
  async function buildAll(): Promise<void> {
    for (const k of [plan.base, ...plan.commits]) {
      say(`series: building ${label(k)}`);
      const b = await buildCommit(repo, k.sha, { dir, jobs, inPlace, log: (l) => say(`  ${l}`) });
      const r: CommitResult = { index: k.index, sha: k.sha, subject: k.subject, name: k.name, build: { ok: b.ok }, status: 'pass' };
      if (b.ok) {
        r.build = { ok: true, cached: b.build.cached, seconds: round1(b.build.seconds), release: b.build.release, image: b.build.image };
        say(`series: ${label(k)}: ${b.build.cached ? 'cached build' : `built in ${Math.round(b.build.seconds)} s`}`);
      } else {
        const logCopy = join(seriesDir, `build-${k.index}-${k.sha.slice(0, 12)}.log`);
        const logPath = /full log: (\S+)/.exec(b.reason)?.[1];
        if (logPath && existsSync(logPath)) copyFileSync(logPath, logCopy);
        // The failed step and the compiler's first error line (the whole excerpt is in the log).
        const msg = b.reason.split('\n');
        const firstError = msg.slice(1).find((l) => /\berror\b/i.test(l) && !/^\s*full log:/.test(l));
        const text = `${msg[0]!.replace(/; its last lines:$/, '')}${firstError ? `: ${firstError.trim()}` : msg.length > 1 ? `: ${msg[1]!.trim()}` : ''}`;
        // The build log is read as latin1: gcc's UTF-8 quotes come back as two or three letters each.
        const reason = /[\u0080-\u00ff]/.test(text) && !/[^\u0000-\u00ff]/.test(text) ? Buffer.from(text, 'latin1').toString('utf8') : text;
        r.build = { ok: false, reason, ...(logPath ? { log: logCopy } : {}) };
        r.status = 'does not build';
        say(`series: ${label(k)}: does not build: ${r.build.reason}`);
      }
      results.set(k.name, r);
    }
  }
  const baseR = results.get(plan.base.name)!;
  if (!baseR.build.ok) return finish(seriesDir, plan, results, profile, `BASE ${plan.base.sha.slice(0, 12)} does not build: nothing to compare the series with`);

  // Runs: each group (BASE + commits) interleaved in one run; a kernel that does not boot is
  // taken out and the group run again without it.
  const progress = createProgress(mode);
  for (const [gi, group] of plan.groups.entries()) {
    let kernels = group.filter((k) => results.get(k.name)!.build.ok);
    for (let attempt = 1; kernels.length > 1; attempt++) {
      const out = join(seriesDir, `run-${gi + 1}${attempt > 1 ? `-${attempt}` : ''}`);
      const crossed = crossChecked(profile, kernels.map((k) => ({ name: k.name, spec: results.get(k.name)!.build.image! })));
      say(`series: run ${gi + 1}${attempt > 1 ? ` (attempt ${attempt})` : ''}: ${kernels.map((k) => k.name).join(', ')} -> ${out}`);
      let result: Result;
      try {
        ({ result } = await runProfile({ profile: crossed, profileSource: loaded.path, out, command: ['tunbench', 'series', ...args], progress, log: (l) => say(`  ${l}`), kernelFlag: true }));
      } catch (e) {
        const m = e instanceof UserError ? /the (\S+) VM failed (?:twice )?before/.exec(e.message) : null;
        const who = m ? kernels.find((k) => k.name === m[1]) : undefined;
        if (!who) {
          // Anything else (a VM that died mid-run, the run lock held, a failed trial's cause):
          // this group cannot be judged; the other groups still run.
          const why = e instanceof Error ? e.message.split('\n')[0]! : String(e);
          say(`series: run ${gi + 1} failed: ${why}`);
          for (const k of kernels) {
            if (k.index === 0) continue;
            const r = results.get(k.name)!;
            r.status = 'cannot judge';
            r.run = out;
            r.gate = { verdict: 'cannot-judge', lines: [`the run failed: ${why}`], failed: [] };
          }
          break;
        }
        const reason = (e as UserError).message;
        if (who.index === 0) {
          for (const k of kernels) if (k.index > 0) results.get(k.name)!.status = 'cannot judge';
          baseR.boot = { ok: false, reason };
          return finish(seriesDir, plan, results, profile, `BASE ${plan.base.sha.slice(0, 12)} does not boot: ${reason}`);
        }
        const r = results.get(who.name)!;
        r.boot = { ok: false, reason };
        r.status = 'does not boot';
        say(`series: ${label(who)}: does not boot: ${reason}`);
        kernels = kernels.filter((k) => k !== who);
        continue;
      }
      const gate = judgeGroup(result, crossed, kernels, results, out);
      await reportRun(result, gate, out, say);
      break;
    }
  }
  return finish(seriesDir, plan, results, profile, null);
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const label = (k: SeriesKernel) => (k.index === 0 ? `BASE ${k.sha.slice(0, 12)} ${JSON.stringify(k.subject)}` : `commit ${k.index} ${k.sha.slice(0, 12)} ${JSON.stringify(k.subject)}`);

/** crossKernels + the schema (kernel names become variant and VM names). */
function crossChecked(profile: Profile, kernels: Array<{ name: string; spec: string }>): Profile {
  const parsed = ProfileSchema.safeParse(crossKernels(profile, kernels));
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new UserError(`profile '${profile.name}' crossed with the series' kernels is invalid at ${first.path.join('.')}: ${first.message}`, { hint: 'variant names must leave room for @<kernel name> (32 characters); see tunbench series --help' });
  }
  return parsed.data;
}

/** The run's Analysis and HTML/Markdown report in its run folder, as bench writes them; a report
 * that cannot be rendered is a warning (result.json and the series' verdicts are kept). */
async function reportRun(result: Result, gate: GateOutcome, out: string, say: (l: string) => void): Promise<void> {
  try {
    const { analyzeRun } = await import('../analysis/analyze.ts');
    const { writeRunAnalysis } = await import('../result/store.ts');
    const { writeReport } = await import('../report/write.ts');
    const analysis = analyzeRun(result, { source: `${out}/result.json`, gate });
    writeRunAnalysis(out, analysis, gate);
    say(`series: report ${(await writeReport({ analysis, results: [result] }, out)).html}`);
  } catch (e) {
    say(`series: warning: the report of ${out} could not be rendered (result.json is intact): ${(e as Error).message}`);
  }
}

/** Per commit of one run: every metric compared against BASE, and the gate's tests of it. */
function judgeGroup(result: Result, profile: Profile, kernels: SeriesKernel[], results: Map<string, CommitResult>, out: string): GateOutcome {
  const g = gateWithinRun(result, profile.gate);
  const comps = g.comparison?.comparisons ?? [];
  for (const k of kernels) {
    const r = results.get(k.name)!;
    r.run = out;
    if (k.index === 0) continue;
    r.boot = { ok: true };
    r.comparisons = comps.filter((c) => vmOf(result, c.candidate) === k.name);
    const mine = g.tests.filter((t) => vmOf(result, t.candidate) === k.name);
    const failed = mine.filter((t) => t.failed).map((t) => `${t.metric} of ${t.candidate}: ${t.changePct >= 0 ? '+' : ''}${t.changePct.toFixed(1)}% (p ${t.pAdjusted.toPrecision(2)} after Holm)`);
    if (g.verdict === 'cannot-judge') {
      r.gate = { verdict: g.verdict, lines: g.reasons, failed: [] };
      r.status = 'cannot judge';
    } else {
      const who = new Set(mine.map((t) => t.candidate));
      r.gate = { verdict: failed.length ? 'regression' : 'pass', lines: g.reasons.filter((l) => [...who].some((c) => l.includes(` ${c}`))), failed };
      r.status = failed.length ? 'regression' : 'pass';
    }
  }
  return g;
}

function commitLines(r: CommitResult, alpha: number): string[] {
  const head = `commit ${r.index} ${r.sha.slice(0, 12)} ${JSON.stringify(r.subject)}`;
  if (!r.build.ok) return [`${head}: does not build: ${r.build.reason}${r.build.log ? ` (log: ${r.build.log})` : ''}`];
  const built = builtWords(r);
  if (r.boot && !r.boot.ok) return [`${head}: does not boot: ${r.boot.reason} (${built})`];
  if (!r.comparisons) return [`${head}: ${r.status} (${built})${r.gate?.lines.length ? `: ${r.gate.lines.join('; ')}` : ''}`];
  const m = movedOf(r);
  const report = r.run && existsSync(join(r.run, 'report.html')) ? `; report ${join(r.run, 'report.html')}` : '';
  const lines = [`${head}: ${r.status === 'pass' ? 'pass' : r.status === 'regression' ? 'REGRESSION' : 'cannot judge'} (${built}; ${m.length ? `${m.length} of ${r.comparisons.length} metric comparisons moved` : `no metric moved beyond the noise threshold in ${r.comparisons.length} comparisons`}${report})`];
  for (const c of m) lines.push(`    ${c.candidate}: ${comparisonLine(c, alpha)}`);
  if (r.gate?.verdict === 'cannot-judge') for (const l of r.gate.lines) lines.push(`    gate cannot judge: ${l}`);
  else for (const l of r.gate?.lines ?? []) lines.push(`    gate ${l}`);
  return lines;
}

function finish(dir: string, plan: SeriesPlan, results: Map<string, CommitResult>, profile: Profile, fatal: string | null): number {
  const commits = plan.commits.map((k) => results.get(k.name)!);
  const base = results.get(plan.base.name)!;
  const lines: string[] = [];
  lines.push(`BASE ${base.sha.slice(0, 12)} ${JSON.stringify(base.subject)}: ${builtWords(base)}`);
  for (const r of commits) lines.push(...commitLines(r, profile.gate.alpha));
  const counts = (s: CommitResult['status']) => commits.filter((r) => r.status === s).length;
  const bad = counts('regression') + counts('does not build') + counts('does not boot');
  const code = bad > 0 ? 1 : fatal || counts('cannot judge') > 0 ? 2 : 0;
  const summary = fatal
    ? `series: cannot judge: ${fatal}`
    : `series: ${commits.length} commit(s): ${counts('pass')} pass, ${counts('regression')} regression, ${counts('does not build')} do not build, ${counts('does not boot')} do not boot, ${counts('cannot judge')} cannot be judged (exit ${code})`;
  lines.push(summary);
  const json = { kind: 'tunbench-series', createdAt: new Date().toISOString(), profile: profile.name, gate: profile.gate, base: base, commits, groups: plan.groups.map((g) => g.map((k) => k.name)), fatal, exitCode: code };
  writeFileSync(join(dir, 'series.json'), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(dir, 'series.md'), `# tunbench series\n\nprofile ${profile.name}; gate metrics ${profile.gate.metrics.join(', ')}, limit ${(profile.gate.maxRegression * 100).toFixed(1)}%\n\n${lines.map((l) => (l.startsWith('    ') ? `    ${l}` : `- ${l}`)).join('\n')}\n`);
  writeFileSync(join(dir, 'series.html'), renderSeriesHtml({ dir, profile: profile.name, gate: profile.gate, base, commits, groups: json.groups, fatal, exitCode: code, summary }));
  for (const l of lines) console.log(l);
  console.log(`series: ${join(dir, 'series.json')}; the page: ${join(dir, 'series.html')}`);
  if (fatal) console.error(`tunbench: ${fatal}\n  fix: see the build log or the console log named above`);
  return code;
}
