// Benchmark: a large report stays usable. 5 variants x 50 trials, 1000 occupancy samples per
// trial (a synthetic result from the test fixture builder): report generation time, file
// size, and the time headless Chromium takes to load the page and draw every chart.
//   npx tsx bench/report-large.ts
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { analyzeRun } from '../src/analysis/analyze.ts';
import { writeReport } from '../src/report/write.ts';
import { fixtureResult } from '../test/helpers/result-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'tunbench-large-'));
const result = fixtureResult({ variants: ['v1', 'v2', 'v3', 'v4', 'v5'], trials: 50, points: 1000, full: true });
const t0 = performance.now();
const analysis = analyzeRun(result);
const t1 = performance.now();
const paths = await writeReport({ analysis, results: [result] }, dir);
const t2 = performance.now();
console.log(`5 variants x 50 trials x 1000 samples: analysis ${(t1 - t0).toFixed(0)} ms, report (HTML + ${paths.pngs.length} PNG + Markdown) ${(t2 - t1).toFixed(0)} ms`);
console.log(`report.html ${(statSync(paths.html).size / 1024).toFixed(0)} KiB (Chart.js inlined: about 200 KiB of it)`);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const l0 = performance.now();
await page.goto(`file://${paths.html}`);
await page.waitForFunction(() => document.body.hasAttribute('data-charts-drawn'));
console.log(`headless Chromium: page loaded and all charts drawn in ${(performance.now() - l0).toFixed(0)} ms`);
await browser.close();
