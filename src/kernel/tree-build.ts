// Build a user's kernel source tree for tunbench: configure it with what tunbench needs
// (`make tinyconfig`, kernel/config.fragment merged with the tree's own merge_config.sh,
// olddefconfig, every fragment line checked), build bzImage out of tree, cache the result.
//
//   cache/tree-<key>/        bzImage, .config, release (`make -s kernelrelease`), meta.json;
//                            written to a temp folder and renamed: complete or absent
//   cache/obj-tree-<hash>/   the object folder, one per source tree (its real path), so a
//                            changed tree rebuilds incrementally; build.log is the last log
// <key> covers the tree's state (src/kernel/tree-key.ts), the fragment's content, the arch,
// the compiler's version and RECIPE_VERSION. The user's tree is never written to.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, closeSync, constants, copyFileSync, createWriteStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../errors.ts';
import { pidAlive } from '../process/pids.ts';
import { repoRoot } from '../qemu/kernel-fetch.ts';
import { isKernelTree, stampKey, treeKey, type TreeKey } from './tree-key.ts';

export { isKernelTree } from './tree-key.ts';

/** Bump when the steps below change what a build produces: every cached build is redone. */
export const RECIPE_VERSION = 1;
export const ARCH = 'x86_64';
/** The cache: TUNBENCH_KERNEL_CACHE, default <repo>/.cache/kernel (shared with kernel/build.sh). */
export const defaultTreeCache = (): string => resolve(process.env.TUNBENCH_KERNEL_CACHE ?? join(repoRoot, '.cache/kernel'));
export const defaultFragment = join(repoRoot, 'kernel/config.fragment');

export interface TreeBuild {
  /** cache/tree-<key>/bzImage */
  image: string;
  /** `make -s kernelrelease` */
  release: string;
  /** true: found in the cache, nothing built */
  cached: boolean;
  /** 16 hex digits (the cache folder's name) */
  key: string;
  /** cache/tree-<key> */
  dir: string;
  /** wall time of this call */
  seconds: number;
}

export interface TreeBuildOptions {
  /** progress lines (default: none) */
  log?: (line: string) => void;
  /** make -j (default: the CPUs this process may use) */
  jobs?: number;
  /** default: defaultTreeCache() */
  cacheDir?: string;
  /** default: kernel/config.fragment */
  fragment?: string;
  /** check for flex, bison, ... first (default true; tests with a fake tree turn it off) */
  checkTools?: boolean;
}

/** What is kept in cache/tree-<key>/meta.json. */
export interface TreeBuildMeta {
  tree: string;
  key: string;
  kind: TreeKey['kind'];
  commit: string | null;
  dirty: boolean | null;
  release: string;
  builtAt: string;
  buildSeconds: number;
  jobs: number;
  recipe: number;
  /** Set when this is another tree key's build of the very same files (a git tree built before it was one): that key. */
  sameAs?: string;
}

/** Build tools a tinyconfig + fragment build needs, and the Debian package of each. */
const TOOLS: Array<{ what: string; pkg: string; found: () => boolean }> = [
  ...['make', 'gcc', 'ld'].map((c) => ({ what: c, pkg: 'build-essential', found: () => onPath(c) })),
  ...[['flex', 'flex'], ['bison', 'bison'], ['bc', 'bc'], ['perl', 'perl'], ['pahole', 'dwarves'], ['cpio', 'cpio']].map(([c, pkg]) => ({ what: c!, pkg: pkg!, found: () => onPath(c!) })),
  { what: 'libelf headers (gelf.h)', pkg: 'libelf-dev', found: () => existsSync('/usr/include/gelf.h') },
  { what: 'OpenSSL headers', pkg: 'libssl-dev', found: () => existsSync('/usr/include/openssl/ssl.h') },
];

function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try { accessSync(join(dir, cmd), constants.X_OK); return true; } catch { /* next */ }
  }
  return false;
}

/** The Debian packages of the build tools this machine lacks (empty: all there). */
export function missingBuildPackages(): string[] {
  return [...new Set(TOOLS.filter((t) => !t.found()).map((t) => t.pkg))];
}

