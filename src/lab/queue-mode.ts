// Which queue a tap reader really got: tunbench's kernel patch prints "queue:\tring|skq" in
// /proc/PID/fdinfo/FD of every tun fd. Read from the consumer after it attached, so a
// variant never measures another queue than the one it names.
import { readdirSync, readFileSync } from 'node:fs';
import { UserError } from '../errors.ts';

/** The queue: lines of every fd of `pid` that has one (one per attached tap queue). */
export function observedQueueModes(pid: number): string[] {
  const out: string[] = [];
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^queue:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m?.[1]) out.push(m[1]);
    } catch {
      /* fd closed meanwhile */
    }
  }
  return out;
}

/** Throws unless every tun fd of the consumer reports `mode`; returns what was seen. */
export function assertQueueMode(pid: number, mode: 'ring' | 'skq', queues: number): 'ring' | 'skq' {
  const seen = observedQueueModes(pid);
  if (seen.length < queues || seen.some((s) => s !== mode)) {
    throw new UserError(`the tap's reader (pid ${pid}) got queue ${seen.length ? seen.join(',') : 'unknown (no "queue:" in its fdinfo)'} instead of ${mode}`, {
      hint: 'tap.queueMode needs tunbench\'s kernel patch (vm.kernel: patched); with a guest consumer vhost-net may hold the queue',
    });
  }
  return mode;
}
