// Chart colours and grouping (issue 24 item 5): the Okabe-Ito palette, the three rates told apart,
// A/B sides of a comparison in their own hue families, occupancy one chart per ring capacity,
// and a sentence where a chart would be empty.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { byCapacity, chartSeries, type LabelledVariant } from '../../src/analysis/chart-series.ts';
import { buildCharts } from '../../src/report/charts.ts';
import { OKABE_ITO, RATE_STYLE, variantColours, withAlpha } from '../../src/report/palette.ts';
import { fixtureResult } from '../helpers/result-fixture.ts';

const okabeIto = new Set<string>(Object.values(OKABE_ITO));
const hue = (hex: string): number => {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255) as [number, number, number];
  const max = Math.max(r, g, b), min = Math.min(r, g, b), d = max - min;
  if (d === 0) return -1;
  const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return (h * 60 + 360) % 360;
};

function labelled(names: string[], capacities: number[]): LabelledVariant[] {
  const r = fixtureResult({ variants: names, trials: 3, points: 50 });
  return r.variants.map((variant, i) => ({ label: variant.name, variant, capacity: capacities[i]! }));
}

test('offered, accepted and delivered each have their own Okabe-Ito colour and mark', () => {
  const styles = [RATE_STYLE.offered, RATE_STYLE.xmit, RATE_STYLE.rx];
  assert.equal(new Set(styles.map((s) => s.colour)).size, 3);
  assert.equal(new Set(styles.map((s) => s.pointStyle)).size, 3);
  for (const s of styles) assert.ok(okabeIto.has(s.colour), s.colour);
  assert.ok(RATE_STYLE.offered.dash.length > 0, 'offered is a dashed line');
  assert.equal(withAlpha('#0072B2', 0.5), '#0072B280');
});

test('variants of one run get distinct palette colours; A/B sides get one hue family each', () => {
  const run = variantColours(['ring', 'skq', 'ring-small', 'x']);
  assert.equal(new Set(run.values()).size, 4);
  for (const c of run.values()) assert.ok(okabeIto.has(c) && c !== OKABE_ITO.yellow, c);
  const ab = variantColours(['A:ring', 'A:skq', 'B:ring', 'B:skq']);
  const isBlue = (c: string) => hue(c) >= 180 && hue(c) <= 230;
  const isOrange = (c: string) => hue(c) >= 15 && hue(c) <= 50;
  for (const l of ['A:ring', 'A:skq']) assert.ok(isBlue(ab.get(l)!), `${l} ${ab.get(l)} is a blue`);
  for (const l of ['B:ring', 'B:skq']) assert.ok(isOrange(ab.get(l)!), `${l} ${ab.get(l)} is an orange`);
  assert.notEqual(ab.get('A:ring'), ab.get('A:skq'));
  assert.notEqual(ab.get('B:ring'), ab.get('B:skq'));
  // The same name keeps its shade index on both sides (first shade of each family).
  assert.equal(ab.get('A:ring'), OKABE_ITO.blue);
  assert.equal(ab.get('B:ring'), OKABE_ITO.vermillion);
  // Never red beside green: no green in a comparison.
  for (const c of ab.values()) assert.ok(!(hue(c) > 90 && hue(c) < 170), c);
});

test('occupancy histograms are grouped by ring capacity, one chart each, ascending', () => {
  const vs = labelled(['big', 'small', 'big2'], [4096, 256, 4096]);
  const groups = byCapacity(vs);
  assert.deepEqual(groups.map((g) => g.map((lv) => lv.label)), [['small'], ['big', 'big2']]);
  const s = chartSeries(vs);
  assert.deepEqual(s.occupancyByCapacity!.map((g) => [g.capacity, g.variants.map((v) => v.label)]), [[256, ['small']], [4096, ['big', 'big2']]]);
  const charts = buildCharts(s).filter((c) => c.id.startsWith('occupancy-histogram'));
  assert.deepEqual(charts.map((c) => c.id), ['occupancy-histogram-256', 'occupancy-histogram-4096']);
  assert.match(charts[0]!.title, /capacity 256 packets/);
  // Only the group's own variants are in its legend (no empty entries).
  assert.deepEqual((charts[1]!.config!.data.datasets as { label: string }[]).map((d) => d.label), ['big', 'big2']);
  // One capacity: one chart with the plain id.
  assert.deepEqual(buildCharts(chartSeries(labelled(['a', 'b'], [1000, 1000]))).filter((c) => c.id.startsWith('occupancy-histogram')).map((c) => c.id), ['occupancy-histogram']);
});

