// Result files: results/<UTC time>-<profile>/result.json plus raw/ (probe output). Writes
// are atomic (temp file + fsync + rename), so an interrupted run never leaves a corrupt
// result.json; the runner rewrites it after every trial, so measured trials are kept.
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, realpathSync, renameSync, rmSync, statSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.ts';
import type { Analysis, GateOutcome } from '../analysis/types.ts';
import type { Result } from '../types.ts';
import { firstProblem } from './read.ts';
import { SAVED, type SavedKind } from './schema.ts';

export const RESULTS_DIR = resolve(fileURLToPath(new URL('../../results', import.meta.url)));

/** A compact UTC timestamp usable in a folder name: 20261125T051500Z. */
export function utcStamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** The result folder a run will use: `out`, or results/<UTC time>-<profile>. */
export function resultDirFor(profileName: string, out?: string, now = new Date()): { dir: string; id: string } {
  const id = `${utcStamp(now)}-${profileName.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  if (out !== undefined && out.trim() === '') throw outError(out, 'an empty path');
  return { dir: resolve(out ?? join(RESULTS_DIR, id)), id };
}

/** Check the folder, then create it (and raw/). */
export function newResultDir(profileName: string, out?: string, now = new Date()): { dir: string; id: string } {
  const r = resultDirFor(profileName, out, now);
  makeDirs(join(checkOutputDir(r.dir), 'raw'));
  return r;
}

// Pseudo file systems: nothing a result can be written to, and Node's mkdirSync(recursive)
// never returns on some of them (under /proc it spins at 100% CPU).
const PSEUDO_FS: Record<number, string> = {
  0x9fa0: 'proc', 0x62656572: 'sysfs', 0x27e0eb: 'cgroup', 0x63677270: 'cgroup2', 0x64626720: 'debugfs',
  0x74726163: 'tracefs', 0xcafe4a11: 'bpf', 0x73636673: 'securityfs', 0x6165676c: 'pstore', 0x62656570: 'configfs',
  0xde5e81e4: 'efivarfs', 0x1cd1: 'devpts', 0x19800202: 'mqueue', 0x65735543: 'fusectl', 0x42494e4d: 'binfmt_misc',
  0xf97cff8c: 'selinuxfs', 0x6e736673: 'nsfs',
};
const PSEUDO_PREFIXES = ['/proc', '/sys', '/dev'];

const OUT_HINT = 'choose another folder with --out (or leave --out away: results/<time>-<profile>/)';
function outError(dir: string, why: string): UserError {
  return new UserError(`--out ${dir}: ${why}`, { hint: OUT_HINT });
}

/**
 * Can a result be written to `dir`? Checked up front, before the run lock, capability
 * detection or any traffic, with a bounded number of system calls (no recursive mkdir, no
 * loop that can spin): the nearest folder that exists must be a real, writable folder on a
 * real file system. Returns `dir` (absolute); throws a UserError saying what is wrong, naming
 * the option (`o.flag`, default --out) with the fix `o.hint`. Every command that writes a
 * folder (bench, compare, gate, report, baseline save) calls it before any work.
 */
export function checkOutputDir(dirIn: string, o: { flag?: string; hint?: string } = {}): string {
  const outError = (d: string, why: string): UserError => new UserError(`${o.flag ?? '--out'} ${d}: ${why}`, { hint: o.hint ?? OUT_HINT });
  if (dirIn.trim() === '') throw outError(dirIn, 'an empty path');
  const dir = resolve(dirIn);
  if (dir.includes('\0')) throw outError(dirIn, 'the path contains a NUL byte');
  // The nearest existing ancestor (lstat never creates or follows anything).
  let existing = dir;
  for (;;) {
    try {
      lstatSync(existing);
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') throw outError(dir, `${existingFileAbove(existing)} is a file, not a folder`);
      if (code === 'ENAMETOOLONG') throw outError(dir, 'the path is too long');
      if (code !== 'ENOENT') throw outError(dir, `cannot look at ${existing}: ${(e as Error).message}`);
      const up = dirname(existing);
      if (up === existing) break;
      existing = up;
    }
  }
  let real: string;
  try {
    real = realpathSync(existing);
  } catch (e) {
    throw outError(dir, `cannot resolve ${existing}: ${(e as Error).message}`);
  }
  const under = PSEUDO_PREFIXES.find((p) => real === p || real.startsWith(`${p}/`));
  if (under) throw outError(dir, `under ${under} (a kernel pseudo file system): not a place for results`);
  let st;
  try {
    st = statSync(real);
  } catch (e) {
    throw outError(dir, `cannot look at ${real}: ${(e as Error).message}`);
  }
  if (!st.isDirectory()) {
    throw outError(dir, existing === dir ? 'exists and is a file, not a folder' : `${existing} is a file, not a folder`);
  }
  try {
    const fsType = PSEUDO_FS[statfsSync(real).type];
    if (fsType) throw outError(dir, `${real} is on a ${fsType} file system (a kernel pseudo file system), not a place for results`);
  } catch (e) {
    if (e instanceof UserError) throw e;
    /* statfs unsupported: the prefix check above stands */
  }
  // Writable? A probe file, created exclusively and removed at once.
  const probe = join(real, `.tunbench-write-test-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EROFS' ? 'is on a read-only file system'
      : code === 'EACCES' || code === 'EPERM' ? 'is not writable (permission denied)'
        : code === 'ENOSPC' || code === 'EDQUOT' ? 'has no space left'
          : `cannot be written: ${(e as Error).message}`;
    throw outError(dir, `${existing === dir ? 'the folder' : `the folder it would be made in, ${existing},`} ${why}`);
  }
  return dir;
}