/** Refuse, before anything is built, a path that is not a buildable kernel tree. */
export function checkTree(tree: string): string {
  const abs = resolve(tree);
  if (!existsSync(abs)) throw new UserError(`kernel tree not found: ${abs}`, { hint: 'pass the top folder of a Linux source tree (the one with the top Makefile and Kconfig)' });
  if (!statSync(abs).isDirectory()) throw new UserError(`not a folder: ${abs}`, { hint: 'pass the top folder of a Linux source tree, not a file (a bzImage goes to --kernel PATH directly)' });
  try { accessSync(abs, constants.R_OK | constants.X_OK); } catch { throw new UserError(`kernel tree not readable: ${abs}`, { hint: 'fix its permissions, or run tunbench as a user who can read it' }); }
  if (!isKernelTree(abs)) throw new UserError(`not a Linux source tree: ${abs} (needs a top Makefile, Kconfig and arch/x86)`, { hint: 'pass the top folder of a Linux source tree (git clone of linux, or an unpacked linux-source tarball)' });
  // Kbuild refuses O= builds of a tree configured in place ("source tree is not clean").
  const inTree = ['.config', 'include/config', 'arch/x86/include/generated'].filter((p) => existsSync(join(abs, p)));
  if (inTree.length) {
    throw new UserError(`${abs} has been configured or built in place (${inTree.join(', ')}): the kernel's out-of-tree build refuses such a tree ("source tree is not clean")`, {
      hint: `save your .config if you need it, then run make -C ${abs} mrproper (tunbench never writes into your tree)`,
    });
  }
  try { accessSync(join(abs, 'Makefile'), constants.R_OK); } catch { throw new UserError(`kernel tree not readable: ${join(abs, 'Makefile')}`, { hint: 'fix its permissions' }); }
  return realpathSync(abs);
}

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

async function compilerVersion(): Promise<string> {
  const r = await execa('gcc', ['--version'], { reject: false });
  return r.exitCode === 0 ? r.stdout.split('\n')[0] ?? '' : 'no gcc';
}

/** A fragment's option lines (CONFIG_X=v, "# CONFIG_X is not set"), trimmed: what merge_config.sh reads. Comments do not count. */
export function fragmentOptions(fragmentText: string): string {
  return fragmentText.split('\n').map((l) => l.trim()).filter((l) => /^CONFIG_[A-Za-z0-9_]+=/.test(l) || /^# CONFIG_[A-Za-z0-9_]+ is not set$/.test(l)).join('\n');
}

/** The cache key of building `tree` (checked) with `fragmentText`, and the tree's own key. */
export async function buildKey(tree: string, fragmentText: string): Promise<{ key: string; tree: TreeKey }> {
  const t = await treeKey(tree);
  return { key: await keyOf(t, fragmentText), tree: t };
}

async function keyOf(t: TreeKey, fragmentText: string): Promise<string> {
  return sha(`tunbench kernel tree build\nrecipe ${RECIPE_VERSION}\narch ${ARCH}\ncc ${await compilerVersion()}\ntree ${t.kind} ${t.hash}\nfragment ${sha(fragmentOptions(fragmentText))}\n`).slice(0, 16);
}

/**
 * A git tree whose files are exactly those of a tree built before it became a git repository
 * (same paths, sizes and mtimes, .git aside: its stamp key, src/kernel/tree-key.ts), as when
 * kernel/build.sh's unpacked source is committed without touching a file: that build, published
 * again under the git key (meta: the git commit, the original's build time, `sameAs` its key).
 * Costs one stamp of the tree (about a second for Debian's 6.1 source), on a miss only.
 */
async function sameFilesBuild(real: string, fragmentText: string, cache: string, key: string, tk: TreeKey, started: number): Promise<TreeBuild | null> {
  const stampKeyed = await keyOf(stampKey(real), fragmentText);
  const from = join(cache, `tree-${stampKeyed}`);
  if (!readCached(from, stampKeyed, started)) return null;
  let meta: TreeBuildMeta;
  try { meta = JSON.parse(readFileSync(join(from, 'meta.json'), 'utf8')) as TreeBuildMeta; } catch { return null; }
  const dir = publish(cache, { bzImage: join(from, 'bzImage'), '.config': join(from, '.config') }, { ...meta, key, kind: tk.kind, commit: tk.commit, dirty: tk.dirty, sameAs: stampKeyed });
  return readCached(dir, key, started);
}

/** cache/tree-<meta.key>/: bzImage and .config copied, release and meta.json written, in a temp folder renamed into place (complete or absent). */
function publish(cache: string, files: { bzImage: string; '.config': string }, meta: TreeBuildMeta): string {
  const dir = join(cache, `tree-${meta.key}`);
  const tmp = join(cache, `.tree-${meta.key}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  copyFileSync(files.bzImage, join(tmp, 'bzImage'));
  copyFileSync(files['.config'], join(tmp, '.config'));
  writeFileSync(join(tmp, 'release'), `${meta.release}\n`);
  writeFileSync(join(tmp, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

/** Environment for make: nothing from the caller's shell that would redirect or reconfigure the build. */
function makeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C' };
  for (const v of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES', 'GNUMAKEFLAGS', 'KBUILD_OUTPUT', 'KCONFIG_CONFIG', 'KCONFIG_ALLCONFIG', 'ARCH', 'CROSS_COMPILE', 'O', 'LLVM', 'CC', 'KBUILD_EXTMOD', 'KCFLAGS', 'KAFLAGS', 'KCPPFLAGS']) delete env[v];
  return env;
}

/** A Kbuild progress line ("  CC      init/main.o") or make's directory notes: left out of a failure's excerpt. */
const QUIET_LINE = /^ {2}[A-Z][A-Z0-9_]{1,11}( \[M\])? +\S|^g?make(\[\d+\])?: (Entering|Leaving) directory /;

/** The last `n` lines of a build log that are not Kbuild progress lines. */
export function failureExcerpt(log: string, n = 15): string[] {
  return log.split('\n').map((l) => l.replace(/\s+$/, '')).filter((l) => l && !QUIET_LINE.test(l)).slice(-n);
}

/** Runs one command of the build, appending its output to the log; resolves with its exit code. */
function step(cmd: string, args: string[], o: { logFile: string; onLine?: (l: string) => void }): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const out = createWriteStream(o.logFile, { flags: 'a' });
    out.write(`\n$ ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, args, { env: makeEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    const onData = (d: Buffer): void => {
      out.write(d);
      if (!o.onLine) return;
      const lines = (partial + d.toString('latin1')).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) o.onLine(l);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => { out.end(); reject(e); });
    child.on('close', (code, signal) => { out.end(() => resolvePromise(code ?? (signal ? 128 : 1))); });
  });
}

