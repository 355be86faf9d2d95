// Profile loading: YAML file -> validated Profile. Every error names the file, the field
// path, what was expected and what was found.
import { closeSync, existsSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { PROFILE_HINT, UserError } from '../errors.ts';
import { ProfileSchema, WorkloadSchema, ProbesSchema, VariantSchema, type Profile } from './schema.ts';
import { sweepVariants } from './sweep.ts';

export const PROFILES_DIR = resolve(fileURLToPath(new URL('../../profiles', import.meta.url)));

/** A profile name ("quick") or a path ("./my.yaml"). */
export function resolveProfilePath(nameOrPath: string): string {
  const candidates = [nameOrPath, `${nameOrPath}.yaml`, join(PROFILES_DIR, nameOrPath), join(PROFILES_DIR, `${nameOrPath}.yaml`)];
  for (const c of candidates) {
    if (existsSync(c) && statSync(c).isFile()) return resolve(c);
  }
  if (existsSync(nameOrPath)) {
    throw new UserError(`profile ${resolve(nameOrPath)} is not a regular file (a folder or a device)`, { hint: 'give the path of a YAML file' });
  }
  throw new UserError(`profile '${nameOrPath}' not found`, {
    hint: `give a path to a YAML file, or one of: ${listProfiles().join(', ')}`,
  });
}

export function listProfiles(): string[] {
  try {
    return readdirSync(PROFILES_DIR).filter((f) => f.endsWith('.yaml')).map((f) => basename(f, '.yaml')).sort();
  } catch {
    return [];
  }
}

/** Describe the value found at a path, for error messages. */
function describeFound(value: unknown): string {
  if (value === undefined) return 'nothing (field missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  return `${typeof value} ${String(value)}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : out ? `.${String(k)}` : String(k);
  return out || '(top level)';
}

/** Turn zod issues into lines "file: path: expected X, found Y". */
export function formatIssues(file: string, issues: z.core.$ZodIssue[], root: unknown, prefix: PropertyKey[] = []): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    const key = formatPath(path);
    if (issue.code !== 'unrecognized_keys') {
      if (seen.has(key)) continue;
      seen.add(key);
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        lines.push(`${file}: ${formatPath([...path, key])}: unknown field (not in the profile schema; check its spelling)`);
      }
      continue;
    }
    if (issue.code === 'invalid_union' && 'errors' in issue && Array.isArray(issue.errors) && issue.errors.length > 0) {
      // discriminated unions: report the discriminator problem plainly
      lines.push(`${file}: ${formatPath(path)}: ${issue.message}; found ${describeFound(valueAt(root, issue.path))}`);
      continue;
    }
    const found = describeFound(valueAt(root, issue.path));
    lines.push(`${file}: ${formatPath(path)}: ${issue.message.replace(/^Invalid input: /, '')}; found ${found}`);
  }
  return lines;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Deep merge of plain objects: b's fields override a's; a generator/consumer of another type replaces it whole. */
export function mergeWorkload(a: unknown, b: unknown): unknown {
  if (!isPlainObject(a) || !isPlainObject(b)) return b === undefined ? a : b;
  if ('type' in b && 'type' in a && a.type !== b.type) return b;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in a ? mergeWorkload(a[k], v) : v;
  return out;
}

export interface LoadedProfile {
  profile: Profile;
  path: string;
}

/** Largest profile file read (the shipped ones are a few KiB). */
export const MAX_PROFILE_BYTES = 1024 * 1024;
/** Largest number of alias expansions in a profile (the yaml package's guard against alias bombs). */
const MAX_ALIAS_COUNT = 100;

