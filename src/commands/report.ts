// tunbench report RESULT_OR_COMPARISON [--out DIR]: render the report from saved files alone.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadResultOrBaseline } from '../analysis/baselines.ts';
import type { Comparison } from '../analysis/types.ts';
import { UserError } from '../errors.ts';
import { writeReport, writeRunReport } from '../report/write.ts';
import { readResult } from '../result/store.ts';

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
  let input = resolve(positionals[0]!);
  if (existsSync(input) && statSync(input).isDirectory()) input = existsSync(join(input, 'comparison.json')) && !existsSync(join(input, 'result.json')) ? join(input, 'comparison.json') : join(input, 'result.json');
  let data: { kind?: string };
  try {
    data = JSON.parse(readFileSync(input, 'utf8')) as { kind?: string };
  } catch (e) {
    throw new UserError(`cannot read ${input}: ${(e as Error).message}`);
  }
  const out = resolve(values.out ?? dirname(input));
  const paths = data.kind === 'tunbench-comparison'
    ? await (async () => {
      const cmp = data as Comparison;
      if (cmp.schemaVersion !== 2) throw new UserError(`${input} is a comparison of schema version ${String(cmp.schemaVersion)}, made before paired analysis and honest intervals`, { hint: 'compare the two results again (tunbench compare A B) and render that' });
      const results = [cmp.baselineSource, cmp.candidateSource].map((s) => loadResultOrBaseline(sourcePath(s)).result);
      return writeReport({ results, comparison: cmp }, out);
    })()
    : await writeRunReport(readResult(input), out);
  console.log(`report: ${paths.html}\nsummary: ${paths.markdown}`);
  return 0;
}
