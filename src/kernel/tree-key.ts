// What a kernel source tree's build depends on, as one key: the cache of
// src/kernel/tree-build.ts is keyed by it.
//  - A git work tree (its top level is the tree itself): HEAD's commit, `git diff HEAD
//    --binary` (staged and unstaged changes of tracked files) and every untracked file that
//    git does not ignore (path, then its content).
//  - Any other tree (Debian's unpacked linux-source, a tarball): a stamp of every file,
//    relative path + size + mtime (symlinks: their target), .git folders excluded. Touching a
//    file changes the key (a rebuild, incremental since the object folder is per tree);
//    nothing else does. Stamping Debian's 6.1 source (79,000 files) takes about a second.
// The caller adds what else the build depends on (fragment, arch, recipe version).
import { createHash, type Hash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

/** A kernel source tree: a top Makefile, Kconfig and arch/x86 (the only arch tunbench builds). */
export function isKernelTree(path: string): boolean {
  try {
    return statSync(join(path, 'Makefile')).isFile() && statSync(join(path, 'Kconfig')).isFile() && statSync(join(path, 'arch/x86')).isDirectory();
  } catch {
    return false;
  }
}

export interface TreeKey {
  /** sha256 (hex) of the tree's state. */
  hash: string;
  kind: 'git' | 'stamp';
  /** git: HEAD's commit; stamp: null. */
  commit: string | null;
  /** git: whether the work tree differs from HEAD (diff or untracked files); stamp: null. */
  dirty: boolean | null;
  /** stamp: files stamped; git: untracked files hashed. */
  files: number;
}

/** The git top level of `tree` when `tree` itself is a work tree's top, else null (a tree inside another repository, e.g. under .cache/, is not a git tree). */
async function gitTopLevel(tree: string): Promise<string | null> {
  if (!existsSync(join(tree, '.git'))) return null;
  const r = await execa('git', ['-C', tree, 'rev-parse', '--show-toplevel'], { reject: false });
  if (r.exitCode !== 0) return null;
  try {
    return realpathSync(r.stdout.trim()) === realpathSync(tree) ? tree : null;
  } catch {
    return null;
  }
}

function hashFile(h: Hash, file: string): void {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

async function gitKey(tree: string): Promise<TreeKey> {
  const git = (args: string[]) => execa('git', ['-C', tree, ...args], { stripFinalNewline: false, encoding: 'buffer', maxBuffer: 1 << 30 });
  const h = createHash('sha256');
  const head = await execa('git', ['-C', tree, 'rev-parse', '--verify', '-q', 'HEAD'], { reject: false });
  if (head.exitCode !== 0) return stampKey(tree); // no commit yet: stamp it like any other tree
  const commit = head.stdout.trim();
  h.update(`git ${commit}\n`);
  const diff = (await git(['diff', 'HEAD', '--binary', '--no-ext-diff', '--no-textconv'])).stdout as Uint8Array;
  h.update(`diff ${diff.length}\n`).update(diff);
  const untracked = Buffer.from((await git(['ls-files', '--others', '--exclude-standard', '-z'])).stdout as Uint8Array).toString('utf8').split('\0').filter(Boolean).sort();
  for (const rel of untracked) {
    const abs = join(tree, rel);
    const st = lstatSync(abs);
    h.update(`untracked ${rel}\0${st.size}\0`);
    if (st.isSymbolicLink()) h.update(readlinkSync(abs));
    else if (st.isFile()) hashFile(h, abs);
    h.update('\n');
  }
  return { hash: h.digest('hex'), kind: 'git', commit, dirty: diff.length > 0 || untracked.length > 0, files: untracked.length };
}

/** Relative path, size and mtime of every file under `tree` (sorted, .git excluded). */
export function stampKey(tree: string): TreeKey {
  const h = createHash('sha256');
  let files = 0;
  const walk = (rel: string): void => {
    const entries = readdirSync(rel ? join(tree, rel) : tree, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name === '.git') continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) { walk(r); continue; }
      const abs = join(tree, r);
      const st = lstatSync(abs, { bigint: true });
      const extra = st.isSymbolicLink() ? readlinkSync(abs) : '';
      h.update(`${r}\0${st.size}\0${st.mtimeNs}\0${extra}\n`);
      files++;
    }
  };
  walk('');
  return { hash: h.digest('hex'), kind: 'stamp', commit: null, dirty: null, files };
}

/** The key of a tree's source state (see the file's comment). */
export async function treeKey(tree: string): Promise<TreeKey> {
  return (await gitTopLevel(tree)) ? gitKey(tree) : stampKey(tree);
}
