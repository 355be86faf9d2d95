// A kernel patch series, commit by commit (`tunbench series TREE BASE..TIP`): the range read
// and checked in the user's git tree, a plan of kernels (BASE, then every commit of
// `git rev-list --reverse BASE..TIP`) in groups that share BASE, and the builds.
//
// Builds are incremental across commits: every commit is checked out in turn in ONE checkout
// (a `git clone --shared --no-checkout` of the user's repository under the kernel cache, so
// the user's tree, its HEAD and its .git are never written to), and that checkout keeps one
// object folder (tree-build.ts: obj-tree-<hash of the checkout's path>). `git checkout` rewrites
// only the files a commit changed, so Kbuild recompiles those and what depends on them: the
// second build of a one-file change costs minutes, not a cold build. Each commit's build is
// cached by tree-build.ts under its commit (tree-<key>), so a series run again builds nothing.
// --in-place checks the commits out in the user's own (clean) work tree instead, and puts its
// HEAD back after: its object folder is the one `tunbench kernel build TREE` already filled.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../errors.ts';
import { buildKernelTree, defaultTreeCache, type TreeBuild, type TreeBuildOptions } from './tree-build.ts';

/** The object folder tree-build.ts gives a tree (its real path): cache/obj-tree-<hash of the path>.
 * Named here rather than exported from tree-build.ts, whose content is part of kernel/build.sh's
 * cache key; test/unit/series.test.ts checks that the two agree. */
export const objDirOf = (realTree: string, cache: string = defaultTreeCache()): string => join(cache, `obj-tree-${createHash('sha256').update(realTree).digest('hex').slice(0, 12)}`);

const HINT = "see 'tunbench series --help': TREE is a git work tree of Linux, BASE..TIP a range of its commits (e.g. v6.1..my-series, or HEAD~3..HEAD)";

/** `BASE..TIP` split; anything else (no `..`, `...`, an empty side) is bad input. */
export function parseRange(text: string): { base: string; tip: string } {
  const t = text.trim();
  if (t.includes('...')) throw new UserError(`range '${text}': BASE...TIP (three dots, a symmetric difference) is not a series; give BASE..TIP`, { hint: HINT });
  const parts = t.split('..');
  if (parts.length !== 2) throw new UserError(`range '${text}': expected BASE..TIP (two revisions joined by '..')`, { hint: HINT });
  const [base, tip] = parts.map((p) => p.trim()) as [string, string];
  if (!base || !tip) throw new UserError(`range '${text}': ${!base ? 'BASE' : 'TIP'} is empty; give both sides, e.g. HEAD~3..HEAD`, { hint: HINT });
  for (const r of [base, tip]) {
    if (r.startsWith('-') || /[\s\0]/.test(r)) throw new UserError(`range '${text}': '${r}' is not a revision (it starts with '-' or holds white space)`, { hint: HINT });
  }
  return { base, tip };
}

export interface SeriesCommit {
  /** 1 for the first commit after BASE; 0 is BASE itself. */
  index: number;
  sha: string;
  subject: string;
}

export interface SeriesKernel extends SeriesCommit {
  /** The kernel's name in the run (`base`, `c1-abc1234`, ...): a VM and variant name. */
  name: string;
}

export interface SeriesPlan {
  base: SeriesKernel;
  commits: SeriesKernel[];
  /** Each group: BASE first, then up to maxKernels - 1 commits; one interleaved run each. */
  groups: SeriesKernel[][];
}

/** The kernel name of a commit: base, or c<index>-<7 hex digits>. */
export const kernelName = (c: SeriesCommit): string => (c.index === 0 ? 'base' : `c${c.index}-${c.sha.slice(0, 7)}`);

/** The plan: BASE and the commits named, the commits in groups of at most maxKernels - 1 beside BASE. */
export function seriesPlan(base: Omit<SeriesCommit, 'index'>, commits: Array<Omit<SeriesCommit, 'index'>>, maxKernels: number): SeriesPlan {
  if (!Number.isSafeInteger(maxKernels) || maxKernels < 2) throw new UserError(`--max-kernels must be a whole number of at least 2 (BASE and one commit), not ${maxKernels}`, { hint: HINT });
  if (commits.length === 0) throw new UserError('the range has no commits', { hint: HINT });
  const b: SeriesKernel = { ...base, index: 0, name: '' };
  b.name = kernelName(b);
  const cs = commits.map((c, i) => { const k: SeriesKernel = { ...c, index: i + 1, name: '' }; k.name = kernelName(k); return k; });
  const per = maxKernels - 1;
  const groups: SeriesKernel[][] = [];
  for (let i = 0; i < cs.length; i += per) groups.push([b, ...cs.slice(i, i + per)]);
  return { base: b, commits: cs, groups };
}

