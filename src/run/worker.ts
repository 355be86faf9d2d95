// The guest side of the VM executor (tunbench vm-worker, started inside each VM by
// src/run/executors/worker-vm.ts): detects this kernel's capabilities once, then runs the trials the host
// asks for, one at a time, and exits when told to (src/run/executors/worker-channel.ts has the protocol).
// The host keeps the run's result.json; this process writes only its responses and the
// trials' raw probe files.
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.ts';
import { detectCapabilities } from '../doctor/capabilities.ts';
import { acquireRunLock } from '../process/lock.ts';
import { ProfileSchema } from '../profile/schema.ts';
import { writeJsonAtomic } from '../result/store.ts';
import { runTrial } from '../trial/run-trial.ts';
import type { TrialResult } from '../types.ts';
import { channelFiles, workerMarker, type WorkerRequest, type WorkerResponse } from './executors/worker-channel.ts';

export async function serveTrials(o: { channel: string; profileFile: string; out: string }): Promise<number> {
  const files = channelFiles(o.channel);
  const profile = ProfileSchema.parse(JSON.parse(readFileSync(o.profileFile, 'utf8')));
  const release = acquireRunLock();
  try {
    const t0 = performance.now();
    const caps = await detectCapabilities();
    writeJsonAtomic(files.ready, { caps, detectSeconds: (performance.now() - t0) / 1000 });
    console.log(`${workerMarker.ready} ${caps.kernel.release}`);
    for (let seq = 0; ; seq++) {
      while (!existsSync(files.request(seq))) await sleep(50);
      const req = JSON.parse(readFileSync(files.request(seq), 'utf8')) as WorkerRequest;
      if (req.kind === 'exit') return 0;
      let res: WorkerResponse;
      try {
        const trial = await runTrial(req.planned, req.variant, {
          profile, caps, backend: req.backend, resultDir: o.out, signal: new AbortController().signal,
          progress: (e) => { if (e.event === 'trial-start' || e.event === 'trial-end' || e.event === 'warning') console.log(`tbw: ${JSON.stringify(e)}`); },
        });
        res = { kind: 'trial', trial };
      } catch (e) {
        const trial = (e as { trial?: TrialResult }).trial;
        res = { kind: 'error', message: (e as Error).message, userError: e instanceof UserError, ...(e instanceof UserError && e.hint ? { hint: e.hint } : {}), ...(trial ? { trial } : {}) };
      }
      writeJsonAtomic(files.response(seq), res);
      console.log(`${workerMarker.done} ${seq}`);
    }
  } finally {
    release();
  }
}