test('the pps chart draws offered as a dashed line, xmit and rx in their own colours, at the run\'s trial numbers', () => {
  const vs = labelled(['ring'], [1000]);
  const chart = buildCharts(chartSeries(vs)).find((c) => c.id === 'pps-per-trial')!;
  const ds = chart.config!.data.datasets as { label: string; borderColor: string; borderDash?: number[]; showLine?: boolean; data: { x: number }[] }[];
  assert.deepEqual(ds.map((d) => d.label), ['offered', 'accepted (xmit)', 'delivered (rx)']);
  assert.deepEqual(ds.map((d) => d.borderColor), [RATE_STYLE.offered.colour, RATE_STYLE.xmit.colour, RATE_STYLE.rx.colour]);
  assert.ok(ds[0]!.showLine && ds[0]!.borderDash!.length > 0);
  assert.deepEqual(ds[1]!.data.map((p) => p.x), vs[0]!.variant.trials.map((t) => t.index + 1));
});

test('a sentence instead of an empty chart: lock contention not measured, no drops', () => {
  const vs = labelled(['ring', 'slow'], [1000, 1000]);
  for (const lv of vs) for (const t of lv.variant.trials) {
    t.metrics.lock_contention_count = null; t.metrics.lock_contention_xmit = null; t.metrics.lock_contention_read = null;
    t.readings!.probe!.series.drops = t.readings!.probe!.series.drops.map(() => 0);
  }
  const charts = buildCharts(chartSeries(vs));
  const lock = charts.find((c) => c.id === 'lock-contention')!;
  assert.equal(lock.config, null);
  assert.match(lock.caption, /^Lock contention was not measured/);
  const drops = charts.find((c) => c.id === 'drops-time')!;
  assert.equal(drops.config, null);
  assert.match(drops.caption, /^No drops at tun_net_xmit/);
  // Measured and zero: says so, no empty 0-1 axis.
  for (const lv of vs) for (const t of lv.variant.trials) { t.metrics.lock_contention_count = 0; t.metrics.lock_contention_xmit = 0; t.metrics.lock_contention_read = 0; }
  const zero = buildCharts(chartSeries(vs)).find((c) => c.id === 'lock-contention')!;
  assert.equal(zero.config, null);
  assert.match(zero.caption, /^No lock contention/);
  // Probes off everywhere: the occupancy and time charts are sentences too.
  for (const lv of vs) for (const t of lv.variant.trials) t.readings!.probe = null;
  const off = buildCharts(chartSeries(vs));
  for (const id of ['occupancy-histogram', 'occupancy-time', 'drops-time']) {
    const c = off.find((x) => x.id === id)!;
    assert.equal(c.config, null, id);
    assert.ok(c.caption.length > 20, id);
  }
});

test('drops over time at counters (no drop series kept) are "not sampled", never "no drops"', () => {
  // As a real counters trial: the sampler keeps no drops per tick, while tx_dropped counted 17%.
  const vs = labelled(['counters', 'full'], [1000, 1000]);
  for (const t of vs[0]!.variant.trials) t.readings!.probe!.series.drops = [];
  const mixed = buildCharts(chartSeries(vs)).find((c) => c.id === 'drops-time')!;
  assert.ok(mixed.config, 'the variant with a drop series is drawn');
  assert.deepEqual((mixed.config!.data.datasets as { label: string }[]).map((d) => d.label), ['full']);
  assert.match(mixed.caption, /Not sampled in counters: .*full probe level.*tx_dropped/);
  for (const t of vs[1]!.variant.trials) t.readings!.probe!.series.drops = [];
  const none = buildCharts(chartSeries(vs)).find((c) => c.id === 'drops-time')!;
  assert.equal(none.config, null);
  assert.match(none.caption, /^Not sampled in any variant \(counters, full\): drops per tick come from the full probe level/);
  assert.doesNotMatch(none.caption, /never refused/);
  // Sampled and zero in one variant, not sampled in the other: both said.
  vs[1]!.variant.trials.forEach((t) => { t.readings!.probe!.series.drops = t.readings!.probe!.series.xmit.map(() => 0); });
  const zero = buildCharts(chartSeries(vs)).find((c) => c.id === 'drops-time')!;
  assert.equal(zero.config, null);
  assert.match(zero.caption, /^No drops at tun_net_xmit in the first measured trial of any variant whose drops were sampled: .* Not sampled in counters:/);
});
