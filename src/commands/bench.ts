// tunbench bench: run a profile, write DIR/result.json (+ raw probe output and the report).
import { parseArgs } from 'node:util';
import { UserError, formatUserError, userErrorFromErrno } from '../errors.ts';
import { loadProfile } from '../profile/load.ts';
import { ProfileSchema, type Profile } from '../profile/schema.ts';
import { createProgress, defaultProgressMode, type ProgressMode } from '../progress.ts';
import { checkRunInput } from '../run/preflight.ts';
import { runProfile } from '../run/run.ts';
import { parseMetrics } from './gate.ts';
import { crossKernels, parseKernelArg, type KernelArg } from '../kernel/specs.ts';
import { gateWithinRun } from '../analysis/run-gate.ts';

/** The profile crossed with named kernels, validated again. */
function withKernels(profile: Profile, kernels: KernelArg[]): Profile {
  const parsed = ProfileSchema.safeParse(crossKernels(profile, kernels));
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new UserError(`--kernel: the crossed profile is invalid at ${first.path.join('.')}: ${first.message}`, { hint: 'kernel names must be short (letters, digits, . _ -); see tunbench bench --help' });
  }
  return parsed.data;
}

const HELP = `usage: tunbench bench [options]     (npm run bench -- [options])

  --profile NAME|PATH     profile to run (default: default); names are files in profiles/
  --out DIR               result folder (default: results/<UTC time>-<profile>)
  --duration SECONDS      measurement window per trial
  --repetitions N         measured trials per variant
  --warmup-trials N       warm-up trials per variant (discarded)
  --probes off|counters|full   probe level for every variant
  --backend auto|tracepoint|kprobe|fentry   probe backend
  --seed N                seed for the shuffled trial order
  --variants A,B,...      run only these variants of the profile (the baseline is kept first
                          when it is among them)
  --target host|vm        where the trials run (vm: boot a kernel in QEMU, see --kernel)
  --kernel SPEC           the VM target's kernel (sets target vm): debian, patched, a bzImage
                          path, or a kernel source tree (built: tunbench kernel build)
  --kernel NAME=SPEC      repeatable: several kernels in one run, each in its own VM (booted
                          once, paused while the others measure), trials interleaved across
                          them; the first is the base. A profile of one variant becomes one
                          variant per kernel (named after it); several variants become
                          VARIANT@KERNEL, each compared with its twin on the base kernel
  --progress tty|plain|json|quiet   progress output (default: tty on a terminal, else plain)
  --gate BASELINE         after the run, gate it against a baseline (saved name or result path),
                          with the profile's gate settings
  --gate                  (no value) gate the run on itself: each candidate against its
                          reference in this run, paired by round; with several kernels, each
                          candidate kernel against the base kernel. The verdict goes into the
                          report (and gate.json)
  --no-report             do not render report.html, summary.md and the PNG charts
  --bisect                for git bisect run: exit 125 (skip) instead of 2 whenever the commit
                          cannot be built, booted, run or judged; 0 and 1 unchanged

Exit codes: 0 success; 1 --gate found a regression; 2 could not run or judge (bad input,
missing capability, failed trials, too few trials to judge), with a message.`;

/** `--gate` with no value (last, or followed by another option) gates the run on itself. */
export const GATE_SELF = '@run';

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UserError(`--${name}: expected a number, found '${v}'`, { hint: `see 'tunbench bench --help'` });
  return n;
}

/** Profile fields set by flags, for messages about a rejected override. */
const FLAG_OF: Record<string, string> = { duration: '--duration', repetitions: '--repetitions', warmupTrials: '--warmup-trials', seed: '--seed', target: '--target', vm: '--kernel', probes: '--probes/--backend', variants: '--probes/--backend' };

/** Flags given twice (parseArgs keeps the last silently) and flags that contradict each other. */
function flagConflicts(tokens: Array<{ kind: string; name?: string; value?: string | undefined }>, values: Record<string, unknown>): string[] {
  const out: string[] = [];
  const seen = new Map<string, string | undefined>();
  for (const t of tokens) {
    if (t.kind !== 'option' || !t.name || t.name === 'kernel') continue;
    if (seen.has(t.name) && seen.get(t.name) !== t.value) out.push(`--${t.name} is given twice ('${seen.get(t.name)}' and '${t.value}'); give it once`);
    seen.set(t.name, t.value);
  }
  if (values.kernel !== undefined && values.target === 'host') out.push(`--kernel ${String(values.kernel)} boots a VM, but --target host asks for this host; drop one of them`);
  const kernels = (values.kernel as string[] | undefined) ?? [];
  if (kernels.length > 1 && kernels.some((k) => !k.includes('='))) out.push(`several --kernel flags need a name each: --kernel base=SPEC --kernel cand=SPEC (found ${kernels.join(', ')})`);
  if (values.probes === 'off' && values.backend !== undefined) out.push(`--backend ${String(values.backend)} chooses a probe backend, but --probes off attaches no probes; drop one of them`);
  return out;
}

