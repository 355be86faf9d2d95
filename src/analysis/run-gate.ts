// The gate within one run (`bench --gate` without a baseline): each candidate against its
// reference in the same result, paired by round where the rounds allow it. In a run of several
// kernels only the kernel comparisons are judged: each variant on a candidate kernel against
// its twin on the base kernel (the profile's own comparisons between variants on the base
// kernel are reported, not gated).
import type { GateSettings } from '../profile/schema.ts';
import type { Result, VariantResult } from '../types.ts';
import { compareWithinResult } from './compare.ts';
import { gate } from './gate.ts';
import type { GateOutcome } from './types.ts';

/** Variants of this result ran in different VMs (kernels). */
export const severalKernels = (r: Result): boolean => new Set(r.variants.map((v) => v.environment?.vmName).filter(Boolean)).size > 1;

export function gateWithinRun(result: Result, g: GateSettings): GateOutcome {
  const errors: string[] = [];
  const warnings: string[] = [];
  if (result.status === 'failed') errors.push(`the run failed: ${result.statusReason ?? ''}`);
  else if (result.status === 'incomplete') warnings.push(`the run is incomplete: ${result.statusReason ?? ''}`);
  const kernels = severalKernels(result);
  const include = kernels ? (c: VariantResult, r: VariantResult) => c.environment?.vmName !== r.environment?.vmName : undefined;
  const comparison = compareWithinResult(result, { power: true, judgedMetrics: g.metrics, limit: g.maxRegression, noiseThreshold: g.noiseThreshold, alpha: g.alpha, ...(include ? { include } : {}) });
  if (comparison.comparisons.length === 0) errors.push(kernels ? 'no variant on a candidate kernel has a twin on the base kernel to be judged against' : `the run has one variant (${result.variants[0]?.name ?? 'none'}): nothing to judge it against; give a baseline (--gate BASELINE) or run several kernels (--kernel base=... --kernel cand=...)`);
  for (const c of new Set(comparison.comparisons.map((x) => `${x.candidate}\u0000${x.baseline}`))) {
    const [cand, ref] = c.split('\u0000');
    const a = result.variants.find((v) => v.name === ref)?.environment?.probeBackend;
    const b = result.variants.find((v) => v.name === cand)?.environment?.probeBackend;
    if (a !== b) warnings.push(`${cand} used the probe backend ${b ?? 'none'} and ${ref} ${a ?? 'none'}: their probe costs differ (pinned per variant)`);
  }
  return gate({ comparison: errors.length ? null : comparison, maxRegression: g.maxRegression, metrics: g.metrics, alpha: g.alpha, errors, warnings });
}
