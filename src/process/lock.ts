// One measuring run per machine: two runs at once would disturb each other's figures.
//
// The lock is the file LOCK_PATH holding its owner's "<pid> <start time>" line (the start
// time, from /proc/<pid>/stat, tells a reused pid from the owner). It cannot race:
//  - Taking it: the line is written to a private temp file first, which is then link()ed to
//    LOCK_PATH. link() fails with EEXIST when the lock exists, and a lock that exists is
//    always complete: nobody can read it between its creation and its owner's pid.
//  - A live owner (pid alive, same start time): refused.
//  - A dead owner's lock (stale: the run was SIGKILLed) is taken over under a claim, the
//    directory LOCK_PATH.claim holding one entry named after its holder. The claim is taken
//    by rename()ing a private directory with our entry onto it, which succeeds only when
//    the claim is absent or empty (rename onto a non-empty directory fails), so at most one
//    process holds it; a dead claimer's entry is removed by name (it is nobody else's),
//    which empties it. Holding the claim, the lock is read again: if its owner is still dead
//    it is renamed away and removed. Nobody else can have replaced it in between (an owner
//    removes only its own lock, a takeover needs the claim), so a live owner's lock is
//    never removed.
//  - Releasing: the owner removes the lock if it still holds its own line.
import { closeSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.ts';
import { pidAlive } from './pids.ts';

export const LOCK_PATH = process.env.TUNBENCH_LOCK ?? '/run/lock/tunbench.lock';

interface Owner {
  pid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat); null when not recorded. */
  start: number | null;
}

/** Start time of a process (clock ticks since boot), or null when it is gone. */
export function processStartTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isFinite(start) ? start : null;
  } catch {
    return null;
  }
}

function ownerAlive(o: Owner): boolean {
  if (!pidAlive(o.pid)) return false;
  if (o.start === null) return true;
  const now = processStartTime(o.pid);
  return now === null || now === o.start; // a different start time: the pid was reused
}