/** YAML text -> plain data, every failure a UserError naming the file (syntax, resource attacks, nesting). */
function parseYaml(text: string, file: string): unknown {
  const bad = (why: string, hint = 'a profile is one YAML mapping; see profiles/default.yaml for the format') => new UserError(`${file}: ${why}`, { hint });
  if (text.includes('\0')) throw bad(`not a text file (a NUL byte at offset ${text.indexOf('\0')})`, 'give a YAML profile (text), see profiles/default.yaml');
  if (text.includes('\uFFFD')) throw bad('not a UTF-8 text file (bytes that are not UTF-8)', 'give a YAML profile (UTF-8 text), see profiles/default.yaml');
  let doc;
  try {
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    if (e instanceof RangeError) throw bad('nested too deeply to be a profile');
    throw bad(`not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const first = e.message.split('\n')[0] ?? '';
    if (/multiple documents/.test(first)) throw bad(`holds more than one YAML document (${first.replace(/^.*? at line/, 'the second starts at line').replace(/:$/, '')})`, 'a profile is one document: remove the --- separator and what follows, or split it into two files');
    if (/call stack/i.test(first)) throw bad('nested too deeply to be a profile');
    throw bad(`not valid YAML: ${first}`, 'fix the YAML syntax at the line shown');
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    const msg = (e as Error).message;
    if (/alias/i.test(msg)) throw bad(`its aliases expand without bound (${msg}; at most ${MAX_ALIAS_COUNT} expansions are allowed)`, 'write the values out, or use fewer aliases (*name)');
    if (e instanceof RangeError) throw bad('nested too deeply to be a profile');
    throw bad(`not valid YAML: ${msg.split('\n')[0]}`);
  }
}

/** Parse and validate profile text. `file` is used in messages. */
export function parseProfile(text: string, file: string): Profile {
  const raw = parseYaml(text, file);
  if (!isPlainObject(raw)) {
    throw new UserError(`${file}: a profile must be a YAML mapping; found ${describeFound(raw)}`, {
      hint: 'see profiles/default.yaml for the format',
    });
  }
  const parsed = ProfileSchema.safeParse(raw);
  if (!parsed.success) throw profileError(file, formatIssues(file, parsed.error.issues, raw));
  const profile = parsed.data;

  // Each variant's overrides are validated merged onto the (already valid) base workload, so
  // any error found there comes from the override; paths are reported under the variant.
  // A sweep's variants (src/profile/sweep.ts) are checked as if written out, reported under sweep.
  const problems: string[] = [];
  const names = new Set<string>();
  const swept = sweepVariants(profile);
  problems.push(...swept.problems.map((p) => `${file}: ${p}`));
  swept.variants.forEach((v, i) => {
    const where = swept.where[i]!;
    if (!VariantSchema.shape.name.safeParse(v.name).success) problems.push(`${file}: ${where}: the variant name '${v.name}' is not a valid name (letters, digits, . _ @ -, at most 96); set sweep.prefix`);
    if (names.has(v.name)) problems.push(`${file}: ${where}: duplicate variant name '${v.name}'`);
    names.add(v.name);
    const merged = mergeWorkload(profile.workload, v.workload);
    const w = WorkloadSchema.safeParse(merged);
    if (!w.success) problems.push(...formatIssues(file, w.error.issues, merged, ['workload']).map((l) => l.replace(`${file}: `, `${file}: ${where}: `)));
  });
  profile.variants.forEach((v, i) => {
    if (names.has(v.name)) problems.push(`${file}: variants[${i}].name: duplicate variant name '${v.name}'${swept.variants.some((x) => x.name === v.name) ? ' (a swept variant has it: rename this one, or set sweep.prefix)' : ''}`);
    names.add(v.name);
    const merged = mergeWorkload(profile.workload, v.workload);
    const w = WorkloadSchema.safeParse(merged);
    if (!w.success) problems.push(...formatIssues(file, w.error.issues, merged, ['variants', i, 'workload']));
    if (v.probes !== undefined) {
      const mp = { ...profile.probes, ...v.probes };
      const p = ProbesSchema.safeParse(mp);
      if (!p.success) problems.push(...formatIssues(file, p.error.issues, mp, ['variants', i, 'probes']));
    }
  });
  profile.variants.forEach((v, i) => {
    if (v.compareTo === undefined) return;
    if (!names.has(v.compareTo)) problems.push(`${file}: variants[${i}].compareTo: expected the name of another variant (${[...names].join(', ')}); found '${v.compareTo}'`);
    else if (v.compareTo === v.name) problems.push(`${file}: variants[${i}].compareTo: a variant cannot be compared with itself`);
  });
  if (profile.variants.length > 0 && profile.variants.filter((v) => v.baseline).length > 1) {
    problems.push(`${file}: variants: more than one variant has baseline: true; mark exactly one (or none: the first is the baseline)`);
  }
  if (problems.length > 0) throw profileError(file, problems);
  return profile;
}

function profileError(file: string, lines: string[]): UserError {
  const shown = lines.slice(0, 20);
  const more = lines.length > shown.length ? `\n  ... and ${lines.length - shown.length} more` : '';
  return new UserError(`invalid profile ${file}:\n  ${shown.join('\n  ')}${more}`, { hint: PROFILE_HINT });
}

/** Read at most MAX_PROFILE_BYTES (a bounded read: also for files whose size stat cannot tell, under /proc). */
function readProfileText(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new UserError(`cannot read profile ${path}: ${(e as Error).message}`, { hint: 'check the path and its permissions' });
  }
  try {
    const buf = Buffer.alloc(MAX_PROFILE_BYTES + 1);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    if (n > MAX_PROFILE_BYTES) {
      throw new UserError(`profile ${path} is larger than ${MAX_PROFILE_BYTES / 1024} KiB: not a profile`, { hint: 'give a YAML profile (the shipped ones are a few KiB), see profiles/default.yaml' });
    }
    return new TextDecoder('utf-8', { fatal: false }).decode(buf.subarray(0, n));
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read profile ${path}: ${(e as Error).message}`, { hint: 'check the path and its permissions' });
  } finally {
    closeSync(fd);
  }
}

export function loadProfile(nameOrPath: string): LoadedProfile {
  const path = resolveProfilePath(nameOrPath);
  return { profile: parseProfile(readProfileText(path), path), path };
}
