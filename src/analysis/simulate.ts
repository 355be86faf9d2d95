// Seeded synthetic results for simulating gate() itself (bench/repetitions.ts, the tests).
//
// The model, per trial, on the log scale: value = mu * exp(round + own), where own ~ N(0, sOwn)
// is the trial's own noise and round ~ N(0, sRound) is shared by the trials of one round of an
// interleaved run (the machine's drift while the round ran). From what is measured: the
// between-trial spread of one variant cv^2 = sRound^2 + sOwn^2, and the spread of the per-round
// log-ratio pairSd^2 = 2 sOwn^2. Separate runs (unpaired) get independent draws at cv. xmit_pps
// and rx_pps share their noise (on this machine rx equals xmit within 0.1%); drop_ratio is
// drawn independently at the same cv and never changes, so it only widens the Holm family.
import type { MetricName } from '../metrics.ts';
import type { Result, TrialResult } from '../types.ts';
import { compareResults, compareWithinResult } from './compare.ts';
import { gate } from './gate.ts';
import { seededRandom } from '../random.ts';

export interface SpreadModel {
  /** Between-trial robust CV of one variant in one run (log-scale SD). */
  cv: number;
  /** SD of the per-round log-ratio of two variants measured back to back. */
  pairSd: number;
}

export function normalDraws(seed: number): () => number {
  const rand = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());
}

function trial(variant: string, repetition: number, m: Record<string, number>): TrialResult {
  return { index: 0, variant, repetition, warmup: false, overhead: false, startedAt: '', status: 'ok', windowSeconds: 1, probeLevel: 'off', probeBackend: null, metrics: m, counters: null, crossCheck: [], consumer: null, rawProbeFile: null } as unknown as TrialResult;
}

function result(id: string, variants: { name: string; baseline: boolean; trials: TrialResult[] }[], gateSettings: { metrics: string[]; maxRegression: number }): Result {
  return {
    id, status: 'complete', warnings: [],
    profile: { seed: 1, duration: 1, rampUp: 0, target: 'host', gate: gateSettings },
    variants: variants.map((v) => ({ ...v, workload: { tap: { txQueueLen: 1000, queues: 1 } }, probes: { level: 'off' } })),
  } as unknown as Result;
}

export interface GateSettings { metrics: string[]; maxRegression: number; alpha: number; noiseThreshold: number }

/** Synthetic baseline/candidate pair: paired (one result, two variants, shared rounds) or unpaired (two results). */
export function syntheticPair(o: { n: number; change: number; analysis: 'paired' | 'unpaired'; model: SpreadModel; gate: GateSettings }, z: () => number): { within?: Result; a?: Result; b?: Result } {
  const sOwn = o.model.pairSd / Math.SQRT2;
  const sRound = Math.sqrt(Math.max(0, o.model.cv ** 2 - sOwn ** 2));
  const draw = (factor: number, shared: number, own = o.analysis === 'paired' ? sOwn : o.model.cv) => {
    const e = shared + own * z();
    const x = 1e6 * factor * Math.exp(e);
    return { xmit_pps: x, rx_pps: x * Math.exp(0.001 * z()), drop_ratio: 0.5 * Math.exp(o.model.cv * z()) };
  };
  const A: TrialResult[] = [];
  const B: TrialResult[] = [];
  for (let r = 0; r < o.n; r++) {
    const shared = o.analysis === 'paired' ? sRound * z() : 0;
    A.push(trial('base', r, draw(1, shared)));
    B.push(trial('cand', r, draw(1 - o.change, o.analysis === 'paired' ? shared : 0)));
  }
  if (o.analysis === 'paired') return { within: result('sim', [{ name: 'base', baseline: true, trials: A }, { name: 'cand', baseline: false, trials: B }], o.gate) };
  return { a: result('simA', [{ name: 'default', baseline: true, trials: A }], o.gate), b: result('simB', [{ name: 'default', baseline: true, trials: B.map((t) => ({ ...t, variant: 'default' }) as TrialResult) }], o.gate) };
}

/** Runs compare + gate() `sims` times: how often it fails (exit 1), passes, cannot judge. */
export function simulateGate(o: { n: number; change: number; analysis: 'paired' | 'unpaired'; model: SpreadModel; sims: number; gate: GateSettings; seed: number }): { failRate: number; passRate: number; cannotJudge: number } {
  const z = normalDraws(o.seed);
  const metrics = o.gate.metrics as MetricName[];
  const copts = { metrics, judgedMetrics: metrics, limit: o.gate.maxRegression, noiseThreshold: o.gate.noiseThreshold, alpha: o.gate.alpha };
  let fail = 0;
  let pass = 0;
  let cannot = 0;
  for (let i = 0; i < o.sims; i++) {
    const s = syntheticPair(o, z);
    const cmp = s.within ? compareWithinResult(s.within, copts) : compareResults(s.a!, s.b!, copts);
    const out = gate({ comparison: cmp, maxRegression: o.gate.maxRegression, metrics, alpha: o.gate.alpha });
    if (out.exitCode === 1) fail++;
    else if (out.exitCode === 0) pass++;
    else cannot++;
  }
  return { failRate: fail / o.sims, passRate: pass / o.sims, cannotJudge: cannot };
}
