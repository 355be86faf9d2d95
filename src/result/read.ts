// Reading a saved file: the one entry of every command that reads result.json,
// comparison.json, gate.json or a baseline's meta.json. Whatever is wrong with the file
// (missing, a folder without it, unreadable, empty, truncated, foreign JSON, another schema
// version, a hollow or mis-typed part) ends in one UserError that names the path, what is
// wrong (with the part's path inside the file) and the fix; never a TypeError or a raw errno.
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { z } from 'zod';
import { UserError } from '../errors.ts';
import type { Result } from '../types.ts';
import { SAVED, type SavedKind } from './schema.ts';

/** `fileOrDir` as a file path: a folder means the kind's file inside it. */
export function savedPath(fileOrDir: string, kind: SavedKind = SAVED.result): string {
  const p = resolve(fileOrDir);
  try {
    if (statSync(p).isDirectory()) return join(p, kind.file);
  } catch {
    /* missing or unreadable: readSaved says which */
  }
  return p;
}

/** result.json path from a file or its folder. */
export const resultPath = (fileOrDir: string): string => savedPath(fileOrDir, SAVED.result);

const describe = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? `an array of ${v.length}` : typeof v === 'object' ? 'an object' : typeof v === 'string' ? `the string '${v.slice(0, 40)}'` : `${typeof v} ${String(v)}`;

/** 'variants[0].trials[2].metrics.xmit_pps' */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : `${out ? '.' : ''}${String(k)}`;
  return out || '(the top level)';
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = data;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** The first problem zod found, in words: 'variants: missing (expected an array)'. */
export function firstProblem(error: z.ZodError, data: unknown): string {
  const issue = error.issues[0]!;
  const where = issuePath(issue.path);
  const found = valueAt(data, issue.path);
  let what: string;
  const expected = issue.code === 'invalid_type' ? issue.expected : issue.code === 'invalid_value' ? issue.values.map((x) => JSON.stringify(x)).join(' or ') : null;
  if (expected !== null) what = found === undefined ? `missing (expected ${expected})` : `expected ${expected}, found ${describe(found)}`;
  else what = issue.message.replace(/^Invalid input: /, '');
  const more = error.issues.length - 1;
  return `${where}: ${what}${more > 0 ? ` (and ${more} more problem${more > 1 ? 's' : ''})` : ''}`;
}

const damagedFix = (kind: SavedKind): string => `it is damaged or hollow (saved files are not edited by hand): make it again with ${kind.makes}, or restore it from where it came from`;

/** Read and validate one saved file of this kind; `fileOrDir` may be the folder that holds it. */
export function readSaved<T = unknown>(kind: SavedKind, fileOrDir: string): { data: T; path: string } {
  const { data, path } = readJsonObject(kind, fileOrDir);
  return { data: checkSaved<T>(kind, path, data), path };
}

/** The file's JSON object, or a UserError: missing, unreadable, empty, truncated, not an object. */
export function readJsonObject(kind: SavedKind, fileOrDir: string): { data: Record<string, unknown>; path: string } {
  const path = savedPath(fileOrDir, kind);
  const isDirArg = path !== resolve(fileOrDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? (isDirArg ? `the folder has no ${kind.file}` : 'no such file')
      : code === 'EISDIR' ? 'is a folder'
        : code === 'ENOTDIR' ? 'a part of the path is a file, not a folder'
          : code === 'EACCES' || code === 'EPERM' ? 'cannot be read (permission denied)'
            : `cannot be read (${code ?? (e as Error).message})`;
    throw new UserError(`${isDirArg ? resolve(fileOrDir) : path}: ${why}: looked for ${kind.what} (${path})`, { hint: `give ${kind.what} (${kind.file}) or the folder that holds it; one is made by ${kind.makes}` });
  }
  if (text.trim() === '') throw new UserError(`${path}: the file is empty, not ${kind.what}`, { hint: damagedFix(kind) });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not complete JSON (${(e as Error).message}): a truncated or damaged file, not ${kind.what}`, { hint: damagedFix(kind) });
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new UserError(`${path}: holds ${describe(data)}, not ${kind.what}`, { hint: `give ${kind.what} (${kind.file}); one is made by ${kind.makes}` });
  }
  return { data: data as Record<string, unknown>, path };
}

/** `o` validated as this kind (foreign JSON, another schema version, the schema's first problem);
 * an older version it reads is returned lifted to the current one. */
export function checkSaved<T>(kind: SavedKind, path: string, input: Record<string, unknown>): T {
  let o = input;
  const ours = (typeof o.kind === 'string' && o.kind.startsWith('tunbench-')) || (o.tool as { name?: unknown } | undefined)?.name === 'tunbench' || 'schemaVersion' in o || kind.version === null;
  if (!ours) {
    const keys = Object.keys(o);
    throw new UserError(`${path}: JSON of another kind (keys ${keys.slice(0, 5).join(', ') || 'none'}${keys.length > 5 ? ', ...' : ''}), not ${kind.what}`, { hint: `give ${kind.what} (${kind.file}); one is made by ${kind.makes}` });
  }
  if (kind === SAVED.result && o.kind === 'tunbench-comparison') {
    throw new UserError(`${path}: a tunbench comparison, not a result`, { hint: 'give a result.json written by npm run bench (a comparison is rendered with tunbench report FILE)' });
  }
  if (kind.tag && typeof o.kind === 'string' && o.kind !== kind.tag) {
    throw new UserError(`${path}: ${o.kind.replace(/^tunbench-/, 'a tunbench ')}, not ${kind.what}`, { hint: `give ${kind.what} (${kind.file}); one is made by ${kind.makes}` });
  }
  // An older version this tunbench reads is lifted to the current one first (src/result/upgrade.ts).
  if (kind.version !== null && kind.older && typeof o.schemaVersion === 'number' && o.schemaVersion >= kind.older.oldest && o.schemaVersion < kind.version) {
    o = kind.older.upgrade(o) ?? o;
  }
  if (kind.version !== null && typeof o.schemaVersion === 'number' && o.schemaVersion !== kind.version) {
    const reads = kind.older ? `versions ${kind.older.oldest} to ${kind.version}` : `version ${kind.version}`;
    const wrote = typeof (o.tool as { version?: unknown } | undefined)?.version === 'string' ? ` (tunbench ${(o.tool as { version: string }).version} wrote it)` : '';
    throw o.schemaVersion > kind.version
      ? new UserError(`${path}: ${kind.what} of schema version ${o.schemaVersion}${wrote}, newer than this tunbench reads (${reads})`, { hint: 'read it with the tunbench version that wrote it, or update this one' })
      : new UserError(`${path}: ${kind.what} of an older schema version ${o.schemaVersion}${wrote}; this tunbench reads ${reads}`, { hint: `make it again with ${kind.makes}, or read it with the tunbench version that wrote it` });
  }
  const parsed = kind.schema.safeParse(o);
  if (!parsed.success) throw new UserError(`${path}: not a usable ${kind.what.replace(/^an? /, '')}: ${firstProblem(parsed.error, o)}`, { hint: damagedFix(kind) });
  return o as T;
}

/** A result.json (or the folder that holds it), validated. */
export function readResult(fileOrDir: string): Result {
  return readSaved<Result>(SAVED.result, fileOrDir).data;
}
