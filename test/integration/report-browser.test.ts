// A real report, opened from disk in headless Chromium (Debian's, driven by playwright-core):
// no console errors, no network request, every chart canvas drawn, the verdict shown.
// The screenshot is kept as test-artifacts/report.png.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { marked } from 'marked';
import { chromium, type Browser } from 'playwright-core';
import { writeResult } from '../../src/result/store.ts';
import type { Result } from '../../src/types.ts';
import { cli, tmp } from '../helpers/cli.ts';
import { fixtureResult } from '../helpers/result-fixture.ts';

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
    // A chart with nothing to show (lock contention not measured, no drops, no sampler) is a
    // sentence in its place (issue 24): every figure is one or the other, and the rates charts
    // are always drawn.
    const figures = await page.$$eval('.charts figure', (fs) => fs.map((f) => ({
      canvas: f.querySelector('canvas') !== null,
      sentence: f.classList.contains('no-chart') ? (f.textContent ?? '').trim() : null,
    })));
    assert.ok(figures.length >= 5, `${figures.length} figures`);
    assert.equal(canvases.length, figures.filter((f) => f.canvas).length, 'one canvas per drawn figure');
    assert.ok(canvases.length >= 3, `${canvases.length} charts drawn`);
    for (const f of figures) assert.ok(f.canvas || (f.sentence ?? '').length > 20, `a figure with neither chart nor sentence: ${JSON.stringify(f)}`);
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

// Issue 24: three reports from saved fixtures (clearly synthetic results, test/helpers/result-fixture.ts),
// written by the CLI as a user would: one variant, three variants, and a gate that fails on a
// candidate whose rates are 30% lower. Each is opened in Chromium at 1400 px and at 390 px.
function regressed(r: Result, factor: number): Result {
  for (const v of r.variants) for (const t of v.trials) {
    for (const m of ['rx_pps', 'xmit_pps', 'offered_pps'] as const) t.metrics[m] = (t.metrics[m] ?? 0) * factor;
  }
  return r;
}

async function openReport(browser: Browser, html: string, width: number) {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`file://${html}`);
  await page.waitForFunction(() => document.body.hasAttribute('data-charts-drawn'));
  // Anything wider than the viewport that is not inside a box that scrolls (or is that box).
  // A string, not a function: tsx would wrap a function's inner functions in a helper the page lacks.
  const wide = await page.evaluate(`(() => {
    const vw = document.documentElement.clientWidth;
    const scrolls = (el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
    const out = [];
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || (r.right <= vw + 1 && r.left >= -1)) continue;
      let a = el.parentElement, inside = false;
      while (a && a !== document.body) { if (scrolls(a)) { inside = true; break; } a = a.parentElement; }
      if (!inside) out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + el.className + ': ' + Math.round(r.left) + '..' + Math.round(r.right) + ' > ' + vw);
    }
    return { out, pageWidth: document.documentElement.scrollWidth, vw };
  })()`) as { out: string[]; pageWidth: number; vw: number };
  const text = (await page.textContent('body')) ?? '';
  return { page, errors, wide, text, answers: await page.$$eval('#answer li', (ls) => ls.map((l) => l.textContent ?? '')), verdict: (await page.textContent('#verdict-text')) ?? '' };
}

/** summary.md through a GitHub-flavoured Markdown renderer: every image and link it makes must resolve in its folder. */
function checkSummary(dir: string): string {
  const md = readFileSync(join(dir, 'summary.md'), 'utf8');
  const html = marked.parse(md, { gfm: true, async: false }) as string;
  const targets = [...html.matchAll(/<(img)[^>]*\ssrc="([^"]*)"|<(a)[^>]*\shref="([^"]*)"/g)].map((m) => m[2] ?? m[4]!);
  for (const t of targets) assert.ok(!/^[a-z]+:/i.test(t) && existsSync(join(dir, decodeURIComponent(t))), `summary.md: broken image or link ${t}`);
  assert.match(html, /<table>/, 'the headline table renders as a GFM table');
  return html;
}

