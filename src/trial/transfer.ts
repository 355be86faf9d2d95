// A fixed transfer timed to completion (workload.transfer), and a stalled reader
// (workload.stall). The generator sends a set amount (trafgen --num, pktgen count, iperf3 -n)
// and ends by itself; the transfer is complete when the generator has finished and the reader
// has stopped taking packets (its count stood still for QUIET_MS). At the deadline an
// unfinished transfer is stopped: the verdict "did not finish" is recorded in the trial, the
// trial itself is ok (its accounts still close over the quiet span).
//
// The stall: SIGSTOP of the reader process (every reader thread stops: a paused guest), then
// SIGCONT forSeconds later; without forSeconds the reader is only woken after the transfer
// ended (a tap nobody reads), so the queue can drain and the accounts close. The reader's
// progress is read from the tap's tx_packets, not asked of the reader (a stopped reader could
// not answer).
import { setTimeout as sleep } from 'node:timers/promises';
import type { StallOptions, TransferOptions } from '../profile/schema.ts';
import type { TransferReadings } from '../types.ts';

/** The reader's count must stand still this long for the transfer to count as delivered. */
export const QUIET_MS = 200;
/** How often the reader's count (one `ip -s link` each) is read once the generator has finished. */
export const POLL_MS = 20;

const monotonicNs = () => Number(process.hrtime.bigint());

export interface TransferParticipants {
  /** Starts the generator (called once the stall's timers are armed); resolves with the time
   * (monotonic ns) it exited, as a promise that settles when it has sent its amount (or failed). */
  startGenerator: () => Promise<{ exitedNs: Promise<number> }>;
  /** The reader's process (SIGSTOP/SIGCONT for a stall). */
  readerPid: number;
  /** Packets the reader has taken so far (the tap's tx_packets: tun counts a packet when the
   * reader copies it out; readable while the reader is stopped). */
  readerCount: () => Promise<{ tNs: number; packets: number }>;
  /** Settles (with a reason) when something the transfer needs died: the reader, the probes. */
  failed: Promise<string>;
  signal: AbortSignal;
}

