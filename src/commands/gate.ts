// tunbench gate: pass/fail regression verdict for CI and git bisect run.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { SAVED } from '../result/schema.ts';
import { RESULTS_DIR, checkOutputDir, checkOutputFile, makeDirs, utcStamp, writeFileAtomic, writeSaved } from '../result/store.ts';
import type { Result } from '../types.ts';
import { parseArgs } from 'node:util';
import { loadResultOrBaseline } from '../result/baselines.ts';
import { compareResults, environmentDifferences } from '../analysis/compare.ts';
import { comparisonTable, gateMarkdown } from '../report/format.ts';
import { gate } from '../analysis/gate.ts';
import { parseFraction } from '../analysis/percent.ts';
import type { Comparison, GateOutcome } from '../analysis/types.ts';
import { UserError, formatUserError, userErrorFromErrno } from '../errors.ts';
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

type Loaded = { result: Result; source: string };

export function runGate(o: { baseline: string | Loaded; candidate: string | Loaded; maxRegression: number; metrics: MetricName[]; noiseThreshold?: number; alpha?: number; force?: boolean }): GateOutcome {
  let comparison: Comparison | null = null;
  const errors: string[] = [];
  const warnings: string[] = [];
  try {
    const A = typeof o.baseline === 'string' ? loadResultOrBaseline(o.baseline) : o.baseline;
    const B = typeof o.candidate === 'string' ? loadResultOrBaseline(o.candidate) : o.candidate;
    for (const [label, r] of [['baseline', A.result], ['candidate', B.result]] as const) {
      if (r.status === 'failed') errors.push(`the ${label} run failed: ${r.statusReason ?? ''}`);
      else if (r.status === 'incomplete') warnings.push(`the ${label} run is incomplete: ${r.statusReason ?? ''}`);
    }
    warnings.push(...environmentDifferences(A.result, B.result).map((d) => `environments differ: ${d}`));
    const same = sameResult(A, B);
    if (same) warnings.push(same);
    comparison = compareResults(A.result, B.result, { power: true, force: o.force ?? false, noiseThreshold: o.noiseThreshold, alpha: o.alpha, metrics: o.metrics, judgedMetrics: o.metrics, limit: o.maxRegression, baselineSource: A.source, candidateSource: B.source });
    if (comparison.forced) warnings.push(...comparison.differences.map((d) => `compared despite (--force): ${d}`));
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    errors.push(e.message);
  }
  return gate({ comparison, maxRegression: o.maxRegression, metrics: o.metrics, alpha: o.alpha, errors, warnings });
}

/** Both sides are one result (the same file, or the same run's trials): a pass then says nothing about a change. */
export function sameResult(A: Loaded, B: Loaded): string | null {
  if (A.source === B.source) return `both sides are the same file (${A.source}): this gate compares a result with itself, and a pass says nothing about any change`;
  const stamp = (r: Result) => r.variants.flatMap((v) => v.trials.map((t) => `${v.name}/${t.index}/${t.startedAt}/${JSON.stringify(t.metrics)}`)).join('|');
  if (A.result.id === B.result.id && stamp(A.result) === stamp(B.result)) return `both sides hold the same trials (result ${A.result.id}): this gate compares a result with itself, and a pass says nothing about any change`;
  return null;
}

export function parseMetrics(text: string): MetricName[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !isMetricName(n));
  if (bad.length) throw new UserError(`--metrics: unknown metric(s) ${bad.join(', ')}`, { hint: 'see the metrics table in the README' });
  return names as MetricName[];
}

/**
 * $GITHUB_STEP_SUMMARY, when set, is checked up front like --markdown, but a bad one is a
 * warning, not an error: the variable comes from the CI environment, not from the command, and
 * its summary only repeats what the gate prints; turning a pass or a regression into "cannot
 * judge" (or, under --bisect, every commit into a skip) for it would lose the verdict.
 * Returns the path to append to, or null (with the warning printed).
 */
export function stepSummaryTarget(): string | null {
  const p = process.env.GITHUB_STEP_SUMMARY;
  if (!p) return null;
  try {
    return checkOutputFile(p, '$GITHUB_STEP_SUMMARY', '');
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    console.error(`tunbench: warning: ${e.message}; the summary is not appended there (the verdict and exit code are kept)`);
    return null;
  }
}

