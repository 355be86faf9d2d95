// What a report shows, in words and tables, rendered from an Analysis (src/analysis/analyze.ts:
// every number, share, median, verdict and warning is computed there) and the facts of the
// results it came from (environment, profile, command). The HTML page and the Markdown
// summary both render this model; nothing here computes.
import { stringify } from 'yaml';
import type { Analysis, Comparison, MetricComparison, SentLostRow } from '../analysis/types.ts';
import { estimateChangeWords, estimateName, mediansDisagree, verdictDetail, verdictWord, verdictWords } from '../analysis/verdict-words.ts';
import { describeCost, PROBE_COST_WARN, type ProbeCost } from '../analysis/probe-cost.ts';
import { crossCheckLine } from '../analysis/noise.ts';
import type { MetricName } from '../metrics.ts';
import type { CrossCheck, Result } from '../types.ts';
import { buildCharts, type ChartSpec } from './charts.ts';
import { formatValue as plainValue, latencyBucket } from './format.ts';

export type { SentLostRow } from '../analysis/types.ts';

/** Latency percentiles are log2 bucket edges: shown as the bucket's range. */
const formatValue = (m: MetricName, v: number): string => ((m === 'latency_p50_ns' || m === 'latency_p99_ns') && Number.isInteger(Math.log2(v + 1)) ? latencyBucket(v) : plainValue(m, v));

export const HEADLINE_METRICS: MetricName[] = ['xmit_pps', 'rx_pps', 'probe_cpu_pct', 'offered_pps', 'drop_ratio', 'lost_ratio', 'goodput_bps', 'occupancy_mean', 'occupancy_p99', 'lock_contention_count', 'latency_p50_ns', 'latency_p99_ns'];

/** Human column headers with units (cells carry their unit too). */
export const METRIC_LABELS: Partial<Record<MetricName, string>> = {
  xmit_pps: 'accepted (Mpps)', rx_pps: 'delivered (Mpps)', probe_cpu_pct: 'probe CPU (% of a CPU)', offered_pps: 'offered (Mpps)',
  drop_ratio: 'dropped at tun (%)', lost_ratio: 'lost (%)', goodput_bps: 'goodput (bit/s)', occupancy_mean: 'queue fullness, mean (% of capacity)',
  occupancy_p99: 'queue fullness, p99 (% of capacity)', lock_contention_count: 'lock contentions (per s)', latency_p50_ns: 'latency p50 (bucket)', latency_p99_ns: 'latency p99 (bucket)',
  txq_stopped_fraction: 'tx queue stopped (% of the window)', txq_longest_stop_ns: 'longest tx queue stop', retransmits: 'retransmits', stream_fairness: "fairness (Jain's index)",
  qdisc_drop_pps: 'qdisc drops (per s)',
};
export const metricLabel = (m: MetricName): string => METRIC_LABELS[m] ?? m;

export interface HeadlineCell {
  /** The median. */
  text: string;
  /** Its distribution-free interval (order statistics) with its coverage, or why there is none. */
  ci: string;
  change: string;
  /** The change alone, for a step summary: "-15.4% (worse) regressed", "all zero"; '' without a comparison. */
  brief: string;
  verdict: MetricComparison['verdict'] | 'baseline' | '';
}

export interface ReportModel {
  title: string;
  /** Sent/lost accounting per variant (null when no trial has qdisc readings: results from before it existed). */
  sentLost: SentLostRow[] | null;
  verdict: { level: 'pass' | 'fail' | 'info' | 'unknown'; text: string };
  /** The answer first: one line per variant (where its packets went and what it cost) and one per comparison. */
  answers: string[];
  headline: { metrics: MetricName[]; rows: { variant: string; baseline: boolean; trials: number; cells: HeadlineCell[]; probeCost: ProbeCostLine; starved: string[] }[] };
  charts: ChartSpec[];
  crossChecks: { variant: string; trial: number; check: CrossCheck }[];
  /** "144 of 144 cross-checks exact": the table is folded under it, failing checks listed unfolded. */
  crossCheckLine: string;
  warnings: string[];
  environment: { label: string; value: string }[];
  /** Several kernels in one run: one column per VM, one row per property (null otherwise). */
  kernels: { columns: string[]; rows: { label: string; values: string[] }[] } | null;
  profiles: { label: string; yaml: string }[];
  commands: string[];
  comparison: Comparison;
}