function parseOwner(text: string): Owner | null {
  const m = /^\s*(\d+)(?:[ -](\d+))?\s*$/.exec(text);
  if (!m) return null;
  const pid = Number(m[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  return { pid, start: m[2] !== undefined ? Number(m[2]) : null };
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

type Seen = { kind: 'gone' } | { kind: 'owner'; owner: Owner; text: string } | { kind: 'garbage'; ageMs: number; text: string };

function look(path: string): Seen {
  let text: string;
  let ageMs: number;
  try {
    text = readFileSync(path, 'utf8');
    ageMs = Date.now() - statSync(path).mtimeMs;
  } catch (e) {
    if (errCode(e) === 'ENOENT') return { kind: 'gone' };
    throw new UserError(`cannot read the run lock ${path}: ${(e as Error).message}`, { hint: `remove ${path} if no tunbench run is going on` });
  }
  const owner = parseOwner(text);
  return owner ? { kind: 'owner', owner, text } : { kind: 'garbage', ageMs, text };
}

function busy(path: string, o: Owner): UserError {
  const self = o.pid === process.pid ? ' (this very process)' : '';
  return new UserError(`another tunbench run (pid ${o.pid}${self}) is measuring on this machine (lock ${path})`, {
    hint: 'wait for it to finish: two runs at once would disturb each other\'s figures',
  });
}

/** Stale means: its owner is dead, or it is not a lock line at all and has stayed so for a while. */
function isStale(s: Seen): boolean {
  return (s.kind === 'owner' && !ownerAlive(s.owner)) || (s.kind === 'garbage' && s.ageMs > 2000);
}

/** Take the takeover claim (see the top of the file); returns its release. */
function takeClaim(path: string, me: Owner, waitMs = 5000): () => void {
  const claim = `${path}.claim`;
  const entry = `${me.pid}-${me.start ?? 0}`;
  const mine = `${claim}.${me.pid}.${Math.random().toString(36).slice(2)}`;
  mkdirSync(mine);
  closeSync(openSync(join(mine, entry), 'wx'));
  const deadline = Date.now() + waitMs;
  try {
    for (;;) {
      try {
        renameSync(mine, claim);
        return () => {
          try {
            unlinkSync(join(claim, entry));
            rmdirSync(claim);
          } catch {
            /* another claimer's directory already replaced the empty one */
          }
        };
      } catch (e) {
        if (errCode(e) === 'EXDEV') throw new UserError(`the run lock's folder ${dirname(path)} cannot rename directories (an overlay file system's lower layer?): a stale lock there cannot be taken over`, { hint: `set TUNBENCH_LOCK to a path on a tmpfs (e.g. /run/lock/tunbench.lock on a machine whose /run is tmpfs), or remove ${path} if no run is going on` });
        if (errCode(e) !== 'ENOTEMPTY' && errCode(e) !== 'EEXIST') throw e;
      }
      let holders: string[] = [];
      try {
        holders = readdirSync(claim);
      } catch (e) {
        if (errCode(e) !== 'ENOENT') throw e;
      }
      let live: Owner | null = null;
      for (const h of holders) {
        const o = parseOwner(h);
        if (o && ownerAlive(o)) live = o;
        else {
          try {
            unlinkSync(join(claim, h)); // a dead claimer's entry: nobody else's
          } catch {
            /* removed by another process meanwhile */
          }
        }
      }
      if (live === null) continue;
      if (Date.now() > deadline) throw new UserError(`the run lock ${path} is being taken over by pid ${live.pid} for more than ${waitMs} ms`, { hint: `retry; if it persists, remove ${claim}` });
      sleepSync(2);
    }
  } finally {
    try {
      unlinkSync(join(mine, entry));
      rmdirSync(mine);
    } catch {
      /* renamed onto the claim */
    }
  }
}

/**
 * Take the machine's run lock, or throw a UserError naming the run that holds it. Returns
 * the release function (idempotent; it removes the lock only while it is still ours).
 */
export function acquireRunLock(path = LOCK_PATH): () => void {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    throw new UserError(`cannot create the folder of the run lock ${path}: ${(e as Error).message}`, { hint: 'set TUNBENCH_LOCK to a writable path' });
  }
  const me: Owner = { pid: process.pid, start: processStartTime(process.pid) };
  const line = `${me.pid} ${me.start ?? 0}\n`;
  const tmp = `${path}.${me.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    const fd = openSync(tmp, 'wx');
    try {
      writeSync(fd, line);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new UserError(`cannot write the run lock ${path}: ${(e as Error).message}`, { hint: 'set TUNBENCH_LOCK to a writable path' });
  }
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        linkSync(tmp, path);
        let released = false;
        return () => {
          if (released) return;
          released = true;
          try {
            if (readFileSync(path, 'utf8') === line) unlinkSync(path);
          } catch {
            /* already gone */
          }
        };
      } catch (e) {
        if (errCode(e) !== 'EEXIST') throw new UserError(`cannot take the run lock ${path}: ${(e as Error).message}`, { hint: 'set TUNBENCH_LOCK to a writable path' });
      }
      const seen = look(path);
      if (seen.kind === 'gone') continue; // released meanwhile
      if (seen.kind === 'owner' && !isStale(seen)) throw busy(path, seen.owner);
      if (!isStale(seen)) {
        sleepSync(20); // a line being written by an older tunbench: look again
        continue;
      }
      const releaseClaim = takeClaim(path, me);
      try {
        const again = look(path);
        if (again.kind === 'owner' && !isStale(again)) throw busy(path, again.owner);
        if (again.kind !== 'gone' && isStale(again)) {
          // Still the dead owner's: nobody else can have replaced it while we hold the claim.
          const aside = `${path}.stale-${me.pid}`;
          renameSync(path, aside);
          unlinkSync(aside);
        }
      } finally {
        releaseClaim();
      }
    }
    throw new UserError(`could not take the run lock ${path} after 100 attempts`, { hint: 'retry; another run keeps taking and releasing it' });
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* gone */
    }
  }
}
