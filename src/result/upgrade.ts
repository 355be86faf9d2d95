// Reading results of older schema versions: each is lifted to the current version on entry
// (src/result/read.ts: checkSaved), before validation, so every command (report, compare, gate,
// baseline save) works on one shape and nothing downstream knows a version.
//
//   2 -> 3  Each fact saved once. A version-2 trial held a copy of its readings' probe samples
//           and generator report (trial.probe === trial.readings.probe, trial.generator ===
//           trial.readings.generator: both were written from the same object); the copies are
//           dropped. Every ok trial of version 2 has readings (they came in with version 2); a
//           failed trial without readings loses its copies, which nothing reads.
import { RESULT_SCHEMA_VERSION } from '../types.ts';

/** The oldest result schema version this tunbench reads. */
export const OLDEST_RESULT_VERSION = 2;

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => x !== null && typeof x === 'object' && !Array.isArray(x);

function trialFrom2(t: unknown): unknown {
  if (!isObj(t)) return t; // the schema names what is wrong with it
  const { probe: _probe, generator: _generator, ...rest } = t;
  return rest;
}

/** A version-2 result as version 3 (a new object; the input is not changed). Parts of the wrong
 * type are passed through untouched, for the schema to name. */
export function resultFrom2(o: Obj): Obj {
  const variants = Array.isArray(o.variants)
    ? o.variants.map((v) => (isObj(v) && Array.isArray(v.trials) ? { ...v, trials: v.trials.map(trialFrom2) } : v))
    : o.variants;
  return { ...o, schemaVersion: 3, variants };
}

const STEPS: Record<number, (o: Obj) => Obj> = { 2: resultFrom2 };

/** A result of any version this tunbench reads, as the current version; null: not one it can lift. */
export function upgradeResult(o: Obj): Obj | null {
  let v = o.schemaVersion;
  let out = o;
  while (typeof v === 'number' && v < RESULT_SCHEMA_VERSION) {
    const step = STEPS[v];
    if (!step) return null;
    out = step(out);
    v = out.schemaVersion;
  }
  return out;
}
