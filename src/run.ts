// A run: the plan's trials one after another, the result file rewritten (atomically) after
// each one, so an interrupted or failed run keeps every trial already measured, marked
// incomplete. Order before any traffic: the profile against this machine's CPUs and the
// result folder (cheap, nothing attached), then the run lock, and only then capability
// detection (it attaches bpftrace programs, which would disturb a run that is measuring).
import { readFileSync } from 'node:fs';
import { detectCapabilities } from './lab/capabilities.ts';
import { onCleanup, onSignal } from './lab/cleanup.ts';
import { usableCpus } from './lab/cpus.ts';
import { acquireRunLock } from './lab/lock.ts';
import { missingRequirements, profileProblems } from './lab/requirements.ts';
import { reapStaleLabs } from './lab/reap.ts';
import { DOCTOR_HINT, PROFILE_HINT, UserError, userErrorFromErrno } from './errors.ts';
import { EtaEstimator } from './eta.ts';
import { buildPlan, minimumPlanSeconds, resolveVariants } from './profile/plan.ts';
import type { Profile } from './profile/schema.ts';
import { chooseBackend } from './probes/backends.ts';
import { calibrationKey, findCalibration } from './probes/calibration.ts';
import type { ProgressEvent } from './progress.ts';
import { checkOutputDir, newResultDir, resultDirFor, writeResult } from './result/store.ts';
import { runTrial } from './trial/run-trial.ts';
import { RESULT_SCHEMA_VERSION, type Plan, type PlannedTrial, type ProbeBackend, type ResolvedVariant, type Result, type TrialResult } from './types.ts';

export const TOOL_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface RunOptions {
  profile: Profile;
  profileSource: string;
  out?: string;
  command: string[];
  progress: (e: ProgressEvent) => void;
}

export interface RunOutcome {
  result: Result;
  dir: string;
}

/** Consecutive failed trials after which the run stops (the same cause would fail every trial). */
const MAX_FAILED_IN_A_ROW = 5;

/**
 * Everything about a run that can be refused without the lock, capability detection or any
 * traffic: root, the profile against this machine (CPUs, MTU, options a tap refuses), the
 * result folder. Throws a UserError whose hint matches the cause.
 */
export function checkRunInput(profile: Profile, variants = resolveVariants(profile), out?: string, now = new Date()): void {
  if (process.getuid?.() !== 0) {
    throw new UserError('not root: tunbench builds network namespaces and tap devices and loads eBPF programs', { hint: 'run it as root (sudo); tunbench doctor shows what else this machine needs' });
  }
  const problems = profileProblems(variants, usableCpus());
  if (problems.length > 0) {
    throw new UserError(`profile '${profile.name}' asks for what this machine or a tap cannot do:\n  - ${problems.join('\n  - ')}`, { hint: PROFILE_HINT });
  }
  checkOutputDir(resultDirFor(profile.name, out, now).dir);
}

export async function runProfile(o: RunOptions): Promise<RunOutcome> {
  const { profile } = o;
  const variants = resolveVariants(profile);
  const plan = buildPlan(profile, variants);
  const started0 = new Date();
  checkRunInput(profile, variants, o.out, started0);
  // The lock before capability detection; released by the cleanup stack too (SIGINT, SIGTERM).
  const releaseLock = acquireRunLock();
  const forgetLock = onCleanup('run lock', async () => releaseLock());
  try {
    return await runLocked(o, variants, plan, started0);
  } finally {
    forgetLock();
    releaseLock();
  }
}

