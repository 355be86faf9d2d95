// Write a report folder: report.html (self-contained), chart-*.png and summary.md, all rendered
// from an Analysis (and the results it came from). Every file is written all or nothing (temp
// name + rename); a run's analysis.json is validated first.
import { join } from 'node:path';
import { analyzeRun } from '../analysis/analyze.ts';
import type { Analysis, GateOutcome } from '../analysis/types.ts';
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

export async function writeReport(input: { analysis: Analysis; results: Result[]; title?: string }, outDir: string): Promise<ReportPaths> {
  makeDirs(outDir);
  const model = buildReportModel(input);
  const pngs = await renderPngs(model.charts, outDir);
  const html = join(outDir, 'report.html');
  writeFileAtomic(html, renderHtml(model));
  const markdown = join(outDir, 'summary.md');
  writeFileAtomic(markdown, renderMarkdown(model, new Map(model.charts.map((c, i) => [c.id, pngs[i]!]))));
  return { html, markdown, pngs: pngs.map((p) => join(outDir, p)) };
}

/** The report of one bench run (variants against their references, or the run's own gate): its
 * Analysis is computed once, saved beside result.json as analysis.json, and rendered. */
export async function writeRunReport(result: Result, dir: string, o: { gate?: GateOutcome; source?: string } = {}): Promise<ReportPaths> {
  const gate = o.gate;
  const analysis = analyzeRun(result, { source: o.source ?? join(dir, 'result.json'), ...(gate ? { gate } : {}) });
  makeDirs(dir);
  writeSaved(SAVED.analysis, join(dir, 'analysis.json'), analysis);
  if (gate) writeSaved(SAVED.gate, join(dir, 'gate.json'), gate);
  return writeReport({ analysis, results: [result] }, dir);
}