export interface ReportInput {
  analysis: Analysis;
  /** The results it was made from, in its order (one, or A and B): their environment, profile and command are shown. */
  results: Result[];
  title?: string;
}

/** The verdict in words: the gate's, or the judged comparisons' counted, and the cross-checks. */
function verdictText(a: Analysis): ReportModel['verdict'] {
  const v = a.verdict;
  if (a.gate) {
    const g = a.gate;
    return { level: v.level, text: `Gate: ${g.verdict === 'pass' ? 'PASS' : g.verdict === 'regression' ? 'REGRESSION' : 'CANNOT JUDGE'} (limit: ${(g.maxRegression * 100).toFixed(1)}% worse on ${g.metrics.join(', ')}). ${[...g.reasons, ...(g.power ? [g.power] : [])].join('; ')}` };
  }
  const cmp = a.comparison;
  const cross = a.crossCheckFailures === 0 ? 'Every probe count agrees with its kernel counter.' : `${a.crossCheckFailures} probe-versus-counter cross-check(s) disagree: see below.`;
  if (v.basis === 'single-variant') return { level: v.level, text: `One variant, ${v.measuredTrials} measured trials: nothing to compare against. ${cross}` };
  const text = [
    v.regressed.length ? `Regressed: ${v.regressed.join(', ')}.` : '',
    v.improved.length ? `Improved: ${v.improved.join(', ')}.` : '',
    `${v.unchanged} with no change shown, ${v.insufficient} without enough trials (${cmp.judgedMetrics.join(', ')} against the baseline, or the variant a variant names in compareTo; a change shown beyond ${(cmp.noiseThreshold * 100).toFixed(0)}% by a one-sided rank test at ${cmp.alpha}, Holm-corrected over ${cmp.judgedMetrics.join(', ')} x comparisons; paired by round within one run when the rounds are enough for the signed-rank test, else unpaired).`,
    cross,
  ].filter(Boolean).join(' ');
  if (v.basis === 'too-few-trials') return { level: v.level, text: `Not judged: too few trials for the significance test. ${text}` };
  return { level: v.level, text };
}

/** The headline says so when a side was starved of CPU: the rates then say more about the machine than the queue. */
function withStarved(v: ReportModel['verdict'], a: Analysis): ReportModel['verdict'] {
  const hit = a.variants.filter((x) => x.starved?.length);
  if (!hit.length) return v;
  return { ...v, text: `${v.text} Starved of CPU (the machine was busy): ${hit.map((x) => `${x.label} (${x.starved!.map((w) => (/the generator/.test(w) ? 'generator' : 'reader')).join(', ')})`).join(', ')}; see the answer lines.` };
}

/** What a variant's probes cost, in a line beside its throughput; warn above PROBE_COST_WARN on any side. */
export interface ProbeCostLine {
  text: string;
  warn: boolean;
}

/** `warn`: the analysis found its cost above PROBE_COST_WARN on some side (AnalysisVariant.probeCostWarn). */
export function probeCostLine(c: ProbeCost | undefined, level: string, warn: boolean): ProbeCostLine {
  if (level === 'off') return { text: 'probes off', warn: false };
  if (!c || !c.worst) return { text: `probes ${level}: cost not measured (no probes-off twins, no calibration of this machine and kernel: set probes.measureOverhead or run tunbench calibrate)`, warn: false };
  const w = c.worst;
  // The rounds' own spread: a median cost whose rounds straddle zero is not resolved from noise.
  const unresolved = w.rounds >= 2 && w.costMin < 0 && w.costMax > 0 ? ` (its rounds range from ${(w.costMin * 100).toFixed(1)}% to ${(w.costMax * 100).toFixed(1)}%: not resolved from the machine's noise; more rounds would tell)` : '';
  const head = warn ? `probes ${level} cost up to ${(w.cost * 100).toFixed(1)}% (${w.metric}): above ${(PROBE_COST_WARN * 100).toFixed(0)}%${unresolved}` : `probes ${level}: within ${(Math.max(0, w.cost) * 100).toFixed(1)}% on every side`;
  return { text: `${head}; ${describeCost(c)}`, warn };
}

