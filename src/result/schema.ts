// The one schema of every saved file: result.json (bench), comparison.json (compare),
// analysis.json (bench, report: the Analysis of a run), gate.json (gate, bench --gate), a baseline's meta.json. The writers
// validate against it before writing (src/result/store.ts: writeSavedFile) and every reader
// validates against it on entry (src/result/read.ts), so a file one command wrote is a file
// every command reads, and a hollow, foreign or damaged file is refused by name.
//
// Structural and tolerant on purpose: it checks the parts the readers dereference (variants,
// trials, metrics, the environment, the gate settings) and their types, allows unknown extra
// fields everywhere (z.looseObject), and keeps metric names open (a record of number | null),
// so a newer field or metric written by another part of tunbench never makes a file unreadable.
// Numbers that may be NaN or infinite in memory are null on disk (JSON), hence nullable.
// The TypeScript interfaces in src/types.ts and src/analysis/types.ts stay the precise types.
import { z } from 'zod';
import { ANALYSIS_SCHEMA_VERSION } from '../analysis/types.ts';
import { RESULT_SCHEMA_VERSION } from '../types.ts';
import { OLDEST_RESULT_VERSION, upgradeResult } from './upgrade.ts';

/** The comparison schema version readers take. */
export const COMPARISON_SCHEMA_VERSION = 2 as const;

const num = z.number().nullable();
const str = z.string();
const availability = z.looseObject({ available: z.boolean(), reason: str });

// ---------------------------------------------------------------- result.json
export const TrialSchema = z.looseObject({
  index: z.number().int(),
  variant: str,
  repetition: z.number().int(),
  warmup: z.boolean(),
  overhead: z.boolean(),
  status: z.enum(['ok', 'failed']),
  error: str.optional(),
  windowSeconds: num,
  probeLevel: str,
  probeBackend: str.nullable(),
  /** Open set of metric names (src/metrics.ts grows): each a number, or null when not measured. */
  metrics: z.record(str, num),
  crossCheck: z.array(z.looseObject({ name: str, ok: z.boolean() })),
  counters: z.looseObject({}).nullable(),
  readings: z.looseObject({ probe: z.looseObject({}).nullable().optional() }).optional(),
  rawProbeFile: str.nullable(),
});

export const VariantResultSchema = z.looseObject({
  name: str.min(1),
  baseline: z.boolean(),
  compareTo: str.optional(),
  workload: z.looseObject({}),
  probes: z.looseObject({}),
  environment: z.looseObject({ vmName: str }).optional(),
  trials: z.array(TrialSchema),
});

export const ResultSchema = z.looseObject({
  schemaVersion: z.literal(RESULT_SCHEMA_VERSION),
  tool: z.looseObject({ name: z.literal('tunbench'), version: str, commit: z.string().nullable().optional() }),
  id: str,
  status: z.enum(['complete', 'incomplete', 'failed']),
  statusReason: str.optional(),
  startedAt: str,
  finishedAt: str.nullable(),
  command: z.array(str),
  profile: z.looseObject({
    name: str,
    seed: z.number(),
    gate: z.looseObject({ metrics: z.array(str), maxRegression: z.number(), alpha: z.number(), noiseThreshold: z.number() }),
  }),
  profileSource: str,
  environment: z.looseObject({
    kernel: z.looseObject({ release: str, arch: str }),
    tun: z.looseObject({ queue: str, evidence: str }),
    host: z.looseObject({ hostname: str, cpus: z.number(), cpuModel: str, memoryMiB: z.number() }),
    target: z.enum(['host', 'vm']),
    vm: z.looseObject({}).optional(),
    capabilities: z.looseObject({ sampler: availability, probeBackends: z.record(str, availability) }),
  }),
  plan: z.looseObject({ trials: z.array(z.looseObject({})) }),
  variants: z.array(VariantResultSchema).min(1, 'no variants: a result has at least one'),
  warnings: z.array(str),
});

// ---------------------------------------------------------------- comparison.json / analysis.json
const MetricComparisonSchema = z.looseObject({
  metric: str,
  baseline: str,
  candidate: str,
  analysis: z.enum(['paired', 'unpaired']),
  baselineMedian: num,
  candidateMedian: num,
  nBaseline: z.number(),
  nCandidate: z.number(),
  ratio: num,
  ratioCiLow: num,
  ratioCiHigh: num,
  changePct: num,
  pValue: num,
  judged: z.boolean(),
  verdict: z.enum(['improved', 'regressed', 'unchanged', 'insufficient']),
  reason: str,
});

export const ComparisonSchema = z.looseObject({
  kind: z.literal('tunbench-comparison'),
  schemaVersion: z.literal(COMPARISON_SCHEMA_VERSION),
  createdAt: str,
  baselineSource: str,
  candidateSource: str,
  noiseThreshold: z.number(),
  alpha: z.number(),
  limit: z.number(),
  judgedMetrics: z.array(str),
  differences: z.array(str),
  forced: z.boolean(),
  summary: z.looseObject({
    confidence: z.number(),
    variants: z.array(z.looseObject({ variant: str, baseline: z.boolean(), trials: z.number(), metrics: z.record(str, z.looseObject({ n: z.number(), median: num })) })),
  }),
  comparisons: z.array(MetricComparisonSchema),
});

