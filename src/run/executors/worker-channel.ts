// The files through which the host drives a worker VM (several kernels in one run). The
// channel is a folder inside the run's result folder, which the guest mounts read-write at
// the same path (9p, no cache: each side sees the other's files at once):
//   ready.json        guest -> host, once: the guest's capabilities (detected inside it)
//   request-N.json    host -> guest: run this planned trial, or exit
//   response-N.json   guest -> host: the trial's result, or the error that stopped it
// Every file is written whole (tmp + rename), so a reader never sees half of one.
import { join } from 'node:path';
import type { Capabilities, PlannedTrial, ProbeBackend, ResolvedVariant, TrialResult } from '../../types.ts';

export interface WorkerReady {
  caps: Capabilities;
  /** Seconds the guest spent detecting capabilities. */
  detectSeconds: number;
}

export type WorkerRequest =
  | { kind: 'trial'; planned: PlannedTrial; variant: ResolvedVariant; backend: ProbeBackend | null }
  | { kind: 'exit' };

export type WorkerResponse =
  | { kind: 'trial'; trial: TrialResult }
  /** The trial could not run at all (a capability or input problem): the run stops. */
  | { kind: 'error'; message: string; hint?: string; userError: boolean; trial?: TrialResult };

export const channelFiles = (channel: string) => ({
  ready: join(channel, 'ready.json'),
  request: (seq: number) => join(channel, `request-${seq}.json`),
  response: (seq: number) => join(channel, `response-${seq}.json`),
});

/** Console lines the worker prints (activity for the host's watchdog, and a record). */
export const workerMarker = { ready: 'TBW-READY', done: 'TBW-DONE' } as const;
