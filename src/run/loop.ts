// The trial loop: the plan's trials one after another through an executor (this host, or the
// VMs of executors/vm.ts), the result file rewritten (atomically) after each one, so an
// interrupted or failed run keeps every trial already measured, marked incomplete. The one
// place a Result is built and the one writer of result.json for a run.
import { readFileSync } from 'node:fs';
import { UserError, userErrorFromErrno } from '../errors.ts';
import { EtaEstimator } from '../eta.ts';
import { onSignal } from '../process/cleanup.ts';
import { minimumPlanSeconds, transferDeadlineSeconds } from '../profile/plan.ts';
import type { Profile } from '../profile/schema.ts';
import type { ProgressEvent } from '../progress.ts';
import { writeResult } from '../result/store.ts';
import { toolCommit } from '../tool-commit.ts';
import { RESULT_SCHEMA_VERSION, type Capabilities, type Plan, type ProbeBackend, type PlannedTrial, type ProbeCalibrationRef, type ResolvedVariant, type Result, type TrialResult, type VariantEnvironment } from '../types.ts';

export const TOOL_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Consecutive failed trials after which the run stops (the same cause would fail every trial). */
export const MAX_FAILED_IN_A_ROW = 5;

export interface RunOutcome {
  result: Result;
  dir: string;
}

/** Where the trials run: this host, or one VM per kernel. */
export interface Executor {
  /** Where the trials ran, as known now (asked before every save: a VM's run time grows).
   * variants: per variant, when variants ran on different VMs; null when all share the run's. */
  environment(): { run: Result['environment']; variants: Map<string, VariantEnvironment> | null };
  /** Run one planned trial. A throw ends the run (its .trial, if any, is kept as failed). */
  execute(planned: PlannedTrial, variant: ResolvedVariant, signal: AbortSignal): Promise<TrialResult>;
  /** A trial measured whose execute() has not returned yet (a VM's answer read while the VM is
   * paused), or null; asked when a signal ends the run, so that trial is kept too. */
  arrived?(): TrialResult | null;
  /** After the last trial of a run that was not interrupted: stop what the executor started. */
  finish(): Promise<void>;
}

/** What an executor's start needs. */
export interface RunContext {
  profile: Profile;
  variants: ResolvedVariant[];
  plan: Plan;
  progress: (e: ProgressEvent) => void;
  log: (line: string) => void;
  /** The run's result folder, created at the first call (after the checks that need no folder). */
  resultDir: () => { dir: string; id: string };
}

/** A started executor and what the run records about where it runs. */
export interface Started {
  executor: Executor;
  /** The capabilities of every kernel trials run on (one for the host or a single VM). */
  caps: Capabilities[];
  backends: Map<string, ProbeBackend | null>;
  accel?: { accel: 'kvm' | 'tcg'; reason: string; vms: number };
  warnings: string[];
  /** Stop everything the executor started (also on error). */
  close(): Promise<void>;
}

export interface TrialLoop {
  dir: string;
  id: string;
  command: string[];
  profile: Profile;
  profileSource: string;
  plan: Plan;
  variants: ResolvedVariant[];
  warnings: string[];
  probeCalibration?: ProbeCalibrationRef | null;
  progress: (e: ProgressEvent) => void;
  executor: Executor;
  /** How a signal reaches the loop (default: the cleanup module's hook; tests pass their own). */
  onInterrupt?: (hook: (signal: NodeJS.Signals) => void) => () => void;
}

/** The Result of a run before its first trial (status incomplete, 'running'). */
function newResult(l: TrialLoop): Result {
  const env = l.executor.environment();
  const result: Result = {
    schemaVersion: RESULT_SCHEMA_VERSION,
    tool: { name: 'tunbench', version: TOOL_VERSION, commit: toolCommit() },
    id: l.id,
    status: 'incomplete',
    statusReason: 'running',
    startedAt: new Date().toISOString(),
    finishedAt: null,
    command: l.command,
    profile: l.profile,
    profileSource: l.profileSource,
    environment: env.run,
    plan: l.plan,
    variants: l.variants.map((v) => ({ ...v, ...(env.variants?.get(v.name) ? { environment: env.variants.get(v.name)! } : {}), trials: [] })),
    warnings: [...l.warnings],
  };
  if (l.probeCalibration) result.probeCalibration = l.probeCalibration;
  return result;
}