// ---------------------------------------------------------------- gate.json
export const GateOutcomeSchema = z.looseObject({
  exitCode: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  verdict: z.enum(['pass', 'regression', 'cannot-judge']),
  rule: str,
  reasons: z.array(str),
  maxRegression: z.number(),
  alpha: z.number(),
  metrics: z.array(str),
  tests: z.array(z.looseObject({ metric: str, failed: z.boolean() })),
  comparison: ComparisonSchema.nullable(),
  warnings: z.array(str),
});

// ---------------------------------------------------------------- analysis.json (beside a run's result.json)
const series = z.array(z.looseObject({ label: str, points: z.array(z.looseObject({ x: z.number(), y: num })) }));
const shares = z.looseObject({ buckets: z.array(z.number()), variants: z.array(z.looseObject({ label: str, shares: z.array(num) })) });
export const AnalysisSchema = z.looseObject({
  kind: z.literal('tunbench-analysis'),
  schemaVersion: z.literal(ANALYSIS_SCHEMA_VERSION),
  createdAt: str,
  sources: z.array(z.looseObject({ id: str, source: str, status: str })).min(1),
  variants: z.array(z.looseObject({ label: str, name: str, probeLevel: str, capacity: z.number(), trials: z.number(), probeCostWarn: z.boolean() })),
  comparison: ComparisonSchema,
  gate: GateOutcomeSchema.omit({ comparison: true }).nullable(),
  verdict: z.looseObject({ level: z.enum(['pass', 'fail', 'info', 'unknown']), basis: str, regressed: z.array(str), improved: z.array(str), unchanged: z.number(), insufficient: z.number(), measuredTrials: z.number() }),
  sentLost: z.array(z.looseObject({ variant: str })).nullable(),
  crossChecks: z.array(z.looseObject({ variant: str, trial: z.number(), check: z.looseObject({ name: str, ok: z.boolean() }) })),
  crossCheckFailures: z.number(),
  charts: z.looseObject({
    ppsPerTrial: z.array(z.looseObject({ label: str })),
    occupancy: shares.extend({ source: z.enum(['at-enqueue', 'sampled']) }),
    occupancyTime: series,
    latency: shares.nullable(),
    dropsTime: series,
    lockBySide: z.array(z.looseObject({ label: str, xmit: num, read: num })),
  }),
  warnings: z.array(str),
});

// ---------------------------------------------------------------- results/baselines/NAME/meta.json
export const BaselineMetaSchema = z.looseObject({
  name: str.min(1),
  savedAt: str,
  /** The result.json it was copied from. */
  source: str,
  resultId: str,
  kernel: str,
  cpu: str,
  tunQueue: str,
});
export type BaselineMeta = z.infer<typeof BaselineMetaSchema>;

/** Every kind of saved file: its schema, what it is called in messages, and what makes one. */
export interface SavedKind {
  schema: z.ZodType;
  /** 'a tunbench result' */
  what: string;
  /** The file's usual name, looked for in a folder. */
  file: string;
  /** What makes one, for the fix. */
  makes: string;
  /** Its `kind` field, for the kinds that have one: a file of another kind is refused by name. */
  tag?: string;
  /** The schema version this tunbench writes and reads (null: the file has none). */
  version: number | null;
  /** Older versions it reads too: the oldest, and how a file of one is lifted to `version`
   * (src/result/upgrade.ts; null: that version cannot be lifted). */
  older?: { oldest: number; upgrade: (o: Record<string, unknown>) => Record<string, unknown> | null };
}

export const SAVED: Record<'result' | 'comparison' | 'analysis' | 'gate' | 'baselineMeta', SavedKind> = {
  result: { schema: ResultSchema, what: 'a tunbench result', file: 'result.json', makes: 'npm run bench (it writes results/<time>-<profile>/result.json, or --out DIR/result.json)', version: RESULT_SCHEMA_VERSION, older: { oldest: OLDEST_RESULT_VERSION, upgrade: upgradeResult } },
  comparison: { tag: 'tunbench-comparison', schema: ComparisonSchema, what: 'a tunbench comparison', file: 'comparison.json', makes: 'tunbench compare A B (it writes --out DIR/comparison.json)', version: COMPARISON_SCHEMA_VERSION },
  analysis: { tag: 'tunbench-analysis', schema: AnalysisSchema, what: "a run's analysis", file: 'analysis.json', makes: 'npm run bench or tunbench report RESULT (each writes analysis.json beside the report)', version: ANALYSIS_SCHEMA_VERSION },
  gate: { schema: GateOutcomeSchema, what: 'a gate verdict', file: 'gate.json', makes: 'tunbench gate --baseline A --candidate B (it writes --out DIR/gate.json)', version: null },
  baselineMeta: { schema: BaselineMetaSchema, what: "a baseline's record", file: 'meta.json', makes: 'tunbench baseline save NAME RESULT', version: null },
};
