// report.html: one self-contained file. Chart.js is inlined from node_modules and the chart
// specs are embedded as JSON; nothing is fetched, so the page opens offline from file://.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { METRICS } from '../metrics.ts';
import { kpps, metricLabel, SENT_LOST_NOTE, type ReportModel } from './model.ts';

const require = createRequire(import.meta.url);

export function chartJsSource(): string {
  // chart.js does not export its UMD file: find it beside the package's main file.
  return readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.js'), 'utf8');
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** JSON safe inside a <script> element: no '</script', no '<!--', no U+2028/2029 surprises. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** A script body must not contain '</script' (case-insensitive) or '<!--'. */
function safeScript(js: string): string {
  return js.replace(/<\/script/gi, '<\\/script').replace(/<!--/g, '<\\!--');
}

/** The reports' style sheet (report.html, series.html). */
export const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1b1b;margin:24px auto;max-width:1180px;padding:0 16px}
h1{font-size:22px;margin:0 0 8px}.scroll{overflow-x:auto;max-width:100%}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.verdict{padding:12px 16px;border-radius:6px;font-size:15px;margin:12px 0}
.verdict.pass{background:#e6f4ea;border:1px solid #34a853}.verdict.fail{background:#fce8e6;border:1px solid #d93025}
.verdict.info{background:#e8f0fe;border:1px solid #4285f4}.verdict.unknown{background:#fef7e0;border:1px solid #f9ab00}
table{border-collapse:collapse;width:100%;margin:6px 0;font-size:13px;table-layout:auto;word-break:normal;overflow-wrap:break-word}th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.num{white-space:nowrap}.chg{display:block;font-size:11px;color:#555}.probe-cost{font-weight:normal;max-width:22em}.probe-cost.warn{color:#a00;font-weight:bold}
.improved{background:#e6f4ea}.regressed{background:#fce8e6}.insufficient{background:#fef7e0}.fail{background:#fce8e6;font-weight:bold}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(540px,100%),1fr));gap:16px}canvas{max-width:100%;height:auto}figure.no-chart p{margin:0}
figure{margin:0;border:1px solid #eee;padding:8px;border-radius:4px}figcaption{font-size:12px;color:#555;margin-top:4px}
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px}ul.warnings li{margin:2px 0}
@media print{.charts{display:block}figure{break-inside:avoid}}
`;

export function renderHtml(model: ReportModel): string {
  const e = escapeHtml;
  const head = model.headline.metrics.map((m) => `<th scope="col" title="${e(m)}: ${e(METRICS[m].definition)}">${e(metricLabel(m))}</th>`).join('');
  const rows = model.headline.rows.map((r) => `<tr><th scope="row">${e(r.variant)}${r.baseline ? ' (baseline)' : ''}<span class="chg">${r.trials} trials</span><span class="chg probe-cost${r.probeCost.warn ? ' warn' : ''}">${e(r.probeCost.text)}</span>${r.starved.map((w) => `<span class="chg probe-cost warn">${e(w)}</span>`).join('')}</th>${r.cells.map((c) => `<td class="${e(c.verdict)}"><b>${e(c.text)}</b>${c.ci ? `<span class="chg">${e(c.ci)}</span>` : ''}${c.change ? `<span class="chg">${e(c.change)}</span>` : ''}</td>`).join('')}</tr>`).join('\n');
  const figures = model.charts.map((c) => (c.config
    ? `<figure><canvas id="chart-${e(c.id)}" width="540" height="320" role="img" aria-label="${e(`${c.title}: ${c.caption}`)}"></canvas><figcaption><b>${e(c.title)}.</b> ${e(c.caption)}</figcaption></figure>`
    : `<figure class="no-chart" id="chart-${e(c.id)}"><p><b>${e(c.title)}.</b> ${e(c.caption)}</p></figure>`)).join('\n');
  const crossRow = (x: ReportModel['crossChecks'][number]) => `<tr class="${x.check.ok ? '' : 'fail'}"><td>${e(x.variant)}</td><td>${x.trial}</td><td>${e(x.check.name)}</td><td class="num">${x.check.probe}</td><td class="num">${x.check.counter}</td><td class="num">${(x.check.relativeDifference * 100).toFixed(3)}%</td><td class="num">${x.check.allowedShortBy ? `exact; probe may be ${x.check.allowedShortBy} short (a read in flight at attach)` : `${(x.check.tolerance * 100).toFixed(2)}%`}</td><td>${x.check.ok ? 'ok' : 'DISAGREE'}</td></tr>`;
  const crossHead = '<thead><tr><th scope="col">variant</th><th scope="col">trial</th><th scope="col">check</th><th scope="col">probe</th><th scope="col">counter</th><th scope="col">difference</th><th scope="col">tolerance</th><th scope="col">agrees</th></tr></thead>';
  const failing = model.crossChecks.filter((x) => !x.check.ok);
  // One line; the failing checks listed unfolded, the whole table folded under the line.
  const cross = model.crossChecks.length === 0
    ? '<p>No probes were attached (probe level off): nothing to cross-check.</p>'
    : `<p id="cross-check-line"><b>${e(model.crossCheckLine)}</b></p>${failing.length ? `<div class="scroll"><table id="cross-check-failing">${crossHead}<tbody>${failing.map(crossRow).join('\n')}</tbody></table></div>` : ''}
<details><summary>All ${model.crossChecks.length} cross-checks (probe count versus kernel counter, per trial)</summary><div class="scroll"><table>${crossHead}<tbody>
${model.crossChecks.map(crossRow).join('\n')}
</tbody></table></div></details>`;
  const sentLost = model.sentLost
    ? `<section id="sent-lost"><h2>Sent and lost</h2><div class="scroll"><table><thead><tr><th>variant</th><th>qdisc</th><th>generator</th><th>consumer</th><th>sent</th><th>delivered</th><th>qdisc drops</th><th>tun drops</th><th>lost</th><th>lost ratio</th></tr></thead><tbody>
${model.sentLost.map((r) => `<tr><th>${e(r.variant)}</th><td>${e(r.qdisc)}</td><td>${e(r.generator)}</td><td>${e(r.consumer)}</td>${[r.sentKpps, r.deliveredKpps, r.qdiscDropKpps, r.tunDropKpps, r.lostKpps].map((v) => `<td class="num">${kpps(v)}</td>`).join('')}<td class="num">${r.lostRatio === null ? '-' : `${(r.lostRatio * 100).toFixed(2)}%`}</td></tr>`).join('\n')}
</tbody></table></div><p class="chg">${e(SENT_LOST_NOTE)}</p></section>`
    : '';
  const warnings = model.warnings.length ? `<ul class="warnings">${model.warnings.map((w) => `<li>${e(w)}</li>`).join('')}</ul>` : '<p>None.</p>';
  const kernels = model.kernels ? `<section id="kernels"><h2>Kernels</h2><div class="scroll"><table><thead><tr><th></th>${model.kernels.columns.map((c) => `<th>${e(c)}</th>`).join('')}</tr></thead><tbody>${model.kernels.rows.map((r) => `<tr><th>${e(r.label)}</th>${r.values.map((v) => `<td>${e(v)}</td>`).join('')}</tr>`).join('')}</tbody></table></div></section>\n` : '';
  const env = model.environment.map((x) => `<tr><th>${e(x.label)}</th><td>${e(x.value)}</td></tr>`).join('');
  const profiles = model.profiles.map((p) => `<h3>${e(p.label)}</h3><pre>${e(p.yaml)}</pre>`).join('');
  const commands = model.commands.map((c) => `<pre>${e(c)}</pre>`).join('');
  const specs = scriptJson(model.charts.filter((c) => c.config).map((c) => ({ id: c.id, config: c.config })));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${e(model.title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<style>${CSS}</style></head>
<body data-charts="${model.charts.filter((c) => c.config).length}">
<h1>${e(model.title)}</h1>
<section id="answer"><h2>Answer</h2><ul>${model.answers.map((a) => `<li>${e(a)}</li>`).join('')}</ul></section>
<section id="verdict"><h2 class="verdict ${e(model.verdict.level)}" id="verdict-text">${e(model.verdict.text)}</h2>
<div class="scroll"><table id="headline"><thead><tr><th scope="col">variant</th>${head}</tr></thead><tbody>
${rows}
</tbody></table></div>
<p class="chg">Each cell: median of the measured trials [distribution-free interval of the median from order statistics, with its real coverage; none below 6 trials]; below it the change against the baseline as the metric's own signed change, better or worse by its direction (the Hodges-Lehmann estimate of candidate / baseline: paired by round within one run when the rounds are enough for the signed-rank test, else unpaired, Mann-Whitney U), the verdict with its interval and the p it used (Holm-adjusted over the judged metrics). Hover a column for the metric's definition.</p></section>
${kernels}${sentLost}
<section id="charts"><h2>Charts</h2><div class="charts">
${figures}
</div></section>
<section id="cross-check"><h2>Probes versus kernel counters</h2>
${cross}</section>
<section id="warnings"><h2>Warnings</h2>${warnings}</section>
<section id="environment"><h2>Environment and capabilities</h2><div class="scroll"><table>${env}</table></div></section>
<section id="profile"><h2>Profile as run</h2>${profiles}</section>
<section id="reproduce"><h2>Reproduce</h2>${commands}</section>
<script>${safeScript(chartJsSource())}</script>
<script id="chart-specs" type="application/json">${specs}</script>
<script>
(function () {
  var specs = JSON.parse(document.getElementById('chart-specs').textContent);
  var drawn = 0, blank = 0;
  specs.forEach(function (s) {
    var canvas = document.getElementById('chart-' + s.id);
    new Chart(canvas.getContext('2d'), s.config);
    var d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data, painted = false;
    for (var i = 3; i < d.length; i += 4) if (d[i] !== 0) { painted = true; break; }
    if (painted) drawn++; else blank++;
  });
  document.body.setAttribute('data-charts-drawn', String(drawn));
  document.body.setAttribute('data-charts-blank', String(blank));
})();
</script>
</body></html>
`;
}
