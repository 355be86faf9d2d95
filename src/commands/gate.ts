// tunbench gate: pass/fail regression verdict for CI and git bisect run.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS_DIR, utcStamp, writeJsonAtomic } from '../result/store.ts';
import { parseArgs } from 'node:util';
import { loadResultOrBaseline } from '../analysis/baselines.ts';
import { compareResults, environmentDifferences } from '../analysis/compare.ts';
import { comparisonTable, gateMarkdown } from '../analysis/format.ts';
import { gate } from '../analysis/gate.ts';
import { parseFraction } from '../analysis/percent.ts';
import type { Comparison, GateOutcome } from '../analysis/types.ts';
import { UserError } from '../errors.ts';
import { isMetricName, type MetricName } from '../metrics.ts';

const HELP = `usage: tunbench gate --baseline A --candidate B [--max-regression 5%] [--metrics xmit_pps,rx_pps,drop_ratio] [--noise 2%] [--force] [--bisect] [--markdown FILE]

A and B: result.json files, result folders, or saved baseline names (tunbench baseline save).
Exit 0 pass; 1 a one-sided rank test shows a gated metric regressed by more than
--max-regression (alpha 0.05, Holm-corrected over the gated metrics x comparisons);
2 cannot judge (too few trials, incomparable results, failed run, bad input).
--bisect maps every 'cannot judge' (also an unreadable or missing result) to 125 so that
'git bisect run' skips the commit.
Results whose probe configuration (backend, level, sample interval, cross-validation,
occupancy source) or workload differ are refused unless --force (recorded).
--markdown FILE writes the summary; it is also appended to $GITHUB_STEP_SUMMARY when set.
--out DIR writes the report there (report.html with the gate verdict first, summary.md, PNG
charts, gate.json; default results/gate-<UTC time>); --no-report skips it.`;

export interface GateRun {
  outcome: GateOutcome;
}

export function runGate(o: { baseline: string; candidate: string; maxRegression: number; metrics: MetricName[]; noiseThreshold?: number; alpha?: number; force?: boolean }): GateOutcome {
  let comparison: Comparison | null = null;
  const errors: string[] = [];
  const warnings: string[] = [];
  try {
    const A = loadResultOrBaseline(o.baseline);
    const B = loadResultOrBaseline(o.candidate);
    for (const [label, r] of [['baseline', A.result], ['candidate', B.result]] as const) {
      if (r.status === 'failed') errors.push(`the ${label} run failed: ${r.statusReason ?? ''}`);
      else if (r.status === 'incomplete') warnings.push(`the ${label} run is incomplete: ${r.statusReason ?? ''}`);
    }
    warnings.push(...environmentDifferences(A.result, B.result).map((d) => `environments differ: ${d}`));
    comparison = compareResults(A.result, B.result, { force: o.force ?? false, noiseThreshold: o.noiseThreshold, alpha: o.alpha, metrics: o.metrics, judgedMetrics: o.metrics, limit: o.maxRegression, baselineSource: A.source, candidateSource: B.source });
    if (comparison.forced) warnings.push(...comparison.differences.map((d) => `compared despite (--force): ${d}`));
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    errors.push(e.message);
  }
  return gate({ comparison, maxRegression: o.maxRegression, metrics: o.metrics, alpha: o.alpha, errors, warnings });
}

export function parseMetrics(text: string): MetricName[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !isMetricName(n));
  if (bad.length) throw new UserError(`--metrics: unknown metric(s) ${bad.join(', ')}`, { hint: 'see the metrics table in the README' });
  return names as MetricName[];
}

export function reportGate(outcome: GateOutcome, o: { markdown?: string; bisect?: boolean }): number {
  const word = outcome.verdict === 'pass' ? 'PASS' : outcome.verdict === 'regression' ? 'FAIL (regression)' : 'CANNOT JUDGE';
  console.log(`tunbench gate: ${word}`);
  for (const r of outcome.reasons) console.log(`  - ${r}`);
  for (const w of outcome.warnings) console.log(`  warning: ${w}`);
  if (outcome.comparison) console.log(`\n${comparisonTable(outcome.comparison, outcome.metrics)}`);
  const md = gateMarkdown(outcome);
  if (o.markdown) writeFileSync(o.markdown, md);
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, md);
  return o.bisect && outcome.exitCode === 2 ? 125 : outcome.exitCode;
}

export async function main(args: string[]): Promise<number> {
  const bisect = args.includes('--bisect');
  try {
    const { values } = parseArgs({
      args,
      options: {
        baseline: { type: 'string' }, candidate: { type: 'string' }, 'max-regression': { type: 'string', default: '5%' },
        metrics: { type: 'string', default: 'xmit_pps,rx_pps,drop_ratio' }, noise: { type: 'string' }, alpha: { type: 'string' }, force: { type: 'boolean', default: false },
        bisect: { type: 'boolean', default: false }, markdown: { type: 'string' }, out: { type: 'string' }, 'no-report': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (!values.baseline || !values.candidate) throw new UserError('gate needs --baseline and --candidate', { hint: HELP.split('\n')[0] });
    const outcome = runGate({
      baseline: values.baseline, candidate: values.candidate, maxRegression: parseFraction('--max-regression', values['max-regression']),
      metrics: parseMetrics(values.metrics), noiseThreshold: values.noise ? parseFraction('--noise', values.noise) : undefined,
      alpha: values.alpha ? parseFraction('--alpha', values.alpha) : undefined, force: values.force,
    });
    if (!values['no-report'] && outcome.comparison) {
      const out = values.out ?? join(RESULTS_DIR, `gate-${utcStamp()}`);
      mkdirSync(out, { recursive: true });
      writeJsonAtomic(join(out, 'gate.json'), outcome);
      try {
        const { writeReport } = await import('../report/write.ts');
        const results = [values.baseline, values.candidate].map((r) => loadResultOrBaseline(r).result);
        console.log(`report: ${(await writeReport({ results, comparison: outcome.comparison, gate: outcome }, out)).html}`);
      } catch (e) {
        // The verdict stands without its report; say why the report is missing.
        console.error(`tunbench: warning: the report could not be written: ${(e as Error).message}`);
      }
    }
    return reportGate(outcome, { markdown: values.markdown, bisect: values.bisect });
  } catch (e) {
    // With --bisect, anything that stops the gate from judging is 'skip this commit' (125),
    // never 'bad' (1) or an uncaught crash that git bisect would read as bad too.
    if (bisect) {
      console.error(`tunbench: cannot judge: ${(e as Error).message}`);
      return 125;
    }
    throw e;
  }
}
