// tunbench report RESULT_OR_COMPARISON [--out DIR]: render the report from saved files alone.
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { loadResultOrBaseline } from '../result/baselines.ts';
import type { Comparison } from '../analysis/types.ts';
import { UserError } from '../errors.ts';
import { analyze, analyzeRun } from '../analysis/analyze.ts';
import { writeReport } from '../report/write.ts';
import { checkSaved, readJsonObject } from '../result/read.ts';
import { SAVED } from '../result/schema.ts';
import { checkOutputDir, writeRunAnalysis } from '../result/store.ts';
import type { Result } from '../types.ts';

const HELP = `usage: tunbench report RESULT_OR_COMPARISON [--out DIR]

RESULT_OR_COMPARISON: a result.json (or its folder) written by bench, or a comparison.json
written by compare. Writes DIR/report.html (self-contained), DIR/summary.md and
DIR/chart-*.png; DIR defaults to the input's folder.`;

function sourcePath(source: string): string {
  return source.startsWith('baseline ') ? source.slice('baseline '.length) : source;
}

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UserError('report needs one input: a result or a comparison', { hint: HELP.split('\n')[0] });
  // A folder means its result.json, or its comparison.json when it holds only that.
  const arg = positionals[0]!;
  let read;
  try {
    read = readJsonObject(SAVED.result, arg);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    try {
      read = readJsonObject(SAVED.comparison, arg);
    } catch {
      throw e; // say what was looked for first: the result
    }
  }
  const isComparison = read.data.kind === 'tunbench-comparison';
  const input = read.path;
  const data = checkSaved<Result | Comparison>(isComparison ? SAVED.comparison : SAVED.result, input, read.data);
  // Checked before any rendering: bounded calls, no recursive mkdir (which spins under /proc).
  const out = checkOutputDir(values.out ?? dirname(input), { flag: values.out ? '--out' : 'report folder', hint: 'give a writable folder on a real file system with --out DIR' });
  const paths = isComparison
    ? await (async () => {
      const cmp = data as Comparison;
      const loaded = [cmp.baselineSource, cmp.candidateSource].map((s) => ({ ...loadResultOrBaseline(sourcePath(s)), source: s }));
      return writeReport({ analysis: analyze({ results: loaded, comparison: cmp }), results: loaded.map((l) => l.result) }, out);
    })()
    : await (async () => {
      const analysis = analyzeRun(data as Result, { source: input });
      writeRunAnalysis(out, analysis);
      return writeReport({ analysis, results: [data as Result] }, out);
    })();
  console.log(`report: ${paths.html}\nsummary: ${paths.markdown}`);
  return 0;
}
