// Shared set-up of the benchmark scripts: a lab tap flooded by trafgen (qdisc path, CPU 0),
// and a windowed measurement of the tap's accepted packets.
import { setTimeout as sleep } from 'node:timers/promises';
import { readDeviceCounters } from '../src/lab/counters.ts';
import { createLab, type Lab } from '../src/lab/lab.ts';
import { startTrafgen } from '../src/workload/generators/trafgen.ts';
import type { RunningGenerator } from '../src/workload/generators/types.ts';

export async function floodedLab(txQueueLen = 1000): Promise<{ lab: Lab; startFlood: () => Promise<RunningGenerator> }> {
  const lab = await createLab({ txQueueLen, mtu: 1500, queues: 1 });
  return { lab, startFlood: () => startTrafgen({ netns: lab.netns, dev: lab.tap, options: { type: 'trafgen', packetSize: 64, rate: 0, cpus: 1, qdisc: true } }) };
}

/** Packets per second accepted by the tap over `seconds` (after `rampUp`), from the kernel counters. */
export async function acceptedPps(lab: Lab, seconds: number, rampUp = 0.5): Promise<number> {
  await sleep(rampUp * 1000);
  const a = await readDeviceCounters(lab.netns, lab.tap);
  const t0 = process.hrtime.bigint();
  await sleep(seconds * 1000);
  const b = await readDeviceCounters(lab.netns, lab.tap);
  return (b.tx_packets - a.tx_packets) / (Number(process.hrtime.bigint() - t0) / 1e9);
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
export const mpps = (x: number) => `${(x / 1e6).toFixed(3)} Mpps`;