/**
 * Can a file be written at `fileIn` (--markdown FILE, $GITHUB_STEP_SUMMARY)? Its folder must
 * exist already (a file option never creates folders) and pass checkOutputDir; the path
 * itself must not be a folder. Returns the absolute path.
 */
export function checkOutputFile(fileIn: string, flag: string, hint: string): string {
  const fail = (why: string): UserError => new UserError(`${flag} ${fileIn}: ${why}`, { hint });
  if (fileIn.trim() === '') throw fail('an empty path');
  const file = resolve(fileIn);
  let st;
  try {
    st = statSync(file);
  } catch {
    st = null;
  }
  if (st?.isDirectory()) throw fail('is a folder, not a file');
  const parent = dirname(file);
  let parentSt;
  try {
    parentSt = statSync(parent);
  } catch {
    parentSt = null;
  }
  if (!parentSt) throw fail(`its folder ${parent} does not exist`);
  if (!parentSt.isDirectory()) throw fail(`${parent} is a file, not a folder`);
  checkOutputDir(parent, { flag: `${flag} ${fileIn}: its folder`, hint });
  return file;
}

function existingFileAbove(path: string): string {
  let p = path;
  for (let up = dirname(p); up !== p; p = up, up = dirname(p)) {
    try {
      if (!lstatSync(up).isDirectory()) return up;
    } catch {
      /* keep going up */
    }
  }
  return path;
}

/** mkdir -p one component at a time (bounded by the path's depth; never recursive mkdir). */
export function makeDirs(dir: string): void {
  const parts: string[] = [];
  let p = dir;
  while (!existsSync(p)) {
    parts.unshift(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const part of parts) {
    try {
      mkdirSync(part);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/**
 * Write a file all or nothing: a temporary name in the same folder, fsync, then rename over
 * the final name. A failed write (no space, read-only, I/O error) removes the temporary file
 * and leaves the previous version of `path` (or nothing) in place, never a truncated file.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Write a saved file (result.json, comparison.json, analysis.json, gate.json, meta.json):
 * its JSON text is validated against the same schema every reader uses (src/result/schema.ts)
 * before anything is written, then written all or nothing. A value that fails is a bug of
 * the writer: nothing is written and the error names the part.
 */
export function writeSaved(kind: SavedKind, path: string, value: unknown): void {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  const parsed = kind.schema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`refusing to write ${path}: it would not be ${kind.what}: ${firstProblem(parsed.error, JSON.parse(text))}`);
  writeFileAtomic(path, text);
}

export function writeResult(dir: string, result: Result): string {
  const path = join(dir, 'result.json');
  writeSaved(SAVED.result, path, result);
  return path;
}

/** A run's Analysis beside its result.json (analysis.json), and the run's own gate verdict (gate.json) when it was gated. */
export function writeRunAnalysis(dir: string, analysis: Analysis, gate?: GateOutcome): void {
  makeDirs(dir);
  writeSaved(SAVED.analysis, join(dir, 'analysis.json'), analysis);
  if (gate) writeSaved(SAVED.gate, join(dir, 'gate.json'), gate);
}