/** Lock of one object folder: two builds of one tree at once wait for each other. */
async function lockObj(obj: string, log: (l: string) => void): Promise<() => void> {
  const file = `${obj}.lock`;
  let said = false;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => { try { if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file); } catch { /* gone */ } };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner = NaN;
    try { owner = Number(readFileSync(file, 'utf8').trim()); } catch { continue; }
    if (!Number.isSafeInteger(owner) || owner <= 0 || !pidAlive(owner)) {
      try { unlinkSync(file); } catch { /* someone else took it over */ }
      continue;
    }
    if (!said) { log(`kernel: waiting for another build of this tree (pid ${owner}, ${file})`); said = true; }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function readCached(dir: string, key: string, started: number): TreeBuild | null {
  const image = join(dir, 'bzImage');
  if (!existsSync(image) || !existsSync(join(dir, 'release'))) return null;
  const release = readFileSync(join(dir, 'release'), 'utf8').trim();
  return { image, release, cached: true, key, dir, seconds: (Date.now() - started) / 1000 };
}

/** Every fragment line the final .config lost, as "CONFIG_X=y (now: ...)" text. */
export function lostFragmentLines(fragmentText: string, configText: string): string[] {
  const have = new Map<string, string>();
  for (const l of configText.split('\n')) {
    let m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(l);
    if (m) { have.set(m[1]!, m[2]!); continue; }
    m = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(l);
    if (m) have.set(m[1]!, 'n');
  }
  const wanted = new Map<string, string>(); // a later line for the same option wins, as in merge_config.sh
  for (const raw of fragmentText.split('\n')) {
    const l = raw.trim();
    let m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(l);
    if (m) wanted.set(m[1]!, m[2]!);
    else if ((m = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(l))) wanted.set(m[1]!, 'n');
  }
  const lost: string[] = [];
  for (const [opt, want] of wanted) {
    const got = have.get(opt);
    const off = got === undefined || got === 'n';
    if (want === 'n' ? !off : got !== want) lost.push(`${opt}=${want} (now: ${got === undefined ? 'absent: this tree has no such option, or a dependency is off' : got === 'n' ? 'not set' : got})`);
  }
  return lost;
}