async function runLocked(o: RunOptions, variants: ReturnType<typeof resolveVariants>, plan: ReturnType<typeof buildPlan>, now: Date): Promise<RunOutcome> {
  const { profile } = o;
  const caps = await detectCapabilities();
  // Each variant's per-packet attach point ('full' level only): its own request, or auto.
  const backends = new Map<string, ProbeBackend | null>();
  for (const v of variants) {
    if (!plan.trials.some((t) => t.variant === v.name && t.probeLevel === 'full')) {
      backends.set(v.name, null);
      continue;
    }
    try {
      backends.set(v.name, chooseBackend(caps.probeBackends, v.probes.backend));
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      if (v.probes.backend !== 'auto') throw e;
      backends.set(v.name, null);
    }
  }
  const missing = variants.flatMap((v) => missingRequirements(caps, [v], backends.get(v.name) ?? null, profile.target));
  if (missing.length > 0) {
    throw new UserError(`this machine cannot run profile '${profile.name}':\n  - ${[...new Set(missing)].join('\n  - ')}`, { hint: DOCTOR_HINT });
  }
  {
    const reaped = await reapStaleLabs();
    const { dir, id } = newResultDir(profile.name, o.out, now);
    const warnings: string[] = [];
    if (reaped.length > 0) warnings.push(`removed lab namespaces left by killed runs: ${reaped.join(', ')}`);
    if ([...backends.values()].includes('tracepoint') && !caps.probeBackends.kprobe.available && !caps.probeBackends.fentry.available) {
      warnings.push(`the full level's per-packet probe uses the tracepoint net:net_dev_start_xmit (kprobe: ${caps.probeBackends.kprobe.reason}): it sees packets that pass the qdisc only`);
    }
    if (!('FULL_RING' in caps.dropReasons)) warnings.push('this kernel has no FULL_RING drop reason: full-queue drops are counted by location (tun_net_xmit) only');
    const result: Result = {
      schemaVersion: RESULT_SCHEMA_VERSION,
      tool: { name: 'tunbench', version: TOOL_VERSION },
      id,
      status: 'incomplete',
      statusReason: 'running',
      startedAt: new Date().toISOString(),
      finishedAt: null,
      command: o.command,
      profile,
      profileSource: o.profileSource,
      environment: { kernel: caps.kernel, tun: caps.tun, host: caps.host, target: profile.target, capabilities: caps },
      plan,
      variants: variants.map((v) => ({ ...v, trials: [] })),
      warnings,
    };
    // Probed variants without probes-off twins: the stored calibration of this machine, kernel
    // and probe scripts states what the probes cost (tunbench calibrate).
    const untwinned = variants.find((v) => v.probes.level !== 'off' && !v.probes.measureOverhead);
    const calibration = untwinned ? findCalibration(calibrationKey(caps.kernel.release, untwinned.probes.sampleIntervalMs)) : null;
    if (calibration) result.probeCalibration = calibration;
    return await runPlannedTrials({
      result, dir, plan, variants, profile, progress: o.progress,
      execute: (planned, variant, signal) => runTrial(planned, variant, { profile, caps, backend: backends.get(variant.name) ?? null, resultDir: dir, progress: o.progress, signal }),
    });
  }
}

export interface TrialLoop {
  result: Result;
  dir: string;
  plan: Plan;
  variants: ResolvedVariant[];
  profile: Profile;
  progress: (e: ProgressEvent) => void;
  /** Run one planned trial (here, or in the variant's VM). A throw ends the run (its .trial is kept). */
  execute: (planned: PlannedTrial, variant: ResolvedVariant, signal: AbortSignal) => Promise<TrialResult>;
}

/** The plan's trials in order, the result saved after each one; the run's status at the end.
 * The one writer of result.json for the run. */
