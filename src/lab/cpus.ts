// CPU placement and CPU-time accounting for the trial's processes.
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export interface CpuPlan {
  /** CPUs of the generator's workers: 0..n-1 (trafgen pins worker i to CPU i itself; pktgen thread i is kpktgend_i on CPU i). */
  generator: number[];
  /** CPU for the consumer (null: not pinned). */
  consumer: number | null;
}

/** Generators take CPUs 0..n-1; the consumer gets the lowest CPU they do not use (CPU 0 if they use all). */
export function planCpus(generatorCount: number, consumerCpu: number | "auto", online = availableParallelism()): CpuPlan {
  const generator: number[] = [];
  for (let i = 0; i < generatorCount; i++) generator.push(i % online);
  let consumer: number | null;
  if (consumerCpu === 'auto') {
    consumer = [...Array(online).keys()].find((c) => !generator.includes(c)) ?? 0;
  } else consumer = consumerCpu < 0 ? null : consumerCpu;
  return { generator, consumer };
}

/** Parse a kernel CPU list ("0-3,6,8-9"); null when it is not one. */
export function parseCpuList(text: string): number[] | null {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return null;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 65536) return null;
    for (let c = a; c <= b; c++) out.push(c);
  }
  return out;
}

/**
 * The CPUs this process can put work on: online (/sys/devices/system/cpu/online) and in its
 * affinity mask (Cpus_allowed_list: taskset, cgroup cpusets). Falls back to 0..n-1.
 */
export function usableCpus(): number[] {
  const read = (path: string, re?: RegExp): number[] | null => {
    try {
      const text = readFileSync(path, 'utf8');
      const m = re ? re.exec(text) : [text, text];
      return m ? parseCpuList(m[1]!) : null;
    } catch {
      return null;
    }
  };
  const online = read('/sys/devices/system/cpu/online');
  const allowed = read('/proc/self/status', /^Cpus_allowed_list:\s*(.+)$/m);
  const base = online ?? [...Array(availableParallelism()).keys()];
  const usable = allowed ? base.filter((c) => allowed.includes(c)) : base;
  return usable.length > 0 ? usable : base;
}

export function formatCpuList(cpus: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; i++) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    parts.push(j > i ? `${cpus[i]}-${cpus[j]}` : `${cpus[i]}`);
    i = j;
  }
  return parts.join(',');
}

/**
 * CPU requests a machine with `usable` CPUs cannot honour: a consumer pinned to a CPU it
 * lacks (the pin would fail and the reader run unpinned), generator CPUs it lacks (trafgen
 * pins worker i to CPU i, pktgen thread i is kpktgend_i). `where` prefixes the field paths
 * (e.g. "variant small-ring: "). Empty when everything fits.
 */
export function cpuProblems(w: { generator: { type: string; cpus?: number; threads?: number }; consumer: { type: string; cpu?: number | 'auto' } }, usable: number[], where = ''): string[] {
  const out: string[] = [];
  const has = `this machine has CPU${usable.length === 1 ? '' : 's'} ${formatCpuList(usable)}`;
  const g = w.generator;
  // trafgen: cpus; pktgen: threads; other generators do not pin by count.
  const key = g.type === 'trafgen' ? 'cpus' : g.type === 'pktgen' ? 'threads' : null;
  const count = key ? g[key] : undefined;
  if (key && typeof count === 'number' && Number.isInteger(count) && count > 0) {
    const missing = [...Array(Math.min(count, 4096)).keys()].filter((c) => !usable.includes(c));
    if (missing.length > 0) {
      out.push(`${where}workload.generator.${key}: ${count} asks for CPU${count === 1 ? '' : 's'} 0-${count - 1} (${g.type} puts worker i on CPU i), but ${has}; set ${key} to at most ${countFromZero(usable)}`);
    }
  }
  const c = w.consumer;
  if (c.type === 'sink' && typeof c.cpu === 'number' && c.cpu >= 0 && !usable.includes(c.cpu)) {
    out.push(`${where}workload.consumer.cpu: CPU ${c.cpu} does not exist here (${has}); use one of them, auto, or -1 (no pinning)`);
  }
  return out;
}

/** How many CPUs 0, 1, 2, ... are usable in a row. */
function countFromZero(usable: number[]): number {
  let n = 0;
  while (usable.includes(n)) n++;
  return n;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/**
 * CPU time of a process (all its threads), in seconds; null if it is gone. From the
 * scheduler's own clock, /proc/PID/task/TID/schedstat (sum_exec_runtime, ns: what the
 * per-packet CPU costs need), summed over the threads alive now; where the kernel keeps no
 * schedstat (no CONFIG_SCHED_INFO: "0 0 0"), utime+stime of /proc/PID/stat (10 ms ticks).
 * A thread that exits between two reads takes its time with it: the trial's processes keep
 * their threads for the whole window.
 */
export function cpuSeconds(pid: number): number | null {
  let ns = 0;
  let any = false;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const f = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ');
        const run = Number(f[0]);
        if (Number.isFinite(run) && !(run === 0 && f[1] === '0')) {
          ns += run;
          any = true;
        }
      } catch {
        /* the thread ended between readdir and read */
      }
    }
  } catch {
    return null;
  }
  if (any) return ns / 1e9;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is state (field 3); utime is field 14, stime field 15 -> indexes 11, 12
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

export function cpuSecondsOf(pids: number[]): number | null {
  let total = 0;
  for (const pid of pids) {
    const s = cpuSeconds(pid);
    if (s === null) return null;
    total += s;
  }
  return total;
}
