// Issue 24, items 5 and 6 (the palette and grouping are in charts.test.ts): the rates at the run's
// trial numbers, a sentence in the page instead of an empty chart, the cross-checks in one line, one outlier line per variant, the starved flag, one trial numbering.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeRun } from '../../src/analysis/analyze.ts';
import { crossCheckLine, outlierLine, STARVED_BELOW, starvedSides, starvedWords } from '../../src/analysis/noise.ts';
import { summarize, trialNumber } from '../../src/analysis/summary.ts';
import { buildCharts } from '../../src/report/charts.ts';
import { renderHtml } from '../../src/report/html.ts';
import { buildReportModel } from '../../src/report/model.ts';
import type { CrossCheck } from '../../src/types.ts';
import { fixtureResult } from '../helpers/result-fixture.ts';

test('the rate chart draws offered, accepted and delivered in their own colours, at the run\'s trial numbers', () => {
  const r = fixtureResult({ variants: ['ring'], trials: 3 });
  const a = analyzeRun(r);
  const pps = buildCharts(a.charts).find((c) => c.id === 'pps-per-trial')!;
  const ds = (pps.config!.data.datasets as unknown) as { label: string; borderColor: string; borderDash?: number[]; showLine?: boolean; data: { x: number }[] }[];
  assert.deepEqual(ds.map((d) => d.label), ['offered', 'accepted (xmit)', 'delivered (rx)']);
  assert.equal(new Set(ds.map((d) => d.borderColor)).size, 3);
  assert.ok(ds[0]!.showLine && ds[0]!.borderDash!.length > 0, 'offered is a dashed line');
  assert.deepEqual(ds[2]!.data.map((p) => p.x), r.variants[0]!.trials.map(trialNumber));
  // Two variants interleaved: trials 1, 3, 5 and 2, 4, 6 (index + 1), as the progress lines said.
  const two = analyzeRun(fixtureResult({ trials: 3 }));
  assert.deepEqual(two.charts.ppsPerTrial.map((v) => v.rx.map((p) => p.x)), [[1, 3, 5], [2, 4, 6]]);
});

test('a sentence instead of an empty chart: lock contention not measured, or zero; no drops', () => {
  const r = fixtureResult({ variants: ['ring'] });
  for (const t of r.variants[0]!.trials) {
    Object.assign(t.metrics, { lock_contention_count: null, lock_contention_xmit: null, lock_contention_read: null });
    t.readings!.probe!.series.drops = t.readings!.probe!.series.drops.map(() => 0);
  }
  const charts = buildCharts(analyzeRun(r).charts);
  const lock = charts.find((c) => c.id === 'lock-contention')!;
  assert.equal(lock.config, null);
  assert.match(lock.caption, /not measured: .*probes\.locks: true/);
  const drops = charts.find((c) => c.id === 'drops-time')!;
  assert.equal(drops.config, null);
  assert.match(drops.caption, /No drops at tun_net_xmit/);
  const html = renderHtml(buildReportModel({ analysis: analyzeRun(r), results: [r] }));
  assert.match(html, /<figure class="no-chart" id="chart-lock-contention"><p><b>Lock contention by side\.<\/b> Lock contention was not measured/);
  assert.doesNotMatch(html, /<canvas id="chart-lock-contention"/);
  // Measured and zero: said so.
  for (const t of r.variants[0]!.trials) Object.assign(t.metrics, { lock_contention_count: 0, lock_contention_xmit: 0, lock_contention_read: 0 });
  assert.match(buildCharts(analyzeRun(r).charts).find((c) => c.id === 'lock-contention')!.caption, /^No lock contention/);
});