test('three reports (one variant, three variants, a failing gate) read true in Chromium at 1400 and 390 px', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip('no /usr/bin/chromium: run bash scripts/setup.sh --test (installs Debian\'s chromium)');
    return;
  }
  const dir = tmp('tunbench-reports');
  const save = (name: string, r: Result) => { mkdirSync(join(dir, name)); return writeResult(join(dir, name), r); };
  const single = save('single', fixtureResult({ variants: ['ring'], trials: 6 }));
  const multi = save('multi', fixtureResult({ variants: ['ring', 'slow', 'slower'], trials: 8 }));
  const a = fixtureResult({ variants: ['ring'], trials: 8, seed: 5 });
  const b = regressed(fixtureResult({ variants: ['ring'], trials: 8, seed: 11 }), 0.7);
  b.id = 'fixture-candidate';
  const A = save('a', a);
  const B = save('b', b);
  const runs = {
    single: await cli(['report', single, '--out', join(dir, 'single-report')]),
    multi: await cli(['report', multi, '--out', join(dir, 'multi-report')]),
    gate: await cli(['gate', '--baseline', A, '--candidate', B, '--out', join(dir, 'gate-report')]),
  };
  assert.equal(runs.single.exitCode, 0, runs.single.all);
  assert.equal(runs.multi.exitCode, 0, runs.multi.all);
  assert.equal(runs.gate.exitCode, 1, `the gate fails on a 30% drop: ${runs.gate.all}`);
  assert.match(runs.gate.all ?? '', /rx_pps -\d\d\.\d% \(worse\)/);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    for (const [name, width] of [['single', 1400], ['single', 390], ['multi', 1400], ['multi', 390], ['gate', 1400], ['gate', 390]] as const) {
      const where = `${name} at ${width} px`;
      const r = await openReport(browser, join(dir, `${name}-report`, 'report.html'), width);
      assert.deepEqual(r.errors, [], `${where}: console errors`);
      assert.deepEqual(r.wide.out, [], `${where}: wider than the viewport outside a scrolling box`);
      assert.ok(r.wide.pageWidth <= r.wide.vw, `${where}: the page scrolls sideways (${r.wide.pageWidth} > ${r.wide.vw})`);
      // No method word the tool does not use.
      assert.doesNotMatch(r.text, /bootstrap|t-test|Welch/i, where);
      assert.match(r.text, /\d+ of \d+ cross-checks exact/, where);
      if (name === 'single') {
        assert.equal(r.answers.length, 1, where);
        // The fixture: 1.2 Mpps x 1.01 offered, 0.999 of it delivered, 1% dropped at tun, queue 5% full on average, 50% at p99.
        assert.match(r.answers[0]!, /^ring \(6 trials\): offered 1\.2\d Mpps -> delivered 1\.\d+ Mpps; 1% dropped at tun_net_xmit \(ring full\); queue 5% full on average, 50% at p99; 15,000 lock contentions\/s; probes 1% of a CPU\.$/, where);
        assert.match(r.verdict, /One variant, 6 measured trials/, where);
      }
      if (name === 'multi') {
        assert.equal(r.answers.length, 5, `${where}: three variants and two comparisons: ${r.answers.join(' | ')}`);
        // slow is 10% and slower 20% below ring in the fixture: both called slower, paired by round.
        assert.match(r.answers.find((x) => x.startsWith('slow delivered'))!, /^slow delivered 0\.(89|9\d)x ring \[.*paired by round.*: slower\./, where);
        assert.match(r.answers.find((x) => x.startsWith('slower delivered'))!, /^slower delivered 0\.(79|8\d)x ring .*: slower\./, where);
        assert.match(r.verdict, /Regressed: .*rx_pps of slow/, where);
      }
      if (name === 'gate') {
        assert.match(r.verdict, /^Gate: REGRESSION/, where);
        assert.match(r.verdict, /rx_pps -(29|30|31)\.\d% \(worse\)/, where);
        assert.doesNotMatch(r.verdict, /in the better direction/, where);
        assert.match(r.answers.find((x) => x.startsWith('B:ring delivered'))!, /^B:ring delivered 0\.(69|70|71)x A:ring .*unpaired: separate runs.*: slower\./, where);
      }
      if (width === 1400) {
        t.diagnostic(`${name}: ${r.answers.join(' | ')}`);
        mkdirSync('test-artifacts', { recursive: true });
        await r.page.screenshot({ path: `test-artifacts/report-${name}.png` });
      }
      await r.page.close();
    }
  } finally {
    await browser.close();
  }
  for (const name of ['single', 'multi', 'gate']) checkSummary(join(dir, `${name}-report`));
});
