// Prints the README's metrics table from src/metrics.ts (npm run docs:metrics). A unit test
// checks that README.md contains exactly this table.
import { METRICS, METRIC_NAMES } from '../src/metrics.ts';

export function metricsTable(): string {
  const rows = METRIC_NAMES.map((n) => {
    const m = METRICS[n];
    return `| \`${n}\` | ${m.unit} | ${m.better} | ${m.level} | ${m.definition} | ${m.source} |`;
  });
  return ['| metric | unit | better | probe level | definition | source |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(metricsTable());