test('cross-checks in one line: exact, within tolerance, disagreeing', () => {
  const ck = (relativeDifference: number, ok: boolean): { check: CrossCheck } => ({ check: { name: 'x', probe: 1, counter: 1, relativeDifference, tolerance: 0.01, ok } });
  assert.equal(crossCheckLine(Array.from({ length: 144 }, () => ck(0, true))), '144 of 144 cross-checks exact.');
  assert.equal(crossCheckLine([ck(0, true), ck(0.001, true), ck(0.2, false)]), '1 of 3 cross-checks exact, 1 within tolerance, 1 DISAGREE beyond tolerance.');
  assert.match(crossCheckLine([]), /no probes were attached/);
  // In the page: the line, the table folded; a failing check listed unfolded.
  const r = fixtureResult();
  const bad = r.variants[1]!.trials[0]!;
  bad.crossCheck = [{ ...bad.crossCheck[0]!, probe: 10, relativeDifference: 0.5, ok: false }];
  const html = renderHtml(buildReportModel({ analysis: analyzeRun(r), results: [r] }));
  assert.match(html, /<p id="cross-check-line"><b>9 of 10 cross-checks exact, 1 DISAGREE beyond tolerance\.<\/b><\/p><div class="scroll"><table id="cross-check-failing">.*<td>slow<\/td><td>2<\/td>/s);
  assert.match(html, /<details><summary>All 10 cross-checks/);
});

test('one outlier line per variant, naming trials by the run\'s numbers and the metrics they stand out in', () => {
  const r = fixtureResult({ variants: ['ring'], trials: 8 });
  const t = r.variants[0]!.trials[5]!;
  t.metrics.rx_pps = 1; // far off
  t.metrics.xmit_pps = 1;
  const sv = summarize(r).variants[0]!;
  const line = outlierLine('ring', r.variants[0]!, sv)!;
  assert.match(line, new RegExp(`^outliers in ring: 1 of 8 trials lie beyond 3 MADs from the median \\(trial ${trialNumber(t)} in xmit_pps, .*rx_pps`));
  const warnings = analyzeRun(r).warnings.filter((w) => /beyond 3 MADs/.test(w));
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.ok(!analyzeRun(r).warnings.some((w) => /pktgen/.test(w)), 'no pktgen word on a trafgen profile');
});

test('starved of CPU: a pinned unthrottled generator below 80% of its CPU is flagged, in the answer line and the headline', () => {
  const r = fixtureResult({ variants: ['ring'], trials: 5 });
  const pcts = [99, 44, 97, 79, 98];
  r.variants[0]!.trials.forEach((t, i) => { t.metrics.cpu_generator_pct = pcts[i]!; t.metrics.cpu_consumer_pct = 95; });
  const s = starvedSides(r.variants[0]!);
  assert.equal(s.length, 1);
  assert.deepEqual({ side: s[0]!.side, trials: s[0]!.trials, min: s[0]!.minPct, max: s[0]!.maxPct }, { side: 'generator', trials: [2, 4].map((k) => trialNumber(r.variants[0]!.trials[k - 1]!)), min: 44, max: 79 });
  assert.match(starvedWords(s[0]!), /^starved of CPU: the generator got 44-79% of a CPU in 2 of 5 trials \(trials \d+, \d+\) while pinned, on an unthrottled flood, below the 80% it should have: the machine was busy$/);
  const model = buildReportModel({ analysis: analyzeRun(r), results: [r] });
  assert.match(model.answers[0]!, /generator \d+% of a CPU; reader 95% of a CPU; Starved of CPU: the generator got 44-79%/);
  assert.match(model.verdict.text, /Starved of CPU \(the machine was busy\): ring \(generator\)/);
  assert.deepEqual(model.headline.rows[0]!.starved.length, 1);
  // Not a flood (a rate set): the generator is meant to idle; nothing flagged.
  (r.variants[0]!.workload.generator as { rate: number }).rate = 100_000;
  assert.deepEqual(starvedSides(r.variants[0]!), []);
  // The reader: only when its queue overflowed (it always had work) and it was pinned.
  r.variants[0]!.trials.forEach((t) => { t.metrics.cpu_consumer_pct = 50; t.metrics.drop_ratio = 0.3; });
  assert.deepEqual(starvedSides(r.variants[0]!).map((x) => x.side), ['consumer']);
  r.variants[0]!.trials.forEach((t) => { t.metrics.drop_ratio = 0; });
  assert.deepEqual(starvedSides(r.variants[0]!), [], 'a reader with nothing queued may idle');
  assert.equal(STARVED_BELOW, 0.8);
});
