// Stop/wake of the tap's tx queues (issue 23): from each queue's stopped flag
// (netdev_queue.state bit __QUEUE_STATE_DRV_XOFF) read at the sampler's ticks, the fraction
// of the window each queue spent stopped, its longest stop, its stops and wakes as the ticks
// saw them, and a hang: a queue stopped at the window's last tick and still stopped once the
// reader had drained what it could (never woken). Pure: a saved result's figures are
// recomputed from its ticks alone.
//
// Sample and hold: the state read at a tick holds until the next tick, so a stop shorter
// than the interval can be missed (the kernel's own counts, patch 0002's bp_stops/bp_wakes
// in fdinfo, are exact where they exist); a stop's length is from the first tick that saw it
// to the first tick that saw it lifted.

export interface QueueStopWake {
  /** Time stopped / time covered by the ticks (0..1). */
  stoppedFraction: number;
  /** The longest stop seen, ns (a stop still open at the last tick counts up to it). */
  longestStopNs: number;
  /** 0 -> 1 transitions seen (a queue stopped at the first tick counts one). */
  stops: number;
  /** 1 -> 0 transitions seen. */
  wakes: number;
  /** Stopped at the last tick and still stopped after the drain: since when (ns, the tick
   * that first saw this stop) and for how long up to the last tick. */
  hang: { sinceNs: number; forNs: number } | null;
}

export interface TxqStopWake {
  queues: QueueStopWake[];
  /** Any queue seen stopped at any tick. */
  everStopped: boolean;
}

/**
 * tNs: the ticks' times (ascending); stopped[i][q]: queue q stopped (1) or not (0) at tick i.
 * stillStoppedAfter[q]: whether queue q was still stopped after the drain (a later read: the
 * reader's fdinfo at the quiet instant, or the sampler's tick after the drain); without it a
 * stop open at the last tick is not called a hang.
 */
export function stopWake(tNs: number[], stopped: number[][], stillStoppedAfter?: boolean[]): TxqStopWake {
  if (tNs.length !== stopped.length) throw new Error(`stop/wake: ${tNs.length} tick times for ${stopped.length} samples`);
  const nq = stopped.reduce((m, row) => Math.max(m, row.length), 0);
  const span = tNs.length > 1 ? tNs[tNs.length - 1]! - tNs[0]! : 0;
  const queues: QueueStopWake[] = [];
  for (let q = 0; q < nq; q++) {
    let stoppedNs = 0;
    let longest = 0;
    let stops = 0;
    let wakes = 0;
    let since: number | null = null;
    for (let i = 0; i < tNs.length; i++) {
      const s = (stopped[i]![q] ?? 0) === 1;
      if (s && since === null) {
        since = tNs[i]!;
        stops++;
      } else if (!s && since !== null) {
        longest = Math.max(longest, tNs[i]! - since);
        since = null;
        wakes++;
      }
      if (s && i + 1 < tNs.length) stoppedNs += tNs[i + 1]! - tNs[i]!;
    }
    let hang: QueueStopWake['hang'] = null;
    if (since !== null) {
      const forNs = tNs[tNs.length - 1]! - since;
      longest = Math.max(longest, forNs);
      if (stillStoppedAfter?.[q] === true) hang = { sinceNs: since, forNs };
    }
    queues.push({ stoppedFraction: span > 0 ? stoppedNs / span : 0, longestStopNs: longest, stops, wakes, hang });
  }
  return { queues, everStopped: queues.some((x) => x.stops > 0) };
}
