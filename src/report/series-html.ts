// series.html: the one page of a `tunbench series` run. It leads with the answer (which commits
// regressed, do not build or boot, or cannot be judged), then one row per commit: its build,
// its boot, the gate's verdict and every metric that moved against BASE, with a link to the
// run's own report.html (charts, cross-checks, every table). Self-contained, no script.
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { comparisonLine } from '../analysis/verdict-words.ts';
import type { GateOutcome, MetricComparison } from '../analysis/types.ts';
import type { GateSettings } from '../profile/schema.ts';
import { CSS, escapeHtml as e } from './html.ts';

/** One commit of a series (BASE too): its build, boot, comparisons against BASE and the gate's verdict, as series.json keeps it. */
export interface CommitResult {
  index: number;
  sha: string;
  subject: string;
  name: string;
  build: { ok: boolean; cached?: boolean; seconds?: number; release?: string; image?: string; reason?: string; log?: string };
  boot?: { ok: boolean; reason?: string };
  run?: string;
  /** Every metric compared on this commit's kernel against BASE's (all variants). */
  comparisons?: MetricComparison[];
  gate?: { verdict: GateOutcome['verdict']; lines: string[]; failed: string[] };
  status: 'pass' | 'regression' | 'does not build' | 'does not boot' | 'cannot judge';
}

export interface SeriesPage {
  /** The series folder: links to the runs' reports are relative to it. */
  dir: string;
  profile: string;
  gate: GateSettings;
  base: CommitResult;
  commits: CommitResult[];
  groups: string[][];
  fatal: string | null;
  exitCode: number;
  /** The summary line the command printed last. */
  summary: string;
}

const STATUS_CLASS: Record<CommitResult['status'], string> = { pass: 'improved', regression: 'regressed', 'does not build': 'regressed', 'does not boot': 'regressed', 'cannot judge': 'insufficient' };

/** "cached build", "built in 43 s" or "does not build: REASON": the series' words for a build (its text lines use them too). */
export function builtWords(r: CommitResult): string {
  if (!r.build.ok) return `does not build: ${r.build.reason ?? ''}`;
  return r.build.cached ? 'cached build' : `built in ${Math.round(r.build.seconds ?? 0)} s`;
}

/** What moved on a commit: the comparisons the analysis called improved or regressed. */
export const movedOf = (r: CommitResult): MetricComparison[] => (r.comparisons ?? []).filter((c) => c.verdict === 'improved' || c.verdict === 'regressed');

function reportLink(dir: string, r: CommitResult): string {
  if (!r.run || !existsSync(join(r.run, 'report.html'))) return '';
  const href = relative(dir, join(r.run, 'report.html')).split('/').map(encodeURIComponent).join('/');
  return `<a href="${e(href)}">${e(relative(dir, r.run) || '.')}/report.html</a>`;
}

function commitRow(p: SeriesPage, r: CommitResult): string {
  const moved = movedOf(r);
  const what = !r.comparisons
    ? ''
    : moved.length
      ? `<ul>${moved.map((c) => `<li class="${e(c.verdict)}">${e(`${c.candidate}: ${comparisonLine(c, p.gate.alpha)}`)}</li>`).join('')}</ul>`
      : `no metric moved beyond the noise threshold in ${r.comparisons.length} comparisons`;
  const gate = r.gate ? `${r.gate.failed.length ? `<ul>${r.gate.failed.map((f) => `<li>${e(f)}</li>`).join('')}</ul>` : ''}${r.gate.lines.map((l) => `<div class="chg">${e(l)}</div>`).join('')}` : '';
  const boot = !r.build.ok ? '' : r.boot ? (r.boot.ok ? 'boots' : `does not boot: ${r.boot.reason ?? ''}`) : '';
  const log = !r.build.ok && r.build.log && existsSync(r.build.log) ? ` <a href="${e(relative(p.dir, r.build.log).split('/').map(encodeURIComponent).join('/'))}">build log</a>` : '';
  return `<tr><th scope="row">${r.index}</th><td><code>${e(r.sha.slice(0, 12))}</code> ${e(r.subject)}</td><td>${e(builtWords(r))}${log}</td><td>${e(boot)}</td>`
    + `<td class="${STATUS_CLASS[r.status]}"><b>${e(r.status === 'regression' ? 'REGRESSION' : r.status)}</b>${gate}</td><td>${what}</td><td>${reportLink(p.dir, r)}</td></tr>`;
}

export function renderSeriesHtml(p: SeriesPage): string {
  const bad = p.commits.filter((r) => r.status !== 'pass');
  const cls = p.fatal || p.exitCode === 2 ? 'unknown' : bad.length ? 'fail' : 'pass';
  const answer = p.fatal
    ? `Cannot judge the series: ${p.fatal}`
    : bad.length
      ? bad.map((r) => `commit ${r.index} (${r.sha.slice(0, 12)} ${r.subject}): ${r.status === 'regression' ? `REGRESSION${r.gate?.failed.length ? ` in ${r.gate.failed.join('; ')}` : ''}` : r.status}`).join('. ')
      : `Every one of ${p.commits.length} commit(s) passes the gate against BASE.`;
  const head = '<thead><tr><th scope="col">#</th><th scope="col">commit</th><th scope="col">build</th><th scope="col">boot</th><th scope="col">verdict (gate)</th><th scope="col">what moved against BASE</th><th scope="col">run</th></tr></thead>';
  const baseRow = `<tr><th scope="row">BASE</th><td><code>${e(p.base.sha.slice(0, 12))}</code> ${e(p.base.subject)}</td><td>${e(builtWords(p.base))}</td><td></td><td>the reference</td><td></td><td>${reportLink(p.dir, p.base)}</td></tr>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tunbench series: ${e(p.profile)}</title><style>${CSS}</style></head>
<body>
<h1>tunbench series: ${e(p.profile)}</h1>
<h2 id="answer">Answer</h2>
<div class="verdict ${cls}" id="series-answer"><b>${e(answer)}</b></div>
<p>${e(p.summary)}</p>
<p>Gate: ${e(p.gate.metrics.join(', '))}, each at most ${e((p.gate.maxRegression * 100).toFixed(1))}% worse than on BASE (significance ${e(String(p.gate.alpha))}, noise threshold ${e((p.gate.noiseThreshold * 100).toFixed(1))}%), every commit judged in the same interleaved run as BASE; each run's report states the rule in full. Runs: ${p.groups.map((g, i) => `${i + 1}: ${e(g.join(', '))}`).join('; ')}.</p>
<h2 id="commits">Commits</h2>
<div class="scroll"><table id="series-commits">${head}<tbody>
${baseRow}
${p.commits.map((r) => commitRow(p, r)).join('\n')}
</tbody></table></div>
</body></html>
`;
}
