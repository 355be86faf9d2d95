// Named baselines: results/baselines/NAME/result.json plus meta.json (where it came from).
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import { RESULTS_DIR, readResult, resultPath, writeJsonAtomic } from '../result/store.ts';
import type { Result } from '../types.ts';

export const BASELINES_DIR = process.env.TUNBENCH_BASELINES ?? join(RESULTS_DIR, 'baselines');
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface BaselineMeta {
  name: string;
  savedAt: string;
  source: string;
  resultId: string;
  kernel: string;
  cpu: string;
  tunQueue: string;
}

export function saveBaseline(name: string, source: string): BaselineMeta {
  if (!NAME_RE.test(name)) throw new UserError(`invalid baseline name '${name}'`, { hint: 'letters, digits, . _ - (at most 64)' });
  const r = readResult(source);
  if (r.status === 'failed') throw new UserError(`${source} is a failed run: it cannot be a baseline`);
  const dir = join(BASELINES_DIR, name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(resultPath(source), join(dir, 'result.json'));
  const meta: BaselineMeta = { name, savedAt: new Date().toISOString(), source: resultPath(source), resultId: r.id, kernel: r.environment.kernel.release, cpu: `${r.environment.host.cpus} x ${r.environment.host.cpuModel}`, tunQueue: r.environment.tun.queue };
  writeJsonAtomic(join(dir, 'meta.json'), meta);
  return meta;
}

export function listBaselines(): BaselineMeta[] {
  if (!existsSync(BASELINES_DIR)) return [];
  return readdirSync(BASELINES_DIR)
    .filter((n) => existsSync(join(BASELINES_DIR, n, 'meta.json')))
    .map((n) => JSON.parse(readFileSync(join(BASELINES_DIR, n, 'meta.json'), 'utf8')) as BaselineMeta);
}

/** A result path, a result folder, or the name of a saved baseline. */
export function loadResultOrBaseline(ref: string): { result: Result; source: string } {
  if (NAME_RE.test(ref) && !existsSync(ref) && existsSync(join(BASELINES_DIR, ref, 'result.json'))) {
    return { result: readResult(join(BASELINES_DIR, ref)), source: `baseline ${ref}` };
  }
  return { result: readResult(ref), source: resultPath(ref) };
}