const git = (tree: string, args: string[]) => execa('git', ['-C', tree, ...args], { reject: false, env: { LC_ALL: 'C' } });

/** The user's tree as a git work tree's top folder (realpath); bad input is exit 2. */
export async function checkGitTree(tree: string): Promise<string> {
  const abs = resolve(tree);
  if (!existsSync(abs)) throw new UserError(`tree not found: ${abs}`, { hint: HINT });
  if (!statSync(abs).isDirectory()) throw new UserError(`not a folder: ${abs}`, { hint: HINT });
  const top = await git(abs, ['rev-parse', '--show-toplevel']);
  if (top.exitCode !== 0) throw new UserError(`${abs} is not a git work tree: a series is a range of commits, so TREE must be a git clone of Linux (${top.stderr.trim().split('\n')[0] ?? ''})`, { hint: `for a tree that is not under git, build each state with 'tunbench kernel build PATH' and pass the bzImages to 'tunbench bench --kernel NAME=PATH'` });
  const real = realpathSync(top.stdout.trim());
  if (real !== realpathSync(abs)) throw new UserError(`${abs} is inside the git work tree ${real}, not the top of one: a series is a range of commits of TREE's own repository`, { hint: `give the top folder of your Linux clone (the one holding .git), not a folder inside ${real}` });
  return real;
}

/** BASE..TIP resolved in `tree`: BASE's commit and the range's commits, oldest first. */
export async function resolveRange(tree: string, range: string): Promise<{ base: Omit<SeriesCommit, 'index'>; commits: Array<Omit<SeriesCommit, 'index'>> }> {
  const { base, tip } = parseRange(range);
  const sha = async (rev: string, side: string): Promise<string> => {
    const r = await git(tree, ['rev-parse', '--verify', '-q', '--end-of-options', `${rev}^{commit}`]);
    if (r.exitCode !== 0 || !/^[0-9a-f]{40,64}$/.test(r.stdout.trim())) throw new UserError(`${side} '${rev}' is not a commit of ${tree}`, { hint: `check it with git -C ${tree} log --oneline -1 ${rev}; ${HINT}` });
    return r.stdout.trim();
  };
  const b = await sha(base, 'BASE');
  const t = await sha(tip, 'TIP');
  const anc = await git(tree, ['merge-base', '--is-ancestor', b, t]);
  if (anc.exitCode === 1) throw new UserError(`BASE '${base}' is not an ancestor of TIP '${tip}': the series must sit on top of BASE`, { hint: `rebase the series onto BASE, or give its real base (git -C ${tree} merge-base ${base} ${tip})` });
  if (anc.exitCode !== 0) throw new UserError(`git merge-base failed in ${tree}: ${anc.stderr.trim()}`, { hint: HINT });
  const list = await git(tree, ['rev-list', '--reverse', '--format=%H %s', '--no-commit-header', `${b}..${t}`]);
  if (list.exitCode !== 0) throw new UserError(`git rev-list ${base}..${tip} failed in ${tree}: ${list.stderr.trim()}`, { hint: HINT });
  const commits = list.stdout.split('\n').filter(Boolean).map((l) => ({ sha: l.slice(0, l.indexOf(' ') < 0 ? l.length : l.indexOf(' ')), subject: l.indexOf(' ') < 0 ? '' : l.slice(l.indexOf(' ') + 1) }));
  if (commits.length === 0) throw new UserError(`the range ${base}..${tip} is empty (TIP is BASE)`, { hint: `give a TIP with commits on top of BASE; ${HINT}` });
  const subj = await git(tree, ['log', '-1', '--format=%s', b]);
  return { base: { sha: b, subject: subj.stdout.trim() }, commits };
}

/**
 * The repository a tree belongs to, whichever of its worktrees (or the repository itself) is
 * named: the real path of its common git folder. Every worktree of one repository gets the one
 * series checkout, so its one object folder: a series started from a second worktree builds
 * incrementally on the first one's objects instead of cold.
 */
export async function repositoryOf(tree: string): Promise<string> {
  const r = await git(tree, ['rev-parse', '--path-format=absolute', '--git-common-dir']);
  const dir = r.exitCode === 0 ? r.stdout.trim() : tree;
  try {
    return realpathSync(dir);
  } catch {
    return resolve(dir);
  }
}