/**
 * Build `tree` for tunbench, or find it in the cache. Throws UserError (exit 2) for a path that
 * is not a kernel tree, is unreadable or configured in place, for missing build tools, for a
 * fragment option the tree's Kconfig dropped, and for a failed build (the compiler's last lines
 * and the log's path in the message).
 */
export async function buildKernelTree(tree: string, o: TreeBuildOptions = {}): Promise<TreeBuild> {
  const started = Date.now();
  const log = o.log ?? (() => undefined);
  const real = checkTree(tree);
  if (process.arch !== 'x64') throw new UserError(`tunbench builds x86_64 kernels on an x86_64 host; this host is ${process.arch}`, { hint: 'build on an x86_64 machine, or pass a bzImage with --kernel PATH' });
  if (o.checkTools ?? true) {
    const pkgs = missingBuildPackages();
    if (pkgs.length) throw new UserError(`building a kernel needs tools this machine lacks: Debian packages ${pkgs.join(' ')}`, { hint: `apt-get install ${pkgs.join(' ')}` });
  }
  const fragment = resolve(o.fragment ?? defaultFragment);
  const fragmentText = readFileSync(fragment, 'utf8');
  const cache = o.cacheDir ? resolve(o.cacheDir) : defaultTreeCache();
  const jobs = o.jobs ?? availableParallelism();
  if (!Number.isSafeInteger(jobs) || jobs < 1) throw new UserError(`jobs must be a whole number of at least 1, not ${jobs}`);
  mkdirSync(cache, { recursive: true });

  const { key, tree: tk } = await buildKey(real, fragmentText);
  const dir = join(cache, `tree-${key}`);
  const what = tk.kind === 'git' ? `git ${tk.commit?.slice(0, 12)}${tk.dirty ? ' with local changes' : ''}` : `${tk.files} files stamped`;
  const hit = readCached(dir, key, started);
  if (hit) { log(`kernel: ${real} (${what}): cached build ${dir}`); return hit; }
  if (tk.kind === 'git') {
    const same = await sameFilesBuild(real, fragmentText, cache, key, tk, started);
    if (same) { log(`kernel: ${real} (${what}): the same files were built before it was a git tree: cached build ${dir}`); return same; }
  }

  const obj = join(cache, `obj-tree-${sha(real).slice(0, 12)}`);
  mkdirSync(obj, { recursive: true });
  const unlock = await lockObj(obj, log);
  try {
    const again = readCached(dir, key, started); // built by the one we waited for
    if (again) { log(`kernel: ${real}: built meanwhile by another tunbench: ${dir}`); return again; }
    const logFile = join(obj, 'build.log');
    writeFileSync(logFile, `tunbench kernel build ${real} (${what}), key ${key}, ${new Date().toISOString()}\n`);
    let stepStart = 0; // where the last step's output starts in the log: a failure shows that step only
    const run = (cmd: string, args: string[], onLine?: (l: string) => void) => { stepStart = statSync(logFile).size; return step(cmd, args, { logFile, onLine }); };
    const make = (args: string[], onLine?: (l: string) => void) => run('make', ['-C', real, `O=${obj}`, `ARCH=${ARCH}`, ...args], onLine);
    const fail = (stepName: string, code: number): never => {
      const excerpt = failureExcerpt(readFileSync(logFile).subarray(stepStart).toString('latin1'));
      throw new UserError(`${stepName} failed (exit ${code}) for ${real}; its last lines:\n${excerpt.map((l) => `    ${l}`).join('\n')}\n  full log: ${logFile}`, {
        hint: `read ${logFile}; the command and its folder are at the top of each step in it`,
      });
    };

    // Configure. When the new .config equals the last one, its old mtime is put back so that
    // Kbuild sees nothing new (an unchanged config must not cost a rebuild).
    log(`kernel: configuring ${real} (${what}): tinyconfig + ${fragment}`);
    const cfg = join(obj, '.config');
    const before = existsSync(cfg) ? { text: readFileSync(cfg, 'utf8'), mtime: statSync(cfg).mtime } : null;
    let rc = await make(['tinyconfig']);
    if (rc !== 0) fail('make tinyconfig', rc);
    const merge = join(real, 'scripts/kconfig/merge_config.sh');
    if (!existsSync(merge)) throw new UserError(`${real} has no scripts/kconfig/merge_config.sh: the tree is too old for tunbench's configuration step`, { hint: 'use a kernel tree of 3.17 or later' });
    rc = await run('sh', [merge, '-m', '-O', obj, cfg, fragment]);
    if (rc !== 0) fail('merge_config.sh', rc);
    rc = await make(['olddefconfig']);
    if (rc !== 0) fail('make olddefconfig', rc);
    const configText = readFileSync(cfg, 'utf8');
    if (before && before.text === configText) utimesSync(cfg, before.mtime, before.mtime);
    const lost = lostFragmentLines(fragmentText, configText);
    if (lost.length) {
      const rejected = join(obj, '.config.rejected');
      writeFileSync(rejected, configText);
      if (before) { writeFileSync(cfg, before.text); utimesSync(cfg, before.mtime, before.mtime); } // the object folder keeps its last good configuration
      throw new UserError(`${lost.length} option(s) of ${fragment} did not survive configuration of ${real} (too old or too new a tree for them, or a dependency missing from the fragment):\n${lost.map((l) => `    ${l}`).join('\n')}\n  the configuration they were missing from: ${rejected}`, {
        hint: 'look the options up in the tree (grep -rn "config NAME" --include=Kconfig*); options renamed in your tree need a matching fragment line',
      });
    }

    log(`kernel: building bzImage with make -j${jobs} (log: ${logFile})`);
    const t0 = Date.now();
    let compiled = 0;
    let lastReport = Date.now();
    rc = await make([`-j${jobs}`, 'bzImage'], (l) => {
      if (/^ {2}(CC|AS|LD|AR)\b/.test(l)) compiled++;
      if (Date.now() - lastReport >= 30_000) { lastReport = Date.now(); log(`kernel: building: ${compiled} steps done, ${Math.round((Date.now() - t0) / 1000)} s`); }
    });
    if (rc !== 0) fail(`make -j${jobs} bzImage`, rc);
    const built = join(obj, 'arch/x86/boot/bzImage');
    if (!existsSync(built)) fail('make bzImage (no arch/x86/boot/bzImage)', rc);
    const rel = await execa('make', ['-C', real, `O=${obj}`, `ARCH=${ARCH}`, '-s', 'kernelrelease'], { env: makeEnv(), extendEnv: false, reject: false });
    const release = rel.stdout.trim().split('\n').at(-1) ?? '';
    if (rel.exitCode !== 0 || !release) fail('make kernelrelease', rel.exitCode ?? 1);
    const buildSeconds = (Date.now() - started) / 1000;
    // A tree edited while it was being built: what was built is neither the old nor the new state.
    if ((await buildKey(real, fragmentText)).key !== key) {
      throw new UserError(`${real} changed while it was being built: nothing was cached`, { hint: 'run the same command again (the build is incremental)' });
    }

    const meta: TreeBuildMeta = { tree: real, key, kind: tk.kind, commit: tk.commit, dirty: tk.dirty, release, builtAt: new Date().toISOString(), buildSeconds, jobs, recipe: RECIPE_VERSION };
    publish(cache, { bzImage: built, '.config': cfg }, meta);
    log(`kernel: built ${release} in ${Math.round(buildSeconds)} s: ${join(dir, 'bzImage')}`);
    return { image: join(dir, 'bzImage'), release, cached: false, key, dir, seconds: (Date.now() - started) / 1000 };
  } finally {
    unlock();
  }
}

/** The cached tree builds, newest first. */
export function listTreeBuilds(cacheDir: string = defaultTreeCache()): Array<TreeBuildMeta & { dir: string; image: string }> {
  if (!existsSync(cacheDir)) return [];
  const out: Array<TreeBuildMeta & { dir: string; image: string }> = [];
  for (const d of readdirSync(cacheDir)) {
    if (!/^tree-[0-9a-f]{16}$/.test(d)) continue;
    const dir = join(cacheDir, d);
    try {
      const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as TreeBuildMeta;
      if (existsSync(join(dir, 'bzImage'))) out.push({ ...meta, dir, image: join(dir, 'bzImage') });
    } catch { /* not a complete build */ }
  }
  return out.sort((a, b) => b.builtAt.localeCompare(a.builtAt));
}