/** Sends a signal to the reader, tolerating a reader that is gone. */
function signalReader(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Error thrown when something the transfer needs died or the run was interrupted. */
export class TransferAborted extends Error {
  constructor(message: string, readonly interrupted = false) {
    super(message);
  }
}

/**
 * Start the generator and run the transfer from its start (startNs, taken here) to
 * completion or the deadline. Resolves with the record; the caller stops the generator (it
 * has exited by itself unless the verdict is did-not-finish) and reads the window's end.
 * The reader is running again when this returns.
 */
export async function runTransfer(o: { transfer: TransferOptions; stall?: StallOptions; p: TransferParticipants }): Promise<TransferReadings> {
  const { transfer, stall, p } = o;
  const startNs = monotonicNs();
  const deadlineNs = startNs + transfer.deadlineSeconds * 1e9;
  const rec: TransferReadings = {
    ...(transfer.packets !== undefined ? { packets: transfer.packets } : {}),
    ...(transfer.bytes !== undefined ? { bytes: transfer.bytes } : {}),
    deadlineSeconds: transfer.deadlineSeconds,
    startNs,
    senderDoneNs: null,
    lastReadNs: null,
    verdict: 'did-not-finish',
    ...(stall ? { stall: { afterSeconds: stall.afterSeconds, forSeconds: stall.forSeconds ?? null, stoppedNs: null, resumedNs: null } } : {}),
  };
  let stopped = false;
  let finished = false;
  const timers: NodeJS.Timeout[] = [];
  const stopReader = () => {
    if (finished || stopped || !rec.stall || rec.stall.stoppedNs !== null) return;
    if (signalReader(p.readerPid, 'SIGSTOP')) {
      stopped = true;
      rec.stall.stoppedNs = monotonicNs();
      // The stall lasts forSeconds from the stop itself (a late timer, as under TCG, shifts it, not shortens it).
      if (stall?.forSeconds !== undefined) timers.push(setTimeout(resumeReader, stall.forSeconds * 1000));
    }
  };
  const resumeReader = () => {
    if (!stopped || !rec.stall) return;
    signalReader(p.readerPid, 'SIGCONT');
    stopped = false;
    rec.stall.resumedNs = monotonicNs();
  };
  if (stall?.afterSeconds === 0) stopReader(); // before the generator starts
  else if (stall) timers.push(setTimeout(stopReader, Math.max(0, (startNs + stall.afterSeconds * 1e9 - monotonicNs()) / 1e6)));
  let genDone = false;
  let failure: string | null = null;
  void p.failed.then((why) => (failure = why));
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  p.signal.addEventListener('abort', onAbort);
  const wait = (ms: number) => sleep(ms, undefined, { signal: ac.signal }).catch(() => undefined);
  try {
    const gen = await p.startGenerator();
    // An exit after the verdict (the generator stopped at the deadline) is not the sender's end.
    const exited = gen.exitedNs.then((ns) => {
      if (finished) return;
      genDone = true;
      rec.senderDoneNs = ns;
    }, () => undefined);
    // 1. The sender: until the generator exits by itself, or the deadline.
    await Promise.race([exited, wait(Math.max(0, (deadlineNs - monotonicNs()) / 1e6)), p.failed]);
    if (p.signal.aborted) throw new TransferAborted('interrupted', true);
    if (failure) throw new TransferAborted(failure);
    if (!genDone) {
      rec.reason = `the sender had not finished at the ${transfer.deadlineSeconds} s deadline`;
      return rec;
    }
    // 2. The reader: a reader stopped for a set time is waited for (its resume is part of the
    // transfer); one that is never resumed cannot take what is queued, so its count is final.
    const stallForever = stall !== undefined && stall.forSeconds === undefined;
    if (stallForever) {
      rec.verdict = 'completed';
      rec.reason = 'the reader never read during the transfer: what it left queued is counted as queued, not delivered';
      return rec;
    }
    let changedAt: { tNs: number; packets: number } | null = null;
    let last: { tNs: number; packets: number } | null = null;
    let stillSince = 0;
    for (;;) {
      if (p.signal.aborted) throw new TransferAborted('interrupted', true);
      if (failure) throw new TransferAborted(failure);
      if (monotonicNs() >= deadlineNs) {
        rec.reason = stopped ? `the reader was still stopped at the ${transfer.deadlineSeconds} s deadline` : `the reader was still taking packets at the ${transfer.deadlineSeconds} s deadline`;
        return rec;
      }
      const c = await p.readerCount();
      if (last && c.packets !== last.packets) changedAt = c;
      // Standing still only counts while the reader runs (a stall yet to come counts as one).
      const pending = stall !== undefined && rec.stall !== undefined && rec.stall.stoppedNs === null;
      if (!last || c.packets !== last.packets || stopped || pending) stillSince = c.tNs;
      last = c;
      if (c.tNs - stillSince >= QUIET_MS * 1e6) break;
      await wait(POLL_MS);
    }
    // The last packet was read between the snapshot before changedAt and changedAt; none after
    // the generator finished: the sender's end is the transfer's end.
    rec.lastReadNs = changedAt ? changedAt.tNs : rec.senderDoneNs;
    rec.verdict = 'completed';
    return rec;
  } finally {
    for (const t of timers) clearTimeout(t);
    p.signal.removeEventListener('abort', onAbort);
    ac.abort();
    finished = true;
    resumeReader();
  }
}

/** Seconds from the transfer's start to its completion (the later of the sender's end and
 * the reader's last packet), or null when it did not finish. */
export function completionNs(t: TransferReadings): number | null {
  if (t.verdict !== 'completed' || t.senderDoneNs === null) return null;
  return Math.max(t.senderDoneNs, t.lastReadNs ?? t.senderDoneNs) - t.startNs;
}

/** Nanoseconds from the transfer's start until the sender had handed over its whole amount
 * (the generator exited by itself), or null when it had not by the deadline. */
export function senderNs(t: TransferReadings): number | null {
  return t.senderDoneNs === null ? null : t.senderDoneNs - t.startNs;
}

/** Nanoseconds the reader was stopped (stall), within the transfer and the drain after it. */
export function stallNs(t: TransferReadings): number | null {
  const s = t.stall;
  if (!s || s.stoppedNs === null) return null;
  return (s.resumedNs ?? s.stoppedNs) - s.stoppedNs;
}
