// CPU placement and CPU-time accounting for the trial's processes.
import { readFileSync } from 'node:fs';
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

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime+stime of a process (all its threads), in seconds; null if it is gone. */
export function cpuSeconds(pid: number): number | null {
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