/** The plan's trials in order, the result saved after each one; the run's status at the end. */
export async function runTrialLoop(l: TrialLoop): Promise<RunOutcome> {
  const { dir, plan, variants, profile, executor } = l;
  const progress = l.progress;
  const result = newResult(l);
  const refreshEnvironment = (): void => {
    const env = executor.environment();
    result.environment = env.run;
    for (const v of result.variants) {
      const e = env.variants?.get(v.name);
      if (e) v.environment = e;
    }
  };
  // A failed write (no space, read-only, I/O error) stops the run: result.json is written all
  // or nothing, so the file on disk is the last complete save, and the message says what it
  // holds. The trial that ran has stopped its processes by then (runTrial's teardown).
  let savedTrials: number | null = null;
  const save = (): void => {
    refreshEnvironment();
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

  const variantResult = (name: string) => result.variants.find((v) => v.name === name)!;
  const abort = new AbortController();
  const forgetSignal = (l.onInterrupt ?? onSignal)((sig) => {
    abort.abort();
    const measured = executor.arrived?.() ?? null;
    if (measured) variantResult(measured.variant).trials.push(measured);
    result.status = 'incomplete';
    result.statusReason = `interrupted by ${sig}`;
    result.finishedAt = new Date().toISOString();
    save();
    progress({ event: 'run-end', status: `interrupted (${sig}); ${countOk(result)} trials kept`, resultDir: dir, seconds: 0 });
  });
  const started = Date.now();
  let failedInARow = 0;
  const eta = new EtaEstimator();
  progress({ event: 'run-start', profile: profile.name, trials: plan.trials.length, minimumSeconds: minimumPlanSeconds(profile, plan), transfers: transferDeadlineSeconds(plan), resultDir: dir });
  try {
    for (const planned of plan.trials) {
      const variant = variants.find((v) => v.name === planned.variant)!;
      eta.trialStart(performance.now() / 1000);
      const left = eta.secondsLeft(plan.trials.length - planned.index);
      progress({ event: 'trial-start', index: planned.index, total: plan.trials.length, variant: variant.name, repetition: planned.repetition, warmup: planned.warmup, secondsLeft: left });
      let trial: TrialResult;
      try {
        trial = await executor.execute(planned, variant, abort.signal);
      } catch (e) {
        // Interrupted: the signal hook has saved the result as interrupted; a trial (or a VM)
        // ended by that signal must not overwrite it as failed.
        if (abort.signal.aborted) throw e;
        // A capability/input problem, or a VM gone: keep the failed trial and what came before, then stop.
        const t = (e as { trial?: TrialResult }).trial;
        if (t) variantResult(variant.name).trials.push(t);
        result.status = 'failed';
        result.statusReason = (e as Error).message;
        result.finishedAt = new Date().toISOString();
        save();
        throw e;
      }
      if (abort.signal.aborted) break;
      variantResult(variant.name).trials.push(trial);
      failedInARow = trial.status === 'failed' ? failedInARow + 1 : 0;
      for (const c of trial.crossCheck.filter((x) => !x.ok)) {
        const msg = `trial ${trial.index + 1} (${trial.variant}): cross-check failed: ${c.name}: probe ${c.probe} vs ${c.counter} (${(c.relativeDifference * 100).toFixed(2)}% > ${(c.tolerance * 100).toFixed(2)}%)`;
        result.warnings.push(msg);
        progress({ event: 'warning', message: msg });
      }
      save();
      progress({ event: 'trial-end', index: trial.index, variant: trial.variant, status: trial.status, xmitPps: trial.metrics.xmit_pps, rxPps: trial.metrics.rx_pps, dropRatio: trial.metrics.drop_ratio, ...(trial.error ? { error: trial.error } : {}) });
      if (failedInARow >= MAX_FAILED_IN_A_ROW) {
        const msg = `${failedInARow} trials in a row failed (last: ${trial.error ?? 'unknown error'}): the run stops here`;
        result.warnings.push(msg);
        progress({ event: 'warning', message: msg });
        break;
      }
    }
    if (!abort.signal.aborted) {
      // The VMs' totals (run time, pauses) are known once they are down.
      await executor.finish();
      const all = result.variants.flatMap((v) => v.trials);
      const failed = all.filter((t) => t.status === 'failed');
      const notRun = plan.trials.length - all.length;
      if (failed.length === 0 && notRun === 0) {
        result.status = 'complete';
        delete result.statusReason;
      } else {
        const first = failed[0];
        result.status = failedInARow >= MAX_FAILED_IN_A_ROW ? 'failed' : 'incomplete';
        result.statusReason = `${failed.length} of ${all.length} trials failed${notRun > 0 ? ` and ${notRun} did not run` : ''}${first ? ` (first: trial ${first.index + 1}, ${first.variant}: ${first.error ?? 'unknown error'})` : ''}`;
      }
      result.finishedAt = new Date().toISOString();
      save();
      progress({ event: 'run-end', status: result.status, resultDir: dir, seconds: (Date.now() - started) / 1000, trials: all.length, failedTrials: failed.length, ...(result.statusReason ? { reason: result.statusReason } : {}) });
    }
    return { result, dir };
  } finally {
    forgetSignal();
  }
}

function countOk(r: Result): number {
  return r.variants.flatMap((v) => v.trials).filter((t) => t.status === 'ok').length;
}
