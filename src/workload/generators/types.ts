// What every generator driver returns.
import type { GeneratorReport } from '../../types.ts';

export interface RunningGenerator {
  /** Processes whose CPU time is the generator's (empty for in-kernel generators). */
  pids: number[];
  /** Stops the generator (idempotent) and returns what it says it sent. */
  stop(): Promise<GeneratorReport>;
  /** Settles when the generator has exited, for whatever reason. */
  exited: Promise<void>;
  /** CLOCK_MONOTONIC ns at which the generator's exit was seen (taken when it happened, so
   * valid for a generator that ended before anyone waited: a short fixed transfer). */
  exitedNs?: Promise<number>;
  /** Ends it at once (a transfer's deadline) where stop() would wait for it to end by itself. */
  abort?(): void;
}
