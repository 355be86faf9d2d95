// iperf 2 (Debian's iperf 2.1.8) as an IPv6 multicast sender: one UDP socket, a fixed amount
// (-n BYTES), paced at -b, hop limit 1 (-T 1), out of the lab's sender interface
// (GROUP%DEV). iperf 2 is used rather than iperf3 because iperf3 has no multicast; its
// enhanced output (-e) reports the writes and the write errors the socket returned, which is
// what the sender saw. mtools (msend) sends no fixed amount and socat one datagram per line
// of input, so iperf 2 is the Debian tool that fits.
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { assertLabNamespace } from '../../lab/lab.ts';
import type { McastOptions } from '../../profile/schema.ts';

/** iperf 2's path on PATH, or null. */
export function iperf2Path(): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const p = join(dir, 'iperf');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch { /* next */ }
  }
  return null;
}

export function iperf2Args(g: McastOptions, dev: string, bytes: number): string[] {
  return ['-u', '-V', '-e', '-c', `${g.group}%${dev}`, '-p', String(g.port), '-n', String(bytes), '-b', String(g.bitrate), '-l', String(g.length), '-T', '1'];
}

/** What iperf 2's client printed at its end (-e): null fields where it printed no such line. */
export interface Iperf2Report {
  /** write() calls that succeeded / returned an error (the "Write/Err" column of the total line). */
  writes: number | null;
  writeErrors: number | null;
  /** "Sent N datagrams" (its count includes the final datagram that tells a receiver the test ended). */
  datagrams: number | null;
  /** Bytes and seconds of the total line. */
  bytes: number | null;
  seconds: number | null;
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** Parse iperf 2's enhanced client output (pure; unit-tested on a real capture). */
export function parseIperf2(out: string): Iperf2Report {
  const r: Iperf2Report = { writes: null, writeErrors: null, datagrams: null, bytes: null, seconds: null };
  // [  1] 0.0000-0.0971 sec  10.0 MBytes   864 Mbits/sec  8739/0    90050 pps
  const total = /\[\s*\d+\]\s+([\d.]+)-([\d.]+)\s+sec\s+([\d.]+)\s+([KMG]?)Bytes\s+[\d.]+\s+[KMG]?bits\/sec\s+(\d+)\/(\d+)/g;
  let m: RegExpExecArray | null;
  let last: RegExpExecArray | null = null;
  while ((m = total.exec(out))) last = m;
  if (last) {
    r.seconds = Number(last[2]) - Number(last[1]);
    r.bytes = Math.round(Number(last[3]) * (UNITS[last[4]!] ?? 1));
    r.writes = Number(last[5]);
    r.writeErrors = Number(last[6]);
  }
  const sent = /Sent (\d+) datagrams/.exec(out);
  if (sent) r.datagrams = Number(sent[1]);
  return r;
}

export interface RunningIperf2 {
  pid: number;
  command: string[];
  /** Settles when iperf exits: its monotonic exit time, exit code and output. */
  done: Promise<{ exitedNs: number; exitCode: number | null; signal: string | null; output: string }>;
  /** The kernel functions its threads sleep in (/proc/PID/task/TID/wchan): where a blocked sender waits. */
  wchan(): string[];
  /** SIGINT (iperf prints its report), then SIGKILL after 2 s. */
  stop(): void;
}

export function startIperf2(o: { netns: string; dev: string; options: McastOptions; bytes: number; binary?: string }): RunningIperf2 {
  assertLabNamespace(o.netns);
  const command = ['ip', 'netns', 'exec', o.netns, o.binary ?? 'iperf', ...iperf2Args(o.options, o.dev, o.bytes)];
  const proc: ResultPromise<{ reject: false; all: true; stdin: 'ignore'; forceKillAfterDelay: 2000 }> = execa(command[0]!, command.slice(1), { reject: false, all: true, stdin: 'ignore', forceKillAfterDelay: 2000 });
  const done = proc.then((r) => ({ exitedNs: Number(process.hrtime.bigint()), exitCode: r.exitCode ?? null, signal: r.signal ?? null, output: String(r.all ?? '') }));
  return {
    pid: proc.pid!,
    command,
    done,
    wchan() {
      // `ip netns exec` execs iperf in place, so the pid is iperf's.
      const out: string[] = [];
      try {
        for (const tid of readdirSync(`/proc/${proc.pid}/task`)) {
          try { out.push(readFileSync(`/proc/${proc.pid}/task/${tid}/wchan`, 'utf8').trim() || '0'); } catch { /* gone */ }
        }
      } catch { /* gone */ }
      return out;
    },
    stop() {
      proc.kill('SIGINT');
    },
  };
}
