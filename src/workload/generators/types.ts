// What every generator driver returns.
import type { GeneratorReport } from '../../types.ts';

export interface RunningGenerator {
  /** Processes whose CPU time is the generator's (empty for in-kernel generators). */
  pids: number[];
  /** Stops the generator (idempotent) and returns what it says it sent. */
  stop(): Promise<GeneratorReport>;
  /** Settles when the generator has exited, for whatever reason. */
  exited: Promise<void>;
}
