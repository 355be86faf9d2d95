// Profile loading: YAML file -> validated Profile. Every error names the file, the field
// path, what was expected and what was found.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { UserError } from '../errors.ts';
import { ProfileSchema, WorkloadSchema, ProbesSchema, type Profile } from './schema.ts';

export const PROFILES_DIR = resolve(fileURLToPath(new URL('../../profiles', import.meta.url)));

/** A profile name ("quick") or a path ("./my.yaml"). */
export function resolveProfilePath(nameOrPath: string): string {
  const candidates = [nameOrPath, `${nameOrPath}.yaml`, join(PROFILES_DIR, nameOrPath), join(PROFILES_DIR, `${nameOrPath}.yaml`)];
  for (const c of candidates) {
    if (existsSync(c) && statSync(c).isFile()) return resolve(c);
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
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
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

/** Parse and validate profile text. `file` is used in messages. */
export function parseProfile(text: string, file: string): Profile {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new UserError(`${file}: not valid YAML: ${e.message.split('\n')[0]}`, { hint: 'fix the YAML syntax at the line shown' });
  }
  const raw: unknown = doc.toJS();
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
  const problems: string[] = [];
  const names = new Set<string>();
  profile.variants.forEach((v, i) => {
    if (names.has(v.name)) problems.push(`${file}: variants[${i}].name: duplicate variant name '${v.name}'`);
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
  return new UserError(`invalid profile ${file}:\n  ${shown.join('\n  ')}${more}`, {
    hint: 'correct the fields above (profiles/profile.schema.json describes every field)',
  });
}

export function loadProfile(nameOrPath: string): LoadedProfile {
  const path = resolveProfilePath(nameOrPath);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read profile ${path}: ${(e as Error).message}`);
  }
  return { profile: parseProfile(text, path), path };
}