/** Apply command-line overrides and validate the result again with the profile schema. */
export function applyOverrides(profile: Profile, o: { duration?: number; repetitions?: number; warmupTrials?: number; probes?: string; backend?: string; seed?: number; target?: string; kernel?: string; variants?: string[] }): Profile {
  const next: Record<string, unknown> = structuredClone(profile);
  if (o.variants !== undefined) {
    const names = profile.variants.map((v) => v.name);
    const unknown = o.variants.filter((n) => !names.includes(n));
    if (unknown.length) throw new UserError(`--variants: no variant ${unknown.join(', ')} in profile '${profile.name}' (it has: ${names.join(', ') || 'none'})`);
    const kept = profile.variants.filter((v) => o.variants!.includes(v.name));
    // A kept variant compared with a dropped one falls back to the baseline.
    next.variants = kept.map((v) => (v.compareTo !== undefined && !o.variants!.includes(v.compareTo) ? (({ compareTo: _c, ...rest }) => rest)(v) : v));
  }
  if (o.target !== undefined) next.target = o.target;
  if (o.kernel !== undefined) {
    next.target = 'vm';
    next.vm = { ...profile.vm, kernel: o.kernel };
  }
  if (o.duration !== undefined) next.duration = o.duration;
  if (o.repetitions !== undefined) next.repetitions = o.repetitions;
  if (o.warmupTrials !== undefined) next.warmupTrials = o.warmupTrials;
  if (o.seed !== undefined) next.seed = o.seed;
  if (o.probes !== undefined || o.backend !== undefined) {
    const probes = { ...profile.probes, ...(o.probes ? { level: o.probes } : {}), ...(o.backend ? { backend: o.backend } : {}) };
    next.probes = probes;
    // From next.variants: a --variants selection made above is kept (it used to be lost here).
    next.variants = (next.variants as Profile['variants']).map((v) => (v.probes ? { ...v, probes: { ...v.probes, ...(o.probes ? { level: o.probes } : {}), ...(o.backend ? { backend: o.backend } : {}) } } : v));
  }
  const parsed = ProfileSchema.safeParse(next);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    const flag = FLAG_OF[String(first.path[0])];
    throw new UserError(`command-line override rejected: ${first.path.join('.')}${flag ? ` (${flag})` : ''}: ${first.message.replace(/^Invalid input: /, '')}`, { hint: `see 'tunbench bench --help'; the allowed values are those of the profile field (profiles/profile.schema.json)` });
  }
  return parsed.data;
}

/** With --bisect, every 'could not run or judge' (exit 2, or an error: a kernel that does not
 * build or boot, too few trials) becomes 125, which git bisect run reads as 'skip this commit';
 * 0 (good) and 1 (a regression: bad) pass through. */
export async function main(argsIn: string[]): Promise<number> {
  if (!argsIn.includes('--bisect')) return benchMain(argsIn);
  try {
    const code = await benchMain(argsIn);
    if (code === 2) console.error('tunbench: cannot judge this commit: exit 125 (git bisect run skips it)');
    return code === 2 ? 125 : code;
  } catch (e) {
    // The same message (every line of the cause, and the fix) as without --bisect: only the
    // first line was kept before, so 'asks for what this machine or a tap cannot do:' lost the
    // list of problems that follows it.
    const ue = e instanceof UserError ? e : userErrorFromErrno(e);
    console.error(`${ue ? formatUserError(ue) : `tunbench: ${(e as Error).message}`}\n  (--bisect: cannot judge this commit: exit 125, git bisect run skips it)`);
    return 125;
  }
}

