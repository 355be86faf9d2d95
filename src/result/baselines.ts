// Named baselines: results/baselines/NAME/result.json plus meta.json (where it came from).
//
// A save is all or nothing, by a temporary folder and a rename: the result is validated
// first, then result.json and meta.json are written into baselines/.NAME.tmp-<pid>/, and that
// folder is renamed to baselines/NAME (an older NAME is renamed aside first and removed after).
// Chosen over "temp files, meta.json last" because the pair then always appears together:
// a reader never sees a result.json without its meta.json, nor a new result.json beside the
// old meta.json of a baseline saved again. Readers still refuse a folder without a valid
// meta.json (left by tunbench versions before this rule) and name it.
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import { readResult, readSaved, resultPath } from './read.ts';
import { SAVED, type BaselineMeta } from './schema.ts';
import { RESULTS_DIR, checkOutputDir, makeDirs, writeSaved } from './store.ts';
import type { Result } from '../types.ts';

export type { BaselineMeta } from './schema.ts';

export const BASELINES_DIR = process.env.TUNBENCH_BASELINES ?? join(RESULTS_DIR, 'baselines');
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DIR_HINT = 'baselines live in results/baselines/ (or $TUNBENCH_BASELINES): make it a writable folder on a real file system';

export function saveBaseline(name: string, source: string): BaselineMeta {
  if (!NAME_RE.test(name)) throw new UserError(`invalid baseline name '${name}'`, { hint: 'letters, digits, . _ - (at most 64)' });
  checkOutputDir(BASELINES_DIR, { flag: 'baselines folder', hint: DIR_HINT });
  const r = readResult(source);
  if (r.status === 'failed') throw new UserError(`${resultPath(source)} is a failed run: it cannot be a baseline`, { hint: 'save a complete (or incomplete) run; its statusReason says why this one failed' });
  const meta: BaselineMeta = { name, savedAt: new Date().toISOString(), source: resultPath(source), resultId: r.id, kernel: r.environment.kernel.release, cpu: `${r.environment.host.cpus} x ${r.environment.host.cpuModel}`, tunQueue: r.environment.tun.queue };
  makeDirs(BASELINES_DIR);
  const final = join(BASELINES_DIR, name);
  const tmp = join(BASELINES_DIR, `.${name}.tmp-${process.pid}`);
  const old = join(BASELINES_DIR, `.${name}.old-${process.pid}`);
  try {
    rmSync(tmp, { recursive: true, force: true });
    makeDirs(tmp);
    writeSaved(SAVED.result, join(tmp, 'result.json'), r);
    writeSaved(SAVED.baselineMeta, join(tmp, 'meta.json'), meta);
    if (existsSync(final)) renameSync(final, old);
    renameSync(tmp, final);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(final) && existsSync(old)) renameSync(old, final); // the previous baseline stays
    throw e;
  }
  rmSync(old, { recursive: true, force: true });
  return meta;
}

export interface BaselineList {
  baselines: BaselineMeta[];
  /** Folders under BASELINES_DIR that are not a usable baseline, each with the reason. */
  broken: Array<{ name: string; problem: string }>;
}

/** Every saved baseline, validated (meta.json and result.json); broken ones named, not thrown. */
export function listBaselines(): BaselineList {
  const out: BaselineList = { baselines: [], broken: [] };
  if (!existsSync(BASELINES_DIR)) return out;
  for (const n of readdirSync(BASELINES_DIR).sort()) {
    if (n.startsWith('.')) continue; // .NAME.tmp-<pid>: a save in progress (or killed)
    let isDir = false;
    try {
      isDir = statSync(join(BASELINES_DIR, n)).isDirectory();
    } catch {
      /* a dangling link: named below as broken */
    }
    if (!isDir) {
      out.broken.push({ name: n, problem: `${join(BASELINES_DIR, n)} is not a folder` });
      continue;
    }
    try {
      out.baselines.push(readBaseline(n).meta);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      out.broken.push({ name: n, problem: e.message });
    }
  }
  return out;
}

/** A saved baseline: its meta.json and its result.json, both validated. */
function readBaseline(name: string): { meta: BaselineMeta; result: Result } {
  const dir = join(BASELINES_DIR, name);
  const meta = readSaved<BaselineMeta>(SAVED.baselineMeta, join(dir, 'meta.json')).data;
  return { meta, result: readResult(dir) };
}

/** A result path, a result folder, or the name of a saved baseline. */
export function loadResultOrBaseline(ref: string): { result: Result; source: string } {
  if (NAME_RE.test(ref) && !existsSync(ref) && existsSync(join(BASELINES_DIR, ref))) {
    try {
      return { result: readBaseline(ref).result, source: `baseline ${ref}` };
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      throw new UserError(`baseline ${ref}: ${e.message}`, { hint: `save it again (tunbench baseline save ${ref} RESULT) or remove ${join(BASELINES_DIR, ref)}` });
    }
  }
  if (NAME_RE.test(ref) && !existsSync(ref)) {
    throw new UserError(`${ref}: no such result file or folder, and no baseline of that name in ${BASELINES_DIR}`, { hint: 'give a result.json (npm run bench makes one), its folder, or a saved baseline (tunbench baseline list)' });
  }
  return { result: readResult(ref), source: resultPath(ref) };
}
