// The run's time left, from what the trials really took. A trial's length is everything from
// its start to the next trial's start: set-up, ramp-up, window, drain, the result's save and,
// in a VM, the guest's bpftrace compile or a worker VM's resume and pause. No estimate is made
// from the profile alone: under TCG a trial takes ten times its window and more, so a figure
// computed from the window was wrong by a factor.
//
// The rule: the length of the trials still to run is the mean of the measured ones, the first
// left out once there are others (it carries the run's cold costs: the first bpftrace compile,
// caches, a VM's first trial), times the number left. It is shown only when the estimate has
// just predicted a trial well: the latest trial took within ETA_TOLERANCE of the per-trial
// length estimated before it. So nothing is shown before two trials have ended, nor after a
// trial that broke the pattern (a first trial three times the rest hides it until the next one
// confirms the new length).

/** A shown estimate must have predicted the latest trial within this fraction of its length. */
export const ETA_TOLERANCE = 0.25;

export class EtaEstimator {
  private readonly durations: number[] = [];
  private lastStart: number | null = null;
  private confirmed = false;

  /** A trial starts at `now` (seconds, any monotonic clock); the one before it, if any, ended. */
  trialStart(now: number): void {
    if (this.lastStart !== null) this.trialEnded(now - this.lastStart);
    this.lastStart = now;
  }

  /** One trial took `seconds` (everything up to the next trial's start). */
  trialEnded(seconds: number): void {
    const before = this.perTrial();
    this.durations.push(seconds);
    this.confirmed = before !== null && Math.abs(seconds - before) <= ETA_TOLERANCE * seconds;
  }

  /** The per-trial length the measured trials give, or null before any ended. */
  perTrial(): number | null {
    const d = this.durations.length > 1 ? this.durations.slice(1) : this.durations;
    return d.length === 0 ? null : d.reduce((a, b) => a + b, 0) / d.length;
  }

  /** Seconds left for `trialsLeft` trials, or null while the estimate is not known to be good. */
  secondsLeft(trialsLeft: number): number | null {
    const per = this.perTrial();
    return this.confirmed && per !== null ? per * trialsLeft : null;
  }
}
