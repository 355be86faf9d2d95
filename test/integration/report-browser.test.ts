// A real report, opened from disk in headless Chromium (Debian's, driven by playwright-core):
// no console errors, no network request, every chart canvas drawn, the verdict shown.
// The screenshot is kept as test-artifacts/report.png.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { chromium } from 'playwright-core';
import { tmp } from '../helpers/cli.ts';

const CHROMIUM = '/usr/bin/chromium';

test('report.html of a real run opens offline with every chart drawn and no errors', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip('no /usr/bin/chromium: run bash scripts/setup.sh --test (installs Debian\'s chromium)');
    return;
  }
  const out = tmp('tunbench-report');
  const run = await execa(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'bench', '--profile', 'quick', '--out', out, '--progress', 'quiet'], { reject: false, all: true });
  assert.equal(run.exitCode, 0, run.all);
  assert.ok(existsSync(join(out, 'report.html')) && existsSync(join(out, 'summary.md')));
  // The report renders the run's Analysis, saved beside result.json.
  const analysis = JSON.parse(readFileSync(join(out, 'analysis.json'), 'utf8'));
  assert.equal(analysis.kind, 'tunbench-analysis');
  assert.equal(analysis.charts.ppsPerTrial[0].rx.length, 3, 'quick: 3 measured trials charted');

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${join(out, 'report.html')}`);
    await page.waitForFunction(() => document.body.hasAttribute('data-charts-drawn'));

    assert.deepEqual(errors, [], 'console errors');
    assert.deepEqual(requests.filter((u) => !u.startsWith('file://')), [], 'network requests');
    // Every canvas really has pixels (read back here, not trusted from the page).
    const canvases = await page.$$eval('canvas', (cs) => cs.map((c) => {
      const d = (c as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height).data;
      let painted = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) painted++;
      return { id: c.id, painted };
    }));
    assert.ok(canvases.length >= 5, `${canvases.length} charts`);
    for (const c of canvases) assert.ok(c.painted > 1000, `${c.id} is blank`);
    const verdict = await page.textContent('#verdict-text');
    assert.match(verdict ?? '', /measured trials|Regressed|no change shown/);
    assert.match((await page.textContent('#headline')) ?? '', /Mpps/);
    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/report.png', fullPage: true });
  } finally {
    await browser.close();
  }
});
