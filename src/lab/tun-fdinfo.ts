// tun's per-queue state from a reader's /proc/PID/fdinfo/FD: on a kernel with tunbench's patch
// 0002 each tun file shows "backpressure:", "txq_stopped:", "bp_stops:", "bp_wakes:" and
// "tun_drops:" beside "iff:" and "queue:" (patch 0001). One read of a few small files per
// instant: no program in the kernel, nothing per packet. Elsewhere the lines are absent and
// readTunQueues answers null.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { UserError } from '../errors.ts';
import type { TunQueueState } from '../types.ts';

export interface TunFdinfo {
  iff: string;
  backpressure: boolean;
  /** 1 stopped, 0 running, -1 detached. */
  txqStopped: number;
  stops: number;
  wakes: number;
  tunDrops: number;
}

/** Parse one tun file's fdinfo; null when it lacks patch 0002's lines (or is no tun file). */
export function parseTunFdinfo(text: string): TunFdinfo | null {
  const field = (k: string): string | null => text.match(new RegExp(`^${k}:\\s*(\\S*)`, 'm'))?.[1] ?? null;
  const iff = field('iff');
  const nums = ['backpressure', 'txq_stopped', 'bp_stops', 'bp_wakes', 'tun_drops'].map((k) => field(k));
  if (iff === null || nums.some((n) => n === null || !/^-?\d+$/.test(n))) return null;
  const [bp, stopped, stops, wakes, drops] = nums.map(Number) as [number, number, number, number, number];
  return { iff, backpressure: bp === 1, txqStopped: stopped, stops, wakes, tunDrops: drops };
}

/** Sum over the queues of DEV that process PID holds open; null when it holds none or the kernel lacks patch 0002. */
export function sumTunQueues(files: TunFdinfo[], dev: string): TunQueueState | null {
  const mine = files.filter((f) => f.iff === dev);
  if (mine.length === 0) return null;
  return {
    tunDrops: mine.reduce((s, f) => s + f.tunDrops, 0),
    stops: mine.reduce((s, f) => s + f.stops, 0),
    wakes: mine.reduce((s, f) => s + f.wakes, 0),
    stopped: mine.filter((f) => f.txqStopped === 1).length,
  };
}

/** The tun files PID holds (its fds whose link names tun) that show patch 0002's lines. */
export function readTunFiles(pid: number): TunFdinfo[] {
  const files: TunFdinfo[] = [];
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return files;
  }
  for (const fd of fds) {
    try {
      // A tun file's link is /dev/net/tun where the reader opened it; in another mount
      // namespace or root it may read otherwise, so anything named tun is parsed (fdinfo
      // without tun's "iff:" and patch 0002's lines is no tun file and yields null).
      if (!/tun/.test(readlinkSync(`/proc/${pid}/fd/${fd}`))) continue;
      const f = parseTunFdinfo(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (f) files.push(f);
    } catch {
      /* the fd closed meanwhile */
    }
  }
  return files;
}

/** DEV's tx_dropped from a /proc/PID/net/dev text (the reader's namespace); null if absent. */
export function parseNetDevTxDropped(text: string, dev: string): number | null {
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0 || line.slice(0, i).trim() !== dev) continue;
    // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop ...
    const f = line.slice(i + 1).trim().split(/\s+/).map(Number);
    return f.length >= 12 && Number.isFinite(f[11]) ? f[11]! : null;
  }
  return null;
}

function txDroppedOf(pid: number, dev: string): number | null {
  try {
    return parseNetDevTxDropped(readFileSync(`/proc/${pid}/net/dev`, 'utf8'), dev);
  } catch {
    return null;
  }
}

/** Read the tun files PID holds for DEV, summed; null when none (or no patch 0002). With the
 * device's tx_dropped of the same instant, so that tx_dropped - tun_drops (the core's drops at
 * a stopped queue) is exact: net/dev and fdinfo are read in turn, synchronously, and the first
 * read that the other counter did not move across is taken (tx_dropped unchanged around an
 * fdinfo read, or tun_drops unchanged around a net/dev read: stock tun under a flood moves
 * both, a backpressure queue moves only tx_dropped). */
export function readTunQueues(pid: number, dev: string): TunQueueState | null {
  let d = txDroppedOf(pid, dev);
  let s = sumTunQueues(readTunFiles(pid), dev);
  if (!s) return null;
  if (d === null) return s;
  for (let i = 0; i < 50; i++) {
    const d1 = txDroppedOf(pid, dev);
    if (d1 === null) return s;
    if (d1 === d) return { ...s, txDropped: d1 };
    const s1 = sumTunQueues(readTunFiles(pid), dev);
    if (!s1) return s;
    if (s1.tunDrops === s.tunDrops) return { ...s1, txDropped: d1 };
    d = d1;
    s = s1;
  }
  // Both moved across 50 reads: leave the instant's tx_dropped out (the split then falls back
  // to the queues' stop counts or the device counters read beside them).
  return s;
}

/** Throws unless each of the `queues` tun files of DEV in `files` took backpressure `want`. */
export function checkBackpressure(files: TunFdinfo[], dev: string, want: boolean, queues: number, pid: number, fds = ''): boolean {
  const mine = files.filter((f) => f.iff === dev);
  if (mine.length < queues || mine.some((f) => f.backpressure !== want)) {
    const seen = mine.length ? mine.map((f) => (f.backpressure ? '1' : '0')).join(',') : 'unknown (no "backpressure:" line in its fdinfo)';
    throw new UserError(`the reader of ${dev} (pid ${pid}) has backpressure ${seen} on ${mine.length} of ${queues} queue(s) instead of ${want ? 1 : 0}${fds ? ` (its fds: ${fds})` : ''}`, {
      hint: "tap.backpressure needs tunbench's kernel patch 0002 (vm.kernel: patched) and a ring queue (not tap.queueMode: skq); with a guest consumer vhost-net may hold the queue",
    });
  }
  return want;
}

/** checkBackpressure on what process PID holds now (read after the reader attached). */
export function assertBackpressure(pid: number, dev: string, want: boolean, queues: number): boolean {
  const files = readTunFiles(pid);
  let seen = '';
  if (files.filter((f) => f.iff === dev).length === 0) {
    try {
      seen = readdirSync(`/proc/${pid}/fd`).map((fd) => { try { return `${fd}:${readlinkSync(`/proc/${pid}/fd/${fd}`)}`; } catch { return fd; } }).join(' ');
    } catch (e) {
      seen = (e as Error).message;
    }
  }
  return checkBackpressure(files, dev, want, queues, pid, seen);
}
