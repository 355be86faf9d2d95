// result(s) [+ comparison, gate] -> Analysis: the one place where what a report shows is
// computed. A run is analysed against itself (each variant against its reference, paired by
// round); compare and gate hand in the comparison of two results (and the gate's verdict) that
// they made, so all three produce the same value. Pure: no files, no clock but createdAt.
import type { MetricName } from '../metrics.ts';
import type { Result } from '../types.ts';
import { chartSeries, type LabelledVariant } from './chart-series.ts';
import { compareWithinResult } from './compare.ts';
import { describeCost, PROBE_COST_WARN } from './probe-cost.ts';
import { crossCheckLine, outlierLine, starvedSides, starvedWords } from './noise.ts';
import { isMeasured, trialNumber } from './summary.ts';
import { ANALYSIS_SCHEMA_VERSION, type Analysis, type AnalysisVariant, type AnalysisVerdict, type Comparison, type GateOutcome, type SentLostRow } from './types.ts';


export interface AnalysisInput {
  /** One result (a run) or two (A the baseline, B the candidate), each with where it was read from. */
  results: { result: Result; source: string }[];
  /** Their comparison: compareWithinResult for one, compareResults for two (or the gate's). */
  comparison: Comparison;
  gate?: GateOutcome;
}

/** The analysis of one run: its variants against their references (or the gate's comparison when it judged the run). */
export function analyzeRun(result: Result, o: { source?: string; gate?: GateOutcome } = {}): Analysis {
  const comparison = o.gate?.comparison ?? compareWithinResult(result);
  return analyze({ results: [{ result, source: o.source ?? result.id }], comparison, ...(o.gate ? { gate: o.gate } : {}) });
}

function labelled(results: Result[]): (LabelledVariant & { source: number })[] {
  const prefix = results.length > 1;
  return results.flatMap((r, i) => r.variants.map((v) => ({ label: prefix ? `${i === 0 ? 'A' : 'B'}:${v.name}` : v.name, variant: v, capacity: v.workload.tap.txQueueLen * v.workload.tap.queues, source: i })));
}

function verdictOf(input: AnalysisInput): AnalysisVerdict {
  const measuredTrials = input.results.flatMap(({ result }) => result.variants.flatMap((v) => v.trials.filter(isMeasured))).length;
  const base = { regressed: [] as string[], improved: [] as string[], unchanged: 0, insufficient: 0, measuredTrials };
  if (input.gate) {
    const g = input.gate;
    return { ...base, basis: 'gate', level: g.verdict === 'pass' ? 'pass' : g.verdict === 'regression' ? 'fail' : 'unknown' };
  }
  const cs = input.comparison.comparisons.filter((c) => input.comparison.judgedMetrics.includes(c.metric));
  if (cs.length === 0) return { ...base, basis: 'single-variant', level: 'info' };
  const counted = {
    ...base,
    regressed: cs.filter((c) => c.verdict === 'regressed').map((c) => `${c.metric} of ${c.candidate}`),
    improved: cs.filter((c) => c.verdict === 'improved').map((c) => `${c.metric} of ${c.candidate}`),
    unchanged: cs.filter((c) => c.verdict === 'unchanged').length,
    insufficient: cs.filter((c) => c.verdict === 'insufficient').length,
  };
  if (!counted.regressed.length && counted.insufficient === cs.length) return { ...counted, basis: 'too-few-trials', level: 'info' };
  return { ...counted, basis: 'comparisons', level: counted.regressed.length ? 'fail' : 'pass' };
}

function sentLostRows(vs: LabelledVariant[], cmp: Comparison): SentLostRow[] | null {
  if (!vs.some((lv) => lv.variant.trials.some((t) => t.readings?.qdisc))) return null;
  return vs.map((lv) => {
    const sv = cmp.summary.variants.find((x) => x.variant === lv.label);
    const med = (m: MetricName) => sv?.metrics[m]?.median ?? null;
    const k = (m: MetricName) => {
      const v = med(m);
      return v === null ? null : v / 1e3;
    };
    const w = lv.variant.workload;
    const readBack = [...new Set(lv.variant.trials.map((t) => t.readings?.qdisc?.kind).filter((x): x is string => !!x))];
    const g = w.generator;
    const gen = g.type === 'trafgen' ? `trafgen x${g.cpus}${g.qdisc ? '' : ' (bypass)'}` : g.type === 'pktgen' ? `pktgen x${g.threads}` : g.type === 'sockperf' ? `sockperf ${g.protocol} ${g.messageSize} B${g.mps === 'max' ? '' : ` ${g.mps}/s`}` : g.type === 'mcast' ? `iperf 2 multicast ${g.group} x${w.tap.count ?? 1} taps` : `iperf3 ${g.protocol} x${g.streams}`;
    return {
      variant: lv.label,
      qdisc: readBack.length && !(readBack.length === 1 && readBack[0] === w.tap.qdisc) ? `${w.tap.qdisc} (${readBack.join(', ')})` : w.tap.qdisc,
      generator: w.background ? `${gen} + background ${w.background.type}` : gen,
      consumer: w.consumer.type,
      sentKpps: k('sent_pps'),
      deliveredKpps: k('rx_pps'),
      qdiscDropKpps: k('qdisc_drop_pps'),
      tunDropKpps: k('drop_pps'),
      lostKpps: k('lost_pps'),
      lostRatio: med('lost_ratio'),
    };
  });
}

