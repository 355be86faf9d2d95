// tunbench compare A B: two saved results, variant by variant.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadResultOrBaseline } from '../result/baselines.ts';
import { compareResults, environmentDifferences } from '../analysis/compare.ts';
import { comparisonTable } from '../report/format.ts';
import { parseFraction } from '../analysis/percent.ts';
import type { Comparison } from '../analysis/types.ts';
import { UserError } from '../errors.ts';
import { SAVED } from '../result/schema.ts';
import { RESULTS_DIR, checkOutputDir, makeDirs, utcStamp, writeSaved } from '../result/store.ts';
import type { Result } from '../types.ts';

const HELP = `usage: tunbench compare A B [--force] [--noise 2%] [--out DIR] [--json] [--no-report]

A and B are result.json files, result folders, or saved baseline names. Variants are
matched by name; A is the baseline. Separate runs are compared unpaired (Mann-Whitney U,
Hodges-Lehmann ratio with its distribution-free interval, Cliff's delta); the verdicts of
A's gate metrics are Holm-corrected together. Results that measured different things
(workload, or probe backend, level, sample interval, cross-validation, occupancy source) are
refused with the list of differences unless --force (then the differences are recorded).
Writes DIR/comparison.json and the report (report.html, summary.md, PNG charts) to --out DIR
(default results/compare-<UTC time>). Exit 0, or 2 on bad or incomparable input.`;

type Loaded = { result: Result; source: string };

export function runCompare(a: string | Loaded, b: string | Loaded, o: { force?: boolean; noiseThreshold?: number }): { comparison: Comparison; warnings: string[] } {
  const A = typeof a === 'string' ? loadResultOrBaseline(a) : a;
  const B = typeof b === 'string' ? loadResultOrBaseline(b) : b;
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
  // Every input and option is checked before any work: options, then the two files, then --out.
  const noiseThreshold = values.noise !== undefined ? parseFraction('--noise', values.noise) : undefined;
  const A = loadResultOrBaseline(positionals[0]!);
  const B = loadResultOrBaseline(positionals[1]!);
  const out = checkOutputDir(values.out ?? join(RESULTS_DIR, `compare-${utcStamp()}`), { hint: 'choose another folder with --out (or leave --out away: results/compare-<time>/)' });
  const { comparison, warnings } = runCompare(A, B, { force: values.force, noiseThreshold });
  makeDirs(out);
  writeSaved(SAVED.comparison, join(out, 'comparison.json'), comparison);
  if (!values['no-report']) {
    const { writeReport } = await import('../report/write.ts');
    const { analyze } = await import('../analysis/analyze.ts');
    const paths = await writeReport({ analysis: analyze({ results: [A, B], comparison }), results: [A.result, B.result] }, out);
    if (!values.json) console.log(`report: ${paths.html}`);
  }
  if (values.json) console.log(JSON.stringify(comparison, null, 2));
  else {
    for (const w of [...warnings, ...comparison.differences.map((d) => `forced despite: ${d}`)]) console.log(`warning: ${w}`);
    console.log(comparisonTable(comparison));
  }
  return 0;
}
