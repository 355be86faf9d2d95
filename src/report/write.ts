// Write a report folder: report.html (self-contained), chart-*.png and summary.md, all rendered
// from an Analysis (and the results it came from). Every file is written all or nothing (temp
// name + rename).
import { join } from 'node:path';
import type { Analysis } from '../analysis/types.ts';
import type { Result } from '../types.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { buildReportModel } from './model.ts';
import { renderPngs } from './png.ts';
import { makeDirs, writeFileAtomic } from '../result/store.ts';

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
  writeFileAtomic(markdown, renderMarkdown(model, pngs));
  return { html, markdown, pngs: [...pngs.values()].map((p) => join(outDir, p)) };
}