function warningsOf(input: AnalysisInput, crossFails: number): string[] {
  const warnings: string[] = [];
  const two = input.results.length > 1;
  input.results.forEach(({ result: r }, i) => {
    const tag = two ? `${i === 0 ? 'A' : 'B'}: ` : '';
    if (r.status !== 'complete') warnings.push(`${tag}run ${r.status}: ${r.statusReason ?? ''}`);
    for (const w of r.warnings) warnings.push(`${tag}${w}`);
    // Each failed trial with its reason (the run goes on after a trial fails).
    for (const v of r.variants) for (const t of v.trials) if (t.status === 'failed') warnings.push(`${tag}trial ${trialNumber(t)} (${t.variant}, ${t.warmup ? 'warm-up' : `repetition ${t.repetition + 1}`}) FAILED: ${t.error ?? 'no reason recorded'}`);
    // (No word about pktgen here: a profile that asks for pktgen where it is absent is refused
    // before any traffic, and a trafgen profile got what it asked for.)
    if (r.environment.target === 'vm') warnings.push(`${tag}trials ran in a VM${r.environment.vm?.accel === 'kvm' ? ' under KVM' : ' under TCG (emulated): absolute speeds are not those of hardware'}.`);
  });
  const cmp = input.comparison;
  const vs = labelled(input.results.map((x) => x.result));
  for (const sv of cmp.summary.variants) {
    const o = sv.probeCost;
    if (o?.worst && o.worst.cost > PROBE_COST_WARN) warnings.push(`probe cost (${sv.variant}): the ${o.level} probes cost ${(o.worst.cost * 100).toFixed(1)}% on ${o.worst.metric}, above the ${(PROBE_COST_WARN * 100).toFixed(0)}% the figures can bear: ${describeCost(o)}.`);
    // One line per variant for its outliers (not one per metric), trials named as the run numbered them.
    const lv = vs.find((x) => x.label === sv.variant);
    const line = lv ? outlierLine(sv.variant, lv.variant, sv) : null;
    if (line) warnings.push(line);
    if (lv) for (const st of starvedSides(lv.variant)) warnings.push(`${sv.variant}: ${starvedWords(st)}; its rates understate what the queue can do.`);
  }
  for (const d of cmp.differences) warnings.push(`compared despite a difference: ${d}`);
  if (crossFails) warnings.push(`${crossFails} cross-check(s) between probes and kernel counters disagree beyond tolerance.`);
  if (input.gate) warnings.push(...input.gate.warnings);
  return [...new Set(warnings)];
}

export function analyze(input: AnalysisInput): Analysis {
  const vs = labelled(input.results.map((x) => x.result));
  const cmp = input.comparison;
  const crossChecks = vs.flatMap((lv) => lv.variant.trials.flatMap((t) => t.crossCheck.map((check) => ({ variant: lv.label, trial: trialNumber(t), check }))));
  const crossCheckFailures = crossChecks.filter((c) => !c.check.ok).length;
  const variants: AnalysisVariant[] = vs.map((lv) => {
    const cost = cmp.summary.variants.find((sv) => sv.variant === lv.label)?.probeCost;
    return {
      label: lv.label, source: lv.source, name: lv.variant.name, probeLevel: lv.variant.probes.level, capacity: lv.capacity,
      trials: lv.variant.trials.filter(isMeasured).length, probeCostWarn: lv.variant.probes.level !== 'off' && !!cost?.worst && cost.worst.cost > PROBE_COST_WARN,
      starved: starvedSides(lv.variant).map(starvedWords),
    };
  });
  const gate = input.gate ? (({ comparison: _c, ...g }) => g)(input.gate) : null;
  return {
    kind: 'tunbench-analysis',
    schemaVersion: ANALYSIS_SCHEMA_VERSION,
    createdAt: new Date().toISOString(),
    sources: input.results.map(({ result, source }) => ({ id: result.id, source, status: result.status })),
    variants,
    comparison: cmp,
    gate,
    verdict: verdictOf(input),
    sentLost: sentLostRows(vs, cmp),
    crossChecks,
    crossCheckFailures,
    crossCheckLine: crossCheckLine(crossChecks),
    charts: chartSeries(vs),
    warnings: warningsOf(input, crossCheckFailures),
  };
}
