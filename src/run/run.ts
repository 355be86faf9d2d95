// A run: input checked (preflight.ts), the run lock, an executor started for the profile's
// target (this host, or one VM per kernel), then the trial loop (loop.ts). Order before any
// traffic: the profile against this machine's CPUs and the result folder (cheap, nothing
// attached), then the run lock, and only then capability detection (it attaches bpftrace
// programs, which would disturb a run that is measuring) and the requirement check.
import { onCleanup } from '../process/cleanup.ts';
import { acquireRunLock } from '../process/lock.ts';
import { buildPlan } from '../profile/plan.ts';
import type { Profile } from '../profile/schema.ts';
import { calibrationKey, findCalibration } from '../result/calibration.ts';
import type { ProgressEvent } from '../progress.ts';
import { newResultDir } from '../result/store.ts';
import { startHostExecutor } from './executors/host.ts';
import { startVmExecutor } from './executors/vm.ts';
import { runTrialLoop, type RunContext, type RunOutcome } from './loop.ts';
import { checkRunInput, runWarnings } from './preflight.ts';

export interface RunOptions {
  profile: Profile;
  profileSource: string;
  out?: string;
  command: string[];
  progress: (e: ProgressEvent) => void;
  /** Lines about the VMs (kernels, boots, retries). Default: stdout. */
  log?: (line: string) => void;
  /** The VMs' kernels came from --kernel (for messages). */
  kernelFlag?: boolean;
}

export async function runProfile(o: RunOptions): Promise<RunOutcome> {
  const { profile } = o;
  // The plan is the one place variants are resolved (profile/plan.ts); everything takes them from it.
  const plan = buildPlan(profile);
  const variants = plan.variants;
  const now = new Date();
  checkRunInput(profile, { variants, out: o.out, now, ...(o.kernelFlag ? { kernelFlag: true } : {}) });
  // The lock before capability detection; released by the cleanup stack too (SIGINT, SIGTERM).
  const releaseLock = acquireRunLock();
  const forgetLock = onCleanup('run lock', async () => releaseLock());
  try {
    let made: { dir: string; id: string } | null = null;
    const ctx: RunContext = { profile, variants, plan, progress: o.progress, log: o.log ?? ((l) => console.log(l)), resultDir: () => (made ??= newResultDir(profile.name, o.out, now)) };
    const started = profile.target === 'vm' ? await startVmExecutor(ctx) : await startHostExecutor(ctx);
    try {
      const { dir, id } = ctx.resultDir();
      // Probed host variants without probes-off twins: the stored calibration of this machine,
      // kernel and probe scripts states what the probes cost (tunbench calibrate).
      // A calibration measures each level at its default lock probes: not for a variant that changes them.
      const untwinned = variants.find((v) => v.probes.level !== 'off' && !v.probes.measureOverhead && (v.probes.locks === undefined || v.probes.locks === (v.probes.level === 'full')));
      const calibration = profile.target === 'host' && untwinned ? findCalibration(calibrationKey(started.caps[0]!.kernel.release, untwinned.probes.sampleIntervalMs)) : null;
      return await runTrialLoop({
        dir, id, command: o.command, profile, profileSource: o.profileSource, plan, variants,
        warnings: [...started.warnings, ...runWarnings(started.caps, started.backends, started.accel)],
        probeCalibration: calibration, progress: o.progress, executor: started.executor,
      });
    } finally {
      await started.close();
    }
  } finally {
    forgetLock();
    releaseLock();
  }
}
