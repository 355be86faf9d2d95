// Result files: results/<UTC time>-<profile>/result.json plus raw/ (probe output). Writes
// are atomic (temp file + fsync + rename), so an interrupted run never leaves a corrupt
// result.json; the runner rewrites it after every trial, so measured trials are kept.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.ts';
import { RESULT_SCHEMA_VERSION, type Result } from '../types.ts';

export const RESULTS_DIR = resolve(fileURLToPath(new URL('../../results', import.meta.url)));

/** A compact UTC timestamp usable in a folder name: 20261125T051500Z. */
export function utcStamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

export function newResultDir(profileName: string, out?: string, now = new Date()): { dir: string; id: string } {
  const id = `${utcStamp(now)}-${profileName.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  const dir = resolve(out ?? join(RESULTS_DIR, id));
  mkdirSync(join(dir, 'raw'), { recursive: true });
  return { dir, id };
}

export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function writeResult(dir: string, result: Result): string {
  const path = join(dir, 'result.json');
  writeJsonAtomic(path, result);
  return path;
}

/** result.json path from a file or its folder. */
export function resultPath(fileOrDir: string): string {
  const p = resolve(fileOrDir);
  if (existsSync(p) && statSync(p).isDirectory()) return join(p, 'result.json');
  return p;
}

export function readResult(fileOrDir: string): Result {
  const path = resultPath(fileOrDir);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UserError(`cannot read result ${path}: ${(e as Error).message}`, { hint: 'give a result.json file or the folder a bench run wrote' });
  }
  const r = data as Partial<Result>;
  if (r?.schemaVersion !== RESULT_SCHEMA_VERSION || !Array.isArray(r.variants)) {
    throw new UserError(`${path} is not a tunbench result of schema version ${RESULT_SCHEMA_VERSION} (found schemaVersion ${String(r?.schemaVersion)})`, {
      hint: 'results from another tunbench version need that version to read them',
    });
  }
  return data as Result;
}
