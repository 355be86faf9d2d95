import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadImage, createCanvas } from 'canvas';
import { analyzeRun } from '../../src/analysis/analyze.ts';
import { gaugePoints, ratePoints, tickTimesMs } from '../../src/analysis/chart-series.ts';
import type { Analysis } from '../../src/analysis/types.ts';
import { renderHtml, scriptJson } from '../../src/report/html.ts';
import { renderMarkdown } from '../../src/report/markdown.ts';
import { readSaved } from '../../src/result/read.ts';
import { SAVED } from '../../src/result/schema.ts';
import { writeRunAnalysis } from '../../src/result/store.ts';
import { buildReportModel } from '../../src/report/model.ts';
import { writeReport } from '../../src/report/write.ts';
import { fixtureResult } from '../helpers/result-fixture.ts';

const fixtureReport = (o = {}) => {
  const result = fixtureResult(o);
  return { result, model: buildReportModel({ analysis: analyzeRun(result), results: [result] }) };
};

test('report.html is one self-contained file: no external URL in src, href or CSS imports', () => {
  const html = renderHtml(fixtureReport().model);
  assert.doesNotMatch(html, /\s(src|href)\s*=\s*["']?(https?:)?\/\//i);
  assert.doesNotMatch(html, /@import/);
  assert.match(html, /<script>[\s\S]*Chart/, 'Chart.js inlined');
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/, 'the page may not fetch anything');
});

test('sections come in the required order', () => {
  const html = renderHtml(fixtureReport({ full: true }).model);
  const order = ['id="verdict"', 'id="headline"', 'id="charts"', 'chart-pps-per-trial', 'chart-occupancy-histogram', 'chart-occupancy-time', 'chart-latency', 'chart-drops-time', 'chart-lock-contention', 'id="cross-check"', 'id="warnings"', 'id="environment"', 'id="profile"', 'id="reproduce"'];
  const pos = order.map((s) => html.indexOf(s));
  pos.forEach((p, i) => assert.ok(p >= 0, `${order[i]} missing`));
  for (let i = 1; i < pos.length; i++) assert.ok(pos[i]! > pos[i - 1]!, `${order[i]} out of order`);
  assert.ok(!renderHtml(fixtureReport().model).includes('chart-latency'), 'latency chart only at the full level');
});

test('a hostile variant name cannot break out of the page', () => {
  // Profiles refuse such names, but a result.json from elsewhere may carry anything.
  const evil = '</script><script>alert(1)</script><!--';
  const result = fixtureResult({ variants: ['base', 'x'] });
  result.variants[1]!.name = evil;
  for (const t of result.variants[1]!.trials) t.variant = evil;
  const html = renderHtml(buildReportModel({ analysis: analyzeRun(result), results: [result] }));
  assert.ok(!html.includes(evil));
  assert.equal(html.split('</script>').length - 1, 3, 'only the three script elements of the page end a script');
  assert.equal(JSON.parse(scriptJson({ a: evil })).a, evil);
});

test('the headline names a regression and the verdict says so', () => {
  const { model } = fixtureReport();
  assert.equal(model.verdict.level, 'fail');
  assert.match(model.verdict.text, /Regressed: .*rx_pps of slow/);
  const slow = model.headline.rows.find((r) => r.variant === 'slow')!;
  assert.equal(slow.cells[model.headline.metrics.indexOf('rx_pps')]!.verdict, 'regressed');
  // The cell says the metric's own change and "worse", never a bare ratio beside the medians.
  assert.match(slow.cells[model.headline.metrics.indexOf('rx_pps')]!.change, /^-\d+\.\d% \(worse\): regressed \(95% CI .*\[Hodges-Lehmann ratio/);
  // The answer first: one line per variant, one per comparison, true to the fixture (slow is 10% slower).
  assert.match(model.answers[0]!, /^ring \(5 trials\): offered 1\.2\d Mpps -> delivered 1\.\d+ Mpps; 1% dropped at tun_net_xmit/);
  const cmpLine = model.answers.find((a) => a.startsWith('slow delivered'))!;
  assert.match(cmpLine, /^slow delivered 0\.9\dx ring \[0\.\d+, 0\.\d+\] .*: slower\. Why: /);
  // Quiet table: no column that is empty on every row; human headers; n said once per row.
  assert.ok(!model.headline.metrics.includes('goodput_bps'), 'goodput is empty for a flood: its column is left out');
  assert.ok(model.headline.rows.every((r) => r.cells.every((c) => !/too few trials for a/.test(c.ci))));
  const html = renderHtml(model);
  assert.match(html, /<meta name="viewport"/);
  assert.match(html, /<th scope="col"[^>]*>delivered \(Mpps\)<\/th>/);
  assert.match(html, /<h2 class="verdict/);
});

test('latency percentiles and the latency chart are shown as power-of-two bucket ranges', async () => {
  const { model } = fixtureReport({ full: true });
  const ring = model.headline.rows[0]!;
  assert.equal(ring.cells[model.headline.metrics.indexOf('latency_p50_ns')]!.text, '4.1 us .. 8.19 us');
  assert.equal(ring.cells[model.headline.metrics.indexOf('latency_p99_ns')]!.text, '32.8 us .. 65.5 us');
  const chart = model.charts.find((c) => c.id === 'latency')!;
  assert.ok(chart.config, 'the latency chart is drawn at the full level');
  assert.ok((chart.config!.data.labels as string[]).every((l) => / \.\. /.test(l)), String(chart.config!.data.labels));
});

test('the reproduce line is the whole command: profile, flags, seed, tunbench version', async () => {
  const { reproduceLine } = await import('../../src/report/model.ts');
  const r = fixtureResult();
  r.command = ['npm', 'run', 'bench', '--', '--profile', 'profiles/quick.yaml', '--repetitions', '7', '--out', '/tmp/x', '--progress', 'quiet', '--no-report'];
  r.profileSource = 'profiles/quick.yaml';
  assert.match(reproduceLine(r), /^npx tunbench bench --profile profiles\/quick\.yaml --repetitions 7 --seed \d+ {3}# tunbench 0\.1\.0/);
  r.tool.commit = '0123456789ab+dirty';
  assert.match(reproduceLine(r), /# tunbench 0\.1\.0 \(commit 0123456789ab\+dirty\)/);
});

test('the title names the profile, the kernel(s), the host and when', async () => {
  const { runTitle } = await import('../../src/report/model.ts');
  const r = fixtureResult();
  assert.equal(runTitle(r), `${r.profile.name} on 6.1.0-fixture (fixture), 2026-11-25 00:00 UTC`);
  assert.equal(buildReportModel({ analysis: analyzeRun(r), results: [r] }).title, `tunbench: ${runTitle(r)}`);
  // Variants on two kernels (a --kernel run): each VM's name and release.
  r.environment.target = 'vm';
  r.variants = r.variants.slice(0, 1).flatMap((v) => [
    { ...v, name: `stock:${v.name}`, environment: { vmName: 'stock', kernel: { ...r.environment.kernel, release: '6.1.0' } } },
    { ...v, name: `bp:${v.name}`, environment: { vmName: 'bp', kernel: { ...r.environment.kernel, release: '6.1.0-bp' } } },
  ]) as typeof r.variants;
  assert.equal(runTitle(r), `${r.profile.name} on stock 6.1.0, bp 6.1.0-bp (fixture), 2026-11-25 00:00 UTC`);
});

test('every PNG decodes and is not blank; summary.md links only files that exist', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunbench-report-'));
  const result = fixtureResult({ full: true });
  const paths = await writeReport({ analysis: analyzeRun(result), results: [result] }, dir);
  assert.equal(paths.pngs.length, 6);
  for (const p of paths.pngs) {
    const buf = readFileSync(p);
    assert.equal(buf.subarray(1, 4).toString(), 'PNG');
    const img = await loadImage(buf);
    assert.equal(img.width, 900);
    const c = createCanvas(img.width, img.height);
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, img.width, img.height).data;
    const colours = new Set<number>();
    for (let i = 0; i < data.length && colours.size < 10; i += 4 * 97) colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
    assert.ok(colours.size > 2, `${p} looks blank`);
  }
  const md = readFileSync(paths.markdown, 'utf8');
  // A GitHub step summary shows no relative image or link: none are used; the files are named in words.
  assert.equal([...md.matchAll(/\]\(([^)]+)\)/g)].length, 0, 'summary.md has no image or link that a step summary would break');
  const named = [...md.matchAll(/`(chart-[^`]+\.png)` in the report folder/g)].map((m) => m[1]!);
  assert.equal(named.length, 6);
  for (const f of named) assert.ok(existsSync(join(dir, f)), `summary.md names a missing file: ${f}`);
  assert.match(md, /report\.html in the same folder/);
  assert.doesNotMatch(md, /bootstrap/, 'no method word the tool does not use');
});

test('time series are averaged down to at most 300 points, on the ticks\' own times', () => {
  const t = Array.from({ length: 1000 }, (_, i) => i * 10);
  const d = gaugePoints(Array.from({ length: 1000 }, (_, i) => i), t);
  assert.equal(d.length, 250, 'groups of ceil(1000 / 300) = 4');
  assert.deepEqual(d[0], { x: 0.015, y: 1.5 }, 'mean of 0, 1, 2, 3 at the mean of 0, 10, 20, 30 ms');
  assert.deepEqual(gaugePoints([1, 2, 3], [0, 10, 20]), [{ x: 0, y: 1 }, { x: 0.01, y: 2 }, { x: 0.02, y: 3 }]);
});

test('late ticks: the time axis ends where the window did and a merged interval is no burst', () => {
  // A 10 ms sampler whose ticks came late (a busy machine): at 0, 10, 20, 80 (60 ms late), 90 ms.
  // 1,000 drops per 10 ms throughout, so 6,000 in the 20..80 interval.
  const tMs = [0, 10, 20, 80, 90];
  const drops = [1000, 1000, 6000, 1000];
  const r = ratePoints(drops, tMs);
  assert.deepEqual(r.map((p) => p.x), [0.01, 0.02, 0.08, 0.09], 'x at each interval\'s end, on the ticks\' times');
  assert.deepEqual(r.map((p) => p.y), [100_000, 100_000, 100_000, 100_000], 'a steady 100,000 drops/s, the merged interval included');
  // Occupancy samples sit at their own times: the last at 0.09 s, not at 4 x 10 ms = 0.04 s.
  assert.equal(gaugePoints([1, 2, 3, 4, 5], tMs).at(-1)!.x, 0.09);
  // Grouped: a group's count over the group's own span.
  const many = ratePoints(Array(900).fill(10), Array.from({ length: 901 }, (_, i) => i * 10 + (i > 450 ? 100 : 0)));
  assert.equal(many.length, 300);
  assert.ok(many.every((p) => p.y <= 1000 + 1e-9), 'no group above the true 1,000/s');
  // Results that kept no tick times: the nominal interval.
  const p = { occupancySeries: { intervalMs: 10, values: [0, 0, 0] } } as unknown as Parameters<typeof tickTimesMs>[0];
  assert.deepEqual(tickTimesMs(p), [0, 10, 20]);
  assert.deepEqual(tickTimesMs({ ...p, occupancySeries: { intervalMs: 10, values: [0, 0, 0], tMs: [0, 13, 41] } }), [0, 13, 41]);
});

test('a failed trial is listed in the report with its reason', () => {
  const result = fixtureResult();
  const t = result.variants[1]!.trials[2]!;
  Object.assign(t, { status: 'failed', error: 'the generator exited during the window' });
  result.status = 'incomplete';
  const html = renderHtml(buildReportModel({ analysis: analyzeRun(result), results: [result] }));
  // Named by its number as the run numbered it ([N/total] in the progress lines): index + 1.
  assert.match(html, new RegExp(`trial ${t.index + 1} \\(slow, repetition 3\\) FAILED: the generator exited during the window`));
});

test('the report renders its Analysis and computes nothing: analysis.json read back gives the same page and summary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunbench-analysis-'));
  for (const result of [fixtureResult({ full: true }), fixtureResult({ variants: ['a', 'b', 'c'], trials: 8 })]) {
    const analysis = analyzeRun(result);
    writeRunAnalysis(dir, analysis);
    const back = readSaved<Analysis>(SAVED.analysis, dir).data;
    const page = (a: Analysis) => renderHtml(buildReportModel({ analysis: a, results: [result] }));
    const md = (a: Analysis) => renderMarkdown(buildReportModel({ analysis: a, results: [result] }), new Map());
    assert.equal(page(back), page(analysis));
    assert.equal(md(back), md(analysis));
  }
});

test('the answer line tells tun\'s full-ring drops from the core\'s at a stopped queue where the run told them apart', () => {
  // noqueue on a backpressure kernel: tx_dropped (drop_ratio) holds both kinds.
  const result = fixtureResult({ variants: ['bp'] });
  for (const t of result.variants[0]!.trials) Object.assign(t.metrics, { offered_pps: 1e6, drop_ratio: 0.3, tun_drop_pps: 50_000, stopped_queue_drop_pps: 250_000 });
  const line = buildReportModel({ analysis: analyzeRun(result), results: [result] }).answers[0]!;
  assert.match(line, /; 5% dropped at tun_net_xmit \(ring full\), 25% dropped by the core at the stopped queue/);
  assert.doesNotMatch(line, /30% dropped at tun_net_xmit/);
  // None at a stopped queue (stock tun): tx_dropped is all tun's.
  for (const t of result.variants[0]!.trials) Object.assign(t.metrics, { tun_drop_pps: 300_000, stopped_queue_drop_pps: 0 });
  assert.match(buildReportModel({ analysis: analyzeRun(result), results: [result] }).answers[0]!, /; 30% dropped at tun_net_xmit \(ring full\)/);
});