async function benchMain(argsIn: string[]): Promise<number> {
  const args = argsIn.map((a, i) => (a === '--gate' && (i === argsIn.length - 1 || argsIn[i + 1]!.startsWith('--')) ? `--gate=${GATE_SELF}` : a));
  const { values, tokens } = parseArgs({
    args,
    options: {
      profile: { type: 'string', default: 'default' },
      out: { type: 'string' },
      duration: { type: 'string' },
      repetitions: { type: 'string' },
      'warmup-trials': { type: 'string' },
      probes: { type: 'string' },
      backend: { type: 'string' },
      seed: { type: 'string' },
      target: { type: 'string' },
      kernel: { type: 'string', multiple: true },
      variants: { type: 'string' },
      progress: { type: 'string' },
      gate: { type: 'string' },
      'no-report': { type: 'boolean', default: false },
      bisect: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    tokens: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const conflicts = flagConflicts(tokens ?? [], values);
  if (conflicts.length > 0) throw new UserError(conflicts.join('\n  '), { hint: `see 'tunbench bench --help'` });
  if (values.variants !== undefined && values.variants.split(',').every((x) => x.trim() === '')) {
    throw new UserError('--variants: expected a comma-separated list of variant names, found none', { hint: `see 'tunbench bench --help'` });
  }
  const mode = (values.progress ?? defaultProgressMode()) as ProgressMode;
  if (!['tty', 'plain', 'json', 'quiet'].includes(mode)) throw new UserError(`--progress: expected tty, plain, json or quiet, found '${mode}'`);
  const loaded = loadProfile(values.profile);
  const kernelArgs = values.kernel ?? [];
  const named = kernelArgs.length > 1 || kernelArgs.some((k) => k.includes('='));
  const overridden = applyOverrides(loaded.profile, {
    duration: num('duration', values.duration),
    repetitions: num('repetitions', values.repetitions),
    warmupTrials: num('warmup-trials', values['warmup-trials']),
    probes: values.probes,
    backend: values.backend,
    seed: num('seed', values.seed),
    target: values.target,
    kernel: named ? undefined : kernelArgs[0],
    variants: values.variants?.split(',').map((x) => x.trim()).filter(Boolean),
  });
  const profile = named ? withKernels(overridden, kernelArgs.map(parseKernelArg)) : overridden;
  // Bad input ends here, before the run lock, capability detection or any traffic.
  checkRunInput(profile, { out: values.out, kernelFlag: kernelArgs.length > 0 });
  const gateSelf = values.gate === GATE_SELF;
  // $GITHUB_STEP_SUMMARY is looked at now, not after the run: a bad one is a warning (see gate.ts).
  const stepSummary = values.gate ? (await import('./gate.ts')).stepSummaryTarget() : null;
  if (values.gate && !gateSelf) {
    const { loadResultOrBaseline } = await import('../result/baselines.ts');
    loadResultOrBaseline(values.gate); // a baseline that cannot be read is refused now, not after the run
  }
  const command = ['npm', 'run', 'bench', '--', ...args];
  // target vm: the trials run in one VM per kernel (booted once, paused between its trials).
  const { result, dir } = await runProfile({ profile, profileSource: loaded.path, out: values.out, command, progress: createProgress(mode), log: (l) => console.log(l), kernelFlag: kernelArgs.length > 0 });

  // The run's own gate is judged before the report, which shows its verdict first.
  const selfGate = gateSelf && result.status !== 'failed' ? gateWithinRun(result, profile.gate) : null;
  if (!values['no-report']) {
    try {
      // The run's Analysis: computed once, saved beside result.json, and rendered.
      const { analyzeRun } = await import('../analysis/analyze.ts');
      const { writeRunAnalysis } = await import('../result/store.ts');
      const { writeReport } = await import('../report/write.ts');
      const analysis = analyzeRun(result, { source: `${dir}/result.json`, ...(selfGate ? { gate: selfGate } : {}) });
      writeRunAnalysis(dir, analysis, selfGate ?? undefined);
      console.log(`report: ${(await writeReport({ analysis, results: [result] }, dir)).html}`);
    } catch (e) {
      console.error(`tunbench: warning: the report could not be rendered (result.json is intact): ${(e as Error).message}`);
    }
  }
  console.log(`result: ${dir}/result.json`);
  if (result.status !== 'complete') {
    console.error(`tunbench: run ${result.status}: ${result.statusReason ?? ''}\n  fix: each failed trial's reason is in result.json (variants[].trials[].error); the trials measured are kept`);
    return 2;
  }
  if (selfGate) {
    const { reportGate } = await import('./gate.ts');
    return reportGate(selfGate, { stepSummary });
  }
  if (values.gate) {
    const { runGate, reportGate } = await import('./gate.ts');
    const g = profile.gate;
    const outcome = runGate({ baseline: values.gate, candidate: dir, maxRegression: g.maxRegression, metrics: parseMetrics(g.metrics.join(',')), noiseThreshold: g.noiseThreshold, alpha: g.alpha });
    return reportGate(outcome, { stepSummary });
  }
  return 0;
}