/** A cell of the sent/lost table. */
export function kpps(v: number | null): string {
  return v === null ? '-' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export const SENT_LOST_NOTE = 'Kpps over the window, medians over each variant\'s measured trials (so the columns need not add up; each trial\'s own accounts close exactly, see the cross-checks). sent = delivered + qdisc drops + tun drops + queued; sent counts every packet handed to the tap (from the qdisc\'s counters; with noqueue from the tap\'s), delivered is the consumer\'s rate, lost = qdisc drops + tun drops. A drop the sender is told about (a qdisc drop, or tun\'s under noqueue) is sent and lost, even where trafgen or pktgen then sends the frame again.';

export function buildReportModel(input: ReportInput): ReportModel {
  const a = input.analysis;
  const cmp = a.comparison;
  const rows = cmp.summary.variants.map((sv) => {
    const cells = HEADLINE_METRICS.map((m): HeadlineCell => {
      const s = sv.metrics[m];
      if (!s) return { text: '-', ci: '', change: '', brief: '', verdict: '' };
      // n is said once per row (the trials column); a cell without an interval stays quiet.
      const ci = Number.isFinite(s.ciLow) && s.ciCoverage !== null ? `[${formatValue(m, s.ciLow)} – ${formatValue(m, s.ciHigh)}] (covers ${(s.ciCoverage * 100).toFixed(1)}%)` : '';
      const c = cmp.comparisons.find((x) => x.metric === m && x.candidate === sv.variant);
      if (sv.baseline && !c) return { text: formatValue(m, s.median), ci, change: '', brief: '', verdict: 'baseline' };
      if (!c) return { text: formatValue(m, s.median), ci, change: '', brief: '', verdict: '' };
      const vs = c.baseline !== cmp.summary.variants.find((b) => b.baseline)?.variant ? ` vs ${c.baseline}` : '';
      const word = verdictWord(c);
      // The change printed is the estimate the verdict used, and says which.
      const change = word === 'all zero' || word === 'not compared' || !Number.isFinite(c.ratio) ? `${verdictWords(c, cmp.alpha)}${vs}` : `${estimateChangeWords(c, { name: false })}${vs}: ${verdictWords(c, cmp.alpha)} [${estimateName(c)}]`;
      const brief = word === 'all zero' || word === 'not compared' || !Number.isFinite(c.ratio) ? `${word}${vs}` : `${estimateChangeWords(c, { name: false })}${vs} ${word}`;
      return { text: formatValue(m, s.median), ci, change, brief, verdict: c.verdict };
    });
    const av = a.variants.find((v) => v.label === sv.variant);
    return { variant: sv.variant, baseline: sv.baseline, trials: sv.trials, cells, probeCost: probeCostLine(sv.probeCost, av?.probeLevel ?? 'off', av?.probeCostWarn ?? false), starved: av?.starved ?? [] };
  });

  const environment = input.results.flatMap((r, i) => {
    const tag = input.results.length > 1 ? `${i === 0 ? 'A' : 'B'} ` : '';
    const c = r.environment.capabilities;
    const yes = (a: { available: boolean; reason: string }) => `${a.available ? 'yes' : 'no'}: ${a.reason}`;
    return [
      { label: `${tag}result`, value: `${r.id} (${r.status}, ${r.startedAt})` },
      { label: `${tag}kernel`, value: `${r.environment.kernel.release} ${r.environment.kernel.arch}` },
      { label: `${tag}tun queue`, value: `${r.environment.tun.queue} (${r.environment.tun.evidence})` },
      { label: `${tag}host`, value: `${r.environment.host.hostname}: ${r.environment.host.cpus} x ${r.environment.host.cpuModel}, ${r.environment.host.memoryMiB} MiB` },
      { label: `${tag}target`, value: r.environment.vm ? `vm: ${r.environment.vm.kernel.spec} kernel ${r.environment.vm.kernel.release}, ${r.environment.vm.accel} (${r.environment.vm.accelReason}), ${r.environment.vm.cpus} vCPUs, boot ${r.environment.vm.bootSeconds.toFixed(1)} s` : r.environment.target },
      { label: `${tag}probe backends`, value: `tracepoint ${yes(c.probeBackends.tracepoint)}; kprobe ${yes(c.probeBackends.kprobe)}; fentry ${yes(c.probeBackends.fentry)}` },
      { label: `${tag}bpftrace / trafgen`, value: `${c.bpftrace.version ?? 'absent'} / ${c.trafgen.version ?? 'absent'}` },
      { label: `${tag}pktgen`, value: yes(c.pktgen) },
      { label: `${tag}vhost-net / KVM`, value: `${yes(c.vhostNet)}; ${yes(c.kvm)}` },
    ];
  });
  return {
    kernels: kernelsSideBySide(input.results),
    sentLost: a.sentLost,
    title: input.title ?? (input.results.length > 1 ? `tunbench: ${runTitle(input.results[0]!)} vs ${runTitle(input.results[1]!)}` : `tunbench: ${runTitle(input.results[0]!)}`),
    verdict: withStarved(verdictText(a), a),
    headline: quiet(HEADLINE_METRICS, rows),
    answers: answerLines(cmp, new Map(a.variants.map((v) => [v.label, v.starved ?? []]))),
    charts: buildCharts(a.charts),
    crossChecks: a.crossChecks,
    crossCheckLine: a.crossCheckLine ?? crossCheckLine(a.crossChecks),
    warnings: a.warnings,
    environment,
    profiles: input.results.map((r, i) => ({ label: input.results.length > 1 ? `${i === 0 ? 'A' : 'B'}: ${r.profileSource}` : r.profileSource, yaml: stringify(r.profile) })),
    commands: input.results.map(reproduceLine),
    comparison: cmp,
  };
}

/** A run in a title: its profile, kernel(s) (VM names with their releases where variants ran on
 * several), host and start time, e.g. "default on 6.18.0 (devbox), 2026-12-05 08:40 UTC". */
export function runTitle(r: Result): string {
  const envs = r.variants.map((v) => v.environment).filter((e) => e !== undefined);
  const kernels = envs.length > 0 ? [...new Set(envs.map((e) => `${e.vmName} ${e.kernel.release}`))].join(', ') : r.environment.kernel.release;
  const vm = r.environment.target === 'vm' && envs.length === 0 ? ' in a VM' : '';
  const at = r.startedAt.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
  return `${r.profile.name} on ${kernels}${vm} (${r.environment.host.hostname}), ${at}`;
}

/** The whole command that makes this result again: the profile, the flags it ran with, its seed, and which tunbench. */
export function reproduceLine(r: Result): string {
  const args = r.command.slice(r.command.indexOf('bench') + 1).filter((a) => a !== '--');
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [flag] = a.split('=');
    if (['--out', '--progress', '--profile', '--seed'].includes(flag!)) {
      if (!a.includes('=')) i++;
      continue;
    }
    if (a === '--no-report') continue;
    kept.push(a);
  }
  const tool = r.tool;
  const q = (x: string) => (/^[\w@%+=:,./-]+$/.test(x) ? x : `'${x.replace(/'/g, `'\\''`)}'`);
  return `npx tunbench bench --profile ${q(r.profileSource)} ${kept.map(q).join(' ')}${kept.length ? ' ' : ''}--seed ${r.profile.seed}   # tunbench ${tool.version}${tool.commit ? ` (commit ${tool.commit})` : ''}; was: ${r.command.join(' ')}`;
}

/** Columns with no value on any row are left out. */
function quiet(metrics: MetricName[], rows: ReportModel['headline']['rows']): ReportModel['headline'] {
  const keep = metrics.map((_m, i) => rows.some((r) => r.cells[i]!.text !== '-'));
  return { metrics: metrics.filter((_m, i) => keep[i]), rows: rows.map((r) => ({ ...r, cells: r.cells.filter((_c, i) => keep[i]) })) };
}

const sig3 = (x: number) => Number(x.toPrecision(3)).toLocaleString('en-US');

/** A share of trials where a 0/1 metric was 1 ("2 of 5"), from its summary (mean x n). */
function ones(sv: Comparison['summary']['variants'][number], m: MetricName): { k: number; n: number } | null {
  const s = sv.metrics[m];
  return s && s.n > 0 ? { k: Math.round(s.mean * s.n), n: s.n } : null;
}

/** The answer's words for a fixed transfer, a multicast burst and request/response: how long, whether it finished, what the receivers got. */
function transferParts(sv: Comparison['summary']['variants'][number]): string[] {
  const med = (m: MetricName) => sv.metrics[m]?.median;
  const parts: string[] = [];
  const dnf = ones(sv, 'transfer_dnf');
  const done = med('completion_ns');
  const sender = med('transfer_sender_ns');
  const took = `${done !== undefined ? `completed in ${formatValue('completion_ns', done)}` : ''}${sender !== undefined ? `${done !== undefined ? ', ' : ''}the sender done in ${formatValue('transfer_sender_ns', sender)}` : ''}`;
  if (dnf && dnf.k > 0) parts.push(`transfer did not finish by its deadline in ${dnf.k} of ${dnf.n} trials${took ? `; the others ${took}` : ''}`);
  else if (took) parts.push(`transfer ${took}`);
  const got = med('mcast_read_delivered_min');
  if (got !== undefined) parts.push(`every read tap received at least ${sig3(got * 100)}% of the sender's frames`);
  const errs = med('mcast_sender_errors');
  if (errs !== undefined) parts.push(errs === 0 ? 'no write error at the sender' : `${sig3(errs)} write errors at the sender`);
  const blocked = ones(sv, 'mcast_sender_blocked');
  if (blocked && blocked.k > 0) parts.push(`the sender blocked without an error in ${blocked.k} of ${blocked.n} trials`);
  const rec = ones(sv, 'mcast_unread_recovered');
  if (rec) parts.push(rec.k === rec.n ? 'the unread tap recovered every time' : `the unread tap did not recover in ${rec.n - rec.k} of ${rec.n} trials`);
  const uc = med('mcast_unread_charged');
  if (uc !== undefined) parts.push(uc === 0 ? "the unread tap was handed clones only (none of the sender's own skbs)" : `the unread tap was handed ${sig3(uc)} of the sender's own skbs (charged to its send buffer)`);
  const p50 = med('rr_latency_p50_ns');
  const p99 = med('rr_latency_p99_ns');
  if (p50 !== undefined) parts.push(`round trip ${formatValue('rr_latency_p50_ns', p50)} at p50${p99 !== undefined ? `, ${formatValue('rr_latency_p99_ns', p99)} at p99` : ''}`);
  const tps = med('rr_transactions_per_s');
  if (tps !== undefined) parts.push(`${sig3(tps)} transactions/s`);
  return parts;
}

/** One line per variant: offered -> delivered, where the rest went, queue fullness, lock contention, the probes' CPU;
 * then one per comparison: the delivered rate as a ratio with its interval, how it was tested, the verdict and why. */
export function answerLines(cmp: Comparison, starved: Map<string, string[]> = new Map()): string[] {
  const out: string[] = [];
  for (const sv of cmp.summary.variants) {
    const med = (m: MetricName) => sv.metrics[m]?.median;
    const parts: string[] = [];
    const off = med('offered_pps');
    const rx = med('rx_pps');
    if (off !== undefined && rx !== undefined) parts.push(`offered ${sig3(off / 1e6)} Mpps -> delivered ${sig3(rx / 1e6)} Mpps`);
    else if (rx !== undefined) parts.push(`delivered ${sig3(rx / 1e6)} Mpps`);
    const where: string[] = [];
    // tx_dropped (drop_ratio) also counts the core's drops at a stopped queue (noqueue on a kernel
    // that stops the queue): where they were told apart, each is said as a share of the offered rate.
    const dr = med('drop_ratio');
    const sq = med('stopped_queue_drop_pps');
    const td = med('tun_drop_pps');
    if (sq !== undefined && sq > 0 && td !== undefined && off) where.push(`${sig3((td / off) * 100)}% dropped at tun_net_xmit (ring full)`, `${sig3((sq / off) * 100)}% dropped by the core at the stopped queue`);
    else if (dr !== undefined) where.push(`${sig3(dr * 100)}% dropped at tun_net_xmit (ring full)`);
    const qd = med('qdisc_drop_pps');
    if (qd !== undefined && off) where.push(`${sig3((qd / off) * 100)}% dropped at the qdisc`);
    if (where.length) parts.push(where.join(', '));
    const o99 = med('occupancy_p99');
    const om = med('occupancy_mean');
    if (o99 !== undefined) parts.push(`queue ${om !== undefined ? `${sig3(om * 100)}% full on average, ` : ''}${sig3(o99 * 100)}% at p99`);
    const lc = med('lock_contention_count');
    if (lc !== undefined) parts.push(lc === 0 ? 'no lock contention' : `${sig3(lc)} lock contentions/s`);
    const gp = med('goodput_bps');
    if (gp !== undefined) parts.push(`goodput ${formatValue('goodput_bps', gp)}${med('retransmits') !== undefined ? `, ${sig3(med('retransmits')!)} retransmits` : ''}`);
    parts.push(...transferParts(sv));
    const stopped = med('txq_stopped_fraction');
    if (stopped !== undefined && stopped > 0) {
      const longest = med('txq_longest_stop_ns');
      parts.push(`tx queue stopped ${sig3(stopped * 100)}% of the window${longest !== undefined ? `, longest stop ${formatValue('txq_longest_stop_ns', longest)}` : ''}`);
    }
    const pc = med('probe_cpu_pct');
    if (pc !== undefined) parts.push(`probes ${sig3(pc)}% of a CPU`);
    for (const side of ['generator', 'consumer'] as const) {
      const c = med(side === 'generator' ? 'cpu_generator_pct' : 'cpu_consumer_pct');
      if (c !== undefined) parts.push(`${side === 'generator' ? 'generator' : 'reader'} ${sig3(c)}% of a CPU`);
    }
    for (const w of starved.get(sv.variant) ?? []) parts.push(w.toUpperCase().slice(0, 1) + w.slice(1));
    out.push(`${sv.variant} (${sv.trials} trial${sv.trials === 1 ? '' : 's'}): ${parts.join('; ') || 'no metric measured'}.`);
  }
  const pairs = [...new Set(cmp.comparisons.map((c) => `${c.candidate}\u0000${c.baseline}`))];
  for (const key of pairs) {
    const [cand, ref] = key.split('\u0000') as [string, string];
    const of = (m: MetricName) => cmp.comparisons.find((c) => c.candidate === cand && c.baseline === ref && c.metric === m);
    // Flows are judged by their goodput (what the sockets got), floods by the delivered rate.
    // A fixed transfer by its completion time, request/response by its median round trip.
    const d = of('completion_ns') ?? of('goodput_bps') ?? of('rr_latency_p50_ns') ?? of('rx_pps') ?? of('xmit_pps');
    if (!d) continue;
    const what = ({ completion_ns: 'completion time', goodput_bps: 'goodput', rr_latency_p50_ns: 'median round trip', rx_pps: 'delivered' } as Partial<Record<MetricName, string>>)[d.metric] ?? 'accepted';
    const ci = Number.isFinite(d.ratioCiLow) ? ` [${d.ratioCiLow.toFixed(2)}, ${d.ratioCiHigh.toFixed(2)}]` : '';
    const how = d.analysis === 'paired' ? 'paired by round' : d.baseline.startsWith('A:') ? 'unpaired: separate runs' : 'unpaired: too few rounds with both variants for the signed-rank test';
    const w = verdictWord(d);
    const answer = w === 'regressed' ? 'slower' : w === 'improved' ? 'faster' : w;
    // A metric that was 0 on one side (the queue never stopped) has no ratio but is a reason all the same.
    const why = (['occupancy_p99', 'drop_ratio', 'qdisc_drop_pps', 'txq_stopped_fraction', 'txq_longest_stop_ns', 'retransmits', 'stream_fairness', 'lock_contention_count'] as MetricName[]).map(of)
      .filter((c): c is NonNullable<typeof c> => !!c && Number.isFinite(c.baselineMedian) && Number.isFinite(c.candidateMedian) && verdictWord(c) !== 'all zero' && c.baselineMedian !== c.candidateMedian)
      .map((c) => `${metricLabel(c.metric).replace(/ \(.*\)$/, '')} ${formatValue(c.metric, c.baselineMedian)} -> ${formatValue(c.metric, c.candidateMedian)}`);
    const p = Number.isFinite(d.pAdjusted) ? `, p = ${d.pAdjusted.toPrecision(2)}` : '';
    if (!Number.isFinite(d.ratio)) {
      out.push(`${cand} against ${ref}: ${verdictWords(d, cmp.alpha)}.`);
      continue;
    }
    const dm = mediansDisagree(d);
    const medians = dm === null ? '' : `; the medians: ${dm.toFixed(2)}x`;
    out.push(`${cand} ${what} ${Number.isFinite(d.ratio) ? `${d.ratio.toFixed(2)}x` : 'n/a against'} ${ref}${ci} (${estimateName(d)}${medians}; ${how}${p}): ${answer}${w === 'no change shown' ? ` (${verdictDetail(d, cmp.alpha)})` : ''}.${why.length ? ` Why: ${why.join(', ')}.` : ''}`);
  }
  return out;
}

/** The kernels of a multi-kernel run side by side: what each VM was and how it ran. */
export function kernelsSideBySide(results: Result[]): ReportModel['kernels'] {
  const tagged = results.flatMap((r, i) => r.variants.filter((v) => v.environment).map((v) => ({ tag: results.length > 1 ? `${i === 0 ? 'A' : 'B'}:` : '', v })));
  const vms = new Map<string, typeof tagged>();
  for (const t of tagged) {
    const key = `${t.tag}${t.v.environment!.vmName}`;
    vms.set(key, [...(vms.get(key) ?? []), t]);
  }
  if (vms.size < 2) return null;
  const cols = [...vms.entries()];
  const row = (label: string, f: (e: NonNullable<Result['variants'][number]['environment']>, variants: string[]) => string) => ({ label, values: cols.map(([, ts]) => f(ts[0]!.v.environment!, ts.map((t) => t.v.name))) });
  return {
    columns: cols.map(([k]) => k),
    rows: [
      row('variants', (_e, vs) => vs.join(', ')),
      row('kernel', (e) => `${e.kernel.release} (${e.vm.kernel.spec})`),
      row('tun queue', (e) => `${e.tun.queue}${e.tun.queueModeSwitch ? ' (queue_mode switch)' : ''}`),
      row('probe backend (full level)', (e) => e.probeBackend ?? 'none: no per-packet probe'),
      row('sampler', (e) => (e.capabilities.sampler.available ? 'yes' : `no: ${e.capabilities.sampler.reason}`)),
      row('attach points', (e) => (['tracepoint', 'kprobe', 'fentry'] as const).filter((b) => e.capabilities.probeBackends[b].available).join(', ') || 'none'),
      row('VM', (e) => `${e.vm.cpus} vCPUs, ${e.vm.memoryMiB} MiB, ${e.vm.accel}${e.vm.tcgThreading ? ` (${e.vm.tcgThreading.mode}-threaded)` : ''}${e.vm.cmdline ? `, cmdline '${e.vm.cmdline}'` : ''}`),
      row('boot / up', (e) => `${e.vm.bootSeconds.toFixed(0)} s / ${e.vm.totalSeconds.toFixed(0)} s`),
      row('pauses', (e) => (e.vm.switches ? `${e.vm.switches.count} (${(e.vm.switches.seconds * 1000).toFixed(0)} ms in QMP)` : '-')),
    ],
  };
}