/** The one checkout a repository's series builds in: <cache>/series-<hash of its common git folder>/<the repository's folder name>. */
export function checkoutDir(repository: string, cacheDir: string = defaultTreeCache()): string {
  const name = basename(repository) === '.git' ? basename(dirname(repository)) : basename(repository).replace(/\.git$/, '');
  return join(cacheDir, `series-${createHash('sha256').update(repository).digest('hex').slice(0, 12)}`, name || 'linux');
}

/** Check out `sha` in the series checkout of `repo` (made on first use), clean of anything else. */
export async function checkoutCommit(repo: string, sha: string, dir: string, log: (l: string) => void = () => undefined): Promise<void> {
  const ok = existsSync(join(dir, '.git')) && (await git(dir, ['rev-parse', '--git-dir'])).exitCode === 0;
  if (!ok) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, '..'), { recursive: true });
    log(`series: cloning ${repo} into ${dir} (--shared: its objects stay in ${repo}; nothing there is written)`);
    const c = await execa('git', ['clone', '--shared', '--no-checkout', '--quiet', repo, dir], { reject: false, env: { LC_ALL: 'C' } });
    if (c.exitCode !== 0) throw new UserError(`git clone --shared ${repo} failed: ${c.stderr.trim()}`, { hint: `check that ${repo} is readable and that ${dir} can be written` });
  }
  const co = await git(dir, ['-c', 'advice.detachedHead=false', 'checkout', '--force', '--detach', '--quiet', sha]);
  if (co.exitCode !== 0) throw new UserError(`git checkout ${sha} in ${dir} failed: ${co.stderr.trim()}`, { hint: `remove ${dir} (a fresh checkout is made) and run again` });
  const cl = await git(dir, ['clean', '-ffdxq']);
  if (cl.exitCode !== 0) throw new UserError(`git clean in ${dir} failed: ${cl.stderr.trim()}`, { hint: `remove ${dir} and run again` });
}

/** --in-place: TREE's own work tree is checked out in turn; it must be clean (untracked files too). */
export async function checkCleanTree(tree: string): Promise<void> {
  const st = await git(tree, ['status', '--porcelain', '--untracked-files=normal']);
  if (st.exitCode !== 0) throw new UserError(`git status failed in ${tree}: ${st.stderr.trim()}`, { hint: HINT });
  if (st.stdout.trim()) {
    const files = st.stdout.split('\n').filter(Boolean);
    throw new UserError(`--in-place checks out each commit in ${tree} itself, but it has local changes (${files.length}: ${files.slice(0, 3).map((l) => l.slice(3)).join(', ')}${files.length > 3 ? ', ...' : ''})`, { hint: 'commit or stash them, or leave --in-place away (the series is then built in a checkout of its own)' });
  }
}

/** Where TREE's HEAD is (a branch, or a commit when detached), to be put back after --in-place. */
export async function currentHead(tree: string): Promise<string> {
  const ref = await git(tree, ['symbolic-ref', '-q', '--short', 'HEAD']);
  if (ref.exitCode === 0 && ref.stdout.trim()) return ref.stdout.trim();
  return (await git(tree, ['rev-parse', '--verify', 'HEAD'])).stdout.trim();
}

/** Put TREE's HEAD back (--in-place); a failure is said, not thrown (the builds are done). */
export async function restoreHead(tree: string, head: string): Promise<string | null> {
  const r = await git(tree, ['-c', 'advice.detachedHead=false', 'checkout', '--quiet', head]);
  return r.exitCode === 0 ? null : `could not check ${head} out again in ${tree}: ${r.stderr.trim()} (run git -C ${tree} checkout ${head})`;
}

export type BuildOutcome = { ok: true; build: TreeBuild } | { ok: false; reason: string };

/** Build one commit of the series in its checkout; a failed build is an outcome, not a throw. */
export async function buildCommit(repo: string, sha: string, o: TreeBuildOptions & { dir?: string; inPlace?: boolean } = {}): Promise<BuildOutcome> {
  const dir = o.inPlace ? repo : o.dir ?? checkoutDir(await repositoryOf(repo), o.cacheDir);
  const log = o.log ?? (() => undefined);
  if (o.inPlace) {
    const co = await git(repo, ['-c', 'advice.detachedHead=false', 'checkout', '--detach', '--quiet', sha]);
    if (co.exitCode !== 0) throw new UserError(`git checkout ${sha} in ${repo} failed: ${co.stderr.trim()}`, { hint: 'leave --in-place away, or clean the tree' });
  } else {
    await checkoutCommit(repo, sha, dir, log);
  }
  try {
    return { ok: true, build: await buildKernelTree(dir, o) };
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return { ok: false, reason: e.message };
  }
}