export async function runPlannedTrials(l: TrialLoop): Promise<RunOutcome> {
  const { result, dir, plan, variants, profile } = l;
  const o = { progress: l.progress };
  {
    // A failed write (no space, read-only, I/O error) stops the run: result.json is written all
    // or nothing, so the file on disk is the last complete save, and the message says what it
    // holds. The trial that ran has stopped its processes by then (runTrial's teardown).
    let savedTrials: number | null = null;
    const save = () => {
      const trials = result.variants.reduce((n, v) => n + v.trials.length, 0);
      try {
        writeResult(dir, result);
        savedTrials = trials;
      } catch (e) {
        const fs = userErrorFromErrno(e);
        if (!fs) throw e;
        const kept = savedTrials === null ? 'nothing was saved (no result.json)' : `${dir}/result.json keeps its last complete save (${savedTrials} of ${trials} trials; no truncated file is left)`;
        const why = fs.message.slice(fs.message.indexOf(': ') + 2); // 'no space left on the device (ENOSPC)'
        throw new UserError(`cannot save ${dir}/result.json: ${why}; the run stopped and its processes were stopped; ${kept}`, { hint: 'free space or fix the permissions there (or choose another folder with --out) and run again; raw/ may hold the last trial\'s partial probe output' });
      }
    };
    save();

    const abort = new AbortController();
    const forgetSignal = onSignal((sig) => {
      abort.abort();
      result.status = 'incomplete';
      result.statusReason = `interrupted by ${sig}`;
      result.finishedAt = new Date().toISOString();
      save();
      o.progress({ event: 'run-end', status: `interrupted (${sig}); ${countOk(result)} trials kept`, resultDir: dir, seconds: 0 });
    });
    const started = Date.now();
    let failedInARow = 0;
    const eta = new EtaEstimator();
    o.progress({ event: 'run-start', profile: profile.name, trials: plan.trials.length, minimumSeconds: minimumPlanSeconds(profile, plan), resultDir: dir });
    try {
      for (const planned of plan.trials) {
        const variant = variants.find((v) => v.name === planned.variant)!;
        eta.trialStart(performance.now() / 1000);
        const left = eta.secondsLeft(plan.trials.length - planned.index);
        o.progress({ event: 'trial-start', index: planned.index, total: plan.trials.length, variant: variant.name, repetition: planned.repetition, warmup: planned.warmup, secondsLeft: left });
        let trial: TrialResult;
        try {
          trial = await l.execute(planned, variant, abort.signal);
        } catch (e) {
          // Interrupted: the signal hook has saved the result as interrupted; a trial (or a VM)
          // ended by that signal must not overwrite it as failed.
          if (abort.signal.aborted) throw e;
          // A capability/input problem: keep the failed trial and what came before, then stop.
          const t = (e as { trial?: TrialResult }).trial;
          if (t) result.variants.find((v) => v.name === variant.name)!.trials.push(t);
          result.status = 'failed';
          result.statusReason = (e as Error).message;
          result.finishedAt = new Date().toISOString();
          save();
          throw e;
        }
        if (abort.signal.aborted) break;
        result.variants.find((v) => v.name === variant.name)!.trials.push(trial);
        failedInARow = trial.status === 'failed' ? failedInARow + 1 : 0;
        for (const c of trial.crossCheck.filter((x) => !x.ok)) {
          const msg = `trial ${trial.index} (${trial.variant}): cross-check failed: ${c.name}: probe ${c.probe} vs ${c.counter} (${(c.relativeDifference * 100).toFixed(2)}% > ${(c.tolerance * 100).toFixed(2)}%)`;
          result.warnings.push(msg);
          o.progress({ event: 'warning', message: msg });
        }
        save();
        o.progress({ event: 'trial-end', index: trial.index, variant: trial.variant, status: trial.status, xmitPps: trial.metrics.xmit_pps, rxPps: trial.metrics.rx_pps, dropRatio: trial.metrics.drop_ratio, ...(trial.error ? { error: trial.error } : {}) });
        if (failedInARow >= MAX_FAILED_IN_A_ROW) {
          const msg = `${failedInARow} trials in a row failed (last: ${trial.error ?? 'unknown error'}): the run stops here`;
          result.warnings.push(msg);
          o.progress({ event: 'warning', message: msg });
          break;
        }
      }
      if (!abort.signal.aborted) {
        const all = result.variants.flatMap((v) => v.trials);
        const failed = all.filter((t) => t.status === 'failed');
        const notRun = plan.trials.length - all.length;
        if (failed.length === 0 && notRun === 0) {
          result.status = 'complete';
          delete result.statusReason;
        } else {
          const first = failed[0];
          result.status = failedInARow >= MAX_FAILED_IN_A_ROW ? 'failed' : 'incomplete';
          result.statusReason = `${failed.length} of ${all.length} trials failed${notRun > 0 ? ` and ${notRun} did not run` : ''}${first ? ` (first: trial ${first.index}, ${first.variant}: ${first.error ?? 'unknown error'})` : ''}`;
        }
        result.finishedAt = new Date().toISOString();
        save();
        o.progress({ event: 'run-end', status: result.status, resultDir: dir, seconds: (Date.now() - started) / 1000, trials: all.length, failedTrials: failed.length, ...(result.statusReason ? { reason: result.statusReason } : {}) });
      }
      return { result, dir };
    } finally {
      forgetSignal();
    }
  }
}

function countOk(r: Result): number {
  return r.variants.flatMap((v) => v.trials).filter((t) => t.status === 'ok').length;
}