/**
 * Print the verdict, write --markdown and append to $GITHUB_STEP_SUMMARY. Both paths were
 * checked before judging; a write that still fails (the disk filled meanwhile) is a warning
 * naming the file, and the verdict's exit code stands: it is already printed above.
 */
export function reportGate(outcome: GateOutcome, o: { markdown?: string; bisect?: boolean; stepSummary?: string | null }): number {
  const word = outcome.verdict === 'pass' ? 'PASS' : outcome.verdict === 'regression' ? 'FAIL (regression)' : 'CANNOT JUDGE';
  console.log(`tunbench gate: ${word}`);
  for (const r of outcome.reasons) console.log(`  ${r}`);
  if (outcome.power) console.log(`  ${outcome.power}`);
  for (const w of outcome.warnings) console.log(`  warning: ${w}`);
  if (outcome.comparison) console.log(`\n${comparisonTable(outcome.comparison, outcome.metrics)}`);
  const md = gateMarkdown(outcome);
  const summary = o.stepSummary === undefined ? stepSummaryTarget() : o.stepSummary;
  for (const [label, path, write] of [['--markdown', o.markdown, writeFileAtomic], ['$GITHUB_STEP_SUMMARY', summary, appendFileSync]] as const) {
    if (!path) continue;
    try {
      write(path, md);
    } catch (e) {
      console.error(`tunbench: warning: ${label} ${path}: the summary could not be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); the verdict stands`);
    }
  }
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
    // Everything is checked before judging: options and their ranges, the two saved files, the
    // output paths (bounded calls, under a second). Any of these is exit 2 (125 with --bisect).
    const maxRegression = parseFraction('--max-regression', values['max-regression']);
    const metrics = parseMetrics(values.metrics);
    const noiseThreshold = values.noise !== undefined ? parseFraction('--noise', values.noise) : undefined;
    const alpha = values.alpha !== undefined ? parseFraction('--alpha', values.alpha, { positive: true }) : undefined;
    const A = loadResultOrBaseline(values.baseline);
    const B = loadResultOrBaseline(values.candidate);
    const markdown = values.markdown !== undefined ? checkOutputFile(values.markdown, '--markdown', 'give a file in a folder that exists and can be written') : undefined;
    const out = values['no-report'] ? null : checkOutputDir(values.out ?? join(RESULTS_DIR, `gate-${utcStamp()}`), { hint: 'choose another folder with --out (or leave --out away: results/gate-<time>/; or --no-report)' });
    const stepSummary = stepSummaryTarget();
    const outcome = runGate({ baseline: A, candidate: B, maxRegression, metrics, noiseThreshold, alpha, force: values.force });
    if (out && outcome.comparison) {
      try {
        makeDirs(out);
        writeSaved(SAVED.gate, join(out, 'gate.json'), outcome);
        const { writeReport } = await import('../report/write.ts');
        const { analyze } = await import('../analysis/analyze.ts');
        const analysis = analyze({ results: [A, B], comparison: outcome.comparison, gate: outcome });
        console.log(`report: ${(await writeReport({ analysis, results: [A.result, B.result] }, out)).html}`);
      } catch (e) {
        // The verdict stands without its report; say why the report is missing.
        const fs = (e as NodeJS.ErrnoException).code;
        console.error(`tunbench: warning: the report could not be written to ${out}${fs ? ` (${fs})` : ''}: ${(e as Error).message.split('\n')[0]}; the verdict stands`);
      }
    }
    return reportGate(outcome, { markdown, bisect: values.bisect, stepSummary });
  } catch (e) {
    // With --bisect, anything that stops the gate from judging is 'skip this commit' (125),
    // never 'bad' (1) or an uncaught crash that git bisect would read as bad too. The message
    // is the one exit 2 would print (cause and fix), marked as a skip.
    if (bisect) {
      const ue = e instanceof UserError ? e : userErrorFromErrno(e);
      console.error(ue ? `${formatUserError(ue)}\n  (--bisect: exit 125, git bisect run skips this commit)` : `tunbench: cannot judge: ${(e as Error).message}\n  (--bisect: exit 125, git bisect run skips this commit)`);
      return 125;
    }
    throw e;
  }
}
