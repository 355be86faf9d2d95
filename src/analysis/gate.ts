// comparison -> gate verdict: 0 pass, 1 regression beyond the limit with significance,
// 2 cannot judge (too few trials, incomparable inputs, errors).
import type { MetricName } from '../metrics.ts';
import type { Comparison, GateOutcome } from './types.ts';

export interface GateInput {
  comparison: Comparison | null;
  maxRegression: number;
  metrics: MetricName[];
  errors?: string[];
  warnings?: string[];
}

export function gate(i: GateInput): GateOutcome {
  const base = { maxRegression: i.maxRegression, metrics: i.metrics, comparison: i.comparison, warnings: i.warnings ?? [] };
  if (i.errors && i.errors.length > 0) return { ...base, exitCode: 2, verdict: 'cannot-judge', reasons: i.errors };
  if (!i.comparison) return { ...base, exitCode: 2, verdict: 'cannot-judge', reasons: ['no comparison'] };
  const judged = i.comparison.comparisons.filter((c) => i.metrics.includes(c.metric));
  if (judged.length === 0) return { ...base, exitCode: 2, verdict: 'cannot-judge', reasons: [`none of the gated metrics (${i.metrics.join(', ')}) were measured on both sides`] };
  const insufficient = judged.filter((c) => c.verdict === 'insufficient');
  if (insufficient.length > 0) return { ...base, exitCode: 2, verdict: 'cannot-judge', reasons: insufficient.map((c) => `${c.metric} (${c.candidate}): ${c.reason}`) };
  const regressions = judged.filter((c) => c.verdict === 'regressed' && -c.changePct / 100 > i.maxRegression);
  if (regressions.length > 0) {
    return { ...base, exitCode: 1, verdict: 'regression', reasons: regressions.map((c) => `${c.metric} (${c.candidate} vs ${c.baseline}): ${c.changePct.toFixed(1)}% (limit -${(i.maxRegression * 100).toFixed(1)}%): ${c.reason}`) };
  }
  const small = judged.filter((c) => c.verdict === 'regressed');
  return {
    ...base, exitCode: 0, verdict: 'pass',
    reasons: small.length > 0 ? small.map((c) => `${c.metric} regressed ${c.changePct.toFixed(1)}%, within the -${(i.maxRegression * 100).toFixed(1)}% limit`) : ['no significant regression beyond the limit'],
  };
}
