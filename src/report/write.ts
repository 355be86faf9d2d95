// Write a report folder: report.html (self-contained), chart-*.png and summary.md. Every file
// is written all or nothing (temp name + rename), analysis.json and gate.json validated first.
import { join } from 'node:path';
import { compareWithinResult } from '../analysis/compare.ts';
import type { Comparison, GateOutcome } from '../analysis/types.ts';
import type { Result } from '../types.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { buildReportModel } from './model.ts';
import { renderPngs } from './png.ts';
import { SAVED } from '../result/schema.ts';
import { makeDirs, writeFileAtomic, writeSaved } from '../result/store.ts';

export interface ReportPaths {
  html: string;
  markdown: string;
  pngs: string[];
}

export async function writeReport(input: { results: Result[]; comparison: Comparison; gate?: GateOutcome; title?: string }, outDir: string): Promise<ReportPaths> {
  makeDirs(outDir);
  const model = buildReportModel(input);
  const pngs = await renderPngs(model.charts, outDir);
  const html = join(outDir, 'report.html');
  writeFileAtomic(html, renderHtml(model));
  const markdown = join(outDir, 'summary.md');
  writeFileAtomic(markdown, renderMarkdown(model, new Map(model.charts.map((c, i) => [c.id, pngs[i]!]))));
  return { html, markdown, pngs: pngs.map((p) => join(outDir, p)) };
}

/** The report of one bench run (variants against its baseline variant); also saves analysis.json beside it. */
export async function writeRunReport(result: Result, dir: string, gate?: GateOutcome): Promise<ReportPaths> {
  const comparison = gate?.comparison ?? compareWithinResult(result);
  makeDirs(dir);
  writeSaved(SAVED.analysis, join(dir, 'analysis.json'), comparison);
  if (gate) writeSaved(SAVED.gate, join(dir, 'gate.json'), gate);
  return writeReport({ results: [result], comparison, ...(gate ? { gate } : {}) }, dir);
}
