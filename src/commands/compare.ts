// tunbench compare A B: two saved results, variant by variant.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadResultOrBaseline } from '../analysis/baselines.ts';
import { compareResults, environmentDifferences } from '../analysis/compare.ts';
import { comparisonTable } from '../analysis/format.ts';
import { parseFraction } from '../analysis/percent.ts';
import type { Comparison } from '../analysis/types.ts';
import { UserError } from '../errors.ts';
import { RESULTS_DIR, utcStamp, writeJsonAtomic } from '../result/store.ts';
import { mkdirSync } from 'node:fs';

const HELP = `usage: tunbench compare A B [--force] [--noise 2%] [--out DIR] [--json] [--no-report]

A and B are result.json files, result folders, or saved baseline names. Variants are
matched by name; A is the baseline. Separate runs are compared unpaired (Mann-Whitney U,
Hodges-Lehmann ratio with its distribution-free interval, Cliff's delta); the verdicts of
A's gate metrics are Holm-corrected together. Results that measured different things
(workload, or probe backend, level, sample interval, cross-validation, occupancy source) are
refused with the list of differences unless --force (then the differences are recorded).
Writes DIR/comparison.json and the report (report.html, summary.md, PNG charts) to --out DIR
(default results/compare-<UTC time>). Exit 0, or 2 on bad or incomparable input.`;

export function runCompare(a: string, b: string, o: { force?: boolean; noiseThreshold?: number }): { comparison: Comparison; warnings: string[] } {
  const A = loadResultOrBaseline(a);
  const B = loadResultOrBaseline(b);
  const comparison = compareResults(A.result, B.result, { force: o.force ?? false, noiseThreshold: o.noiseThreshold, baselineSource: A.source, candidateSource: B.source });
  // Within one result the same variants could be paired; across results they never are.
  return { comparison, warnings: environmentDifferences(A.result, B.result).map((d) => `environments differ: ${d}`) };
}

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { force: { type: 'boolean', default: false }, noise: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean', default: false }, 'no-report': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 2) throw new UserError('compare needs two results: tunbench compare A B', { hint: HELP.split('\n')[0] });
  const { comparison, warnings } = runCompare(positionals[0]!, positionals[1]!, { force: values.force, noiseThreshold: values.noise ? parseFraction('--noise', values.noise) : undefined });
  const out = values.out ?? join(RESULTS_DIR, `compare-${utcStamp()}`);
  mkdirSync(out, { recursive: true });
  writeJsonAtomic(join(out, 'comparison.json'), comparison);
  if (!values['no-report']) {
    const { writeReport } = await import('../report/write.ts');
    const A = loadResultOrBaseline(positionals[0]!).result;
    const B = loadResultOrBaseline(positionals[1]!).result;
    const paths = await writeReport({ results: [A, B], comparison }, out);
    if (!values.json) console.log(`report: ${paths.html}`);
  }
  if (values.json) console.log(JSON.stringify(comparison, null, 2));
  else {
    for (const w of [...warnings, ...comparison.differences.map((d) => `forced despite: ${d}`)]) console.log(`warning: ${w}`);
    console.log(comparisonTable(comparison));
  }
  return 0;
}
