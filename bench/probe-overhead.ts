// Benchmark: what the probes cost. Same tap, same flood, same sink; probe level off /
// counters / full alternated in rounds. Rate = the sink's packets per second.
//   npx tsx bench/probe-overhead.ts [rounds=4] [seconds=3]
// Figures (2-vCPU VM, kernel 6.18, tracepoint backend; medians, off / counters / full):
//   quiet machine (README run): 1.083 / 0.681 (-37%) / 0.394 (-64%) Mpps
//   loaded machine, 3 x 2 s:    0.416 / 0.352 (-15%) / 0.213 (-49%) Mpps (other jobs on the cores)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCleanups } from '../src/lab/cleanup.ts';
import { readDropReasons } from '../src/probes/drop-reasons.ts';
import { startProbes } from '../src/probes/start.ts';
import { startSink } from '../src/workload/consumers/sink.ts';
import { floodedLab, median, mpps } from './lab-flood.ts';

const rounds = Number(process.argv[2] ?? 4);
const seconds = Number(process.argv[3] ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'tunbench-overhead-'));
const { lab, startFlood } = await floodedLab();
const levels = ['off', 'counters', 'full'] as const;
const results: Record<string, number[]> = { off: [], counters: [], full: [] };
try {
  for (let r = 0; r < rounds; r++) {
    for (const level of levels) {
      const sink = await startSink({ netns: lab.netns, dev: lab.tap, queues: 1, cpu: 1, options: { type: 'sink', mode: 'blocking', batch: 64, delayNs: 0, cpu: 1 } });
      const probes = level === 'off' ? null : await startProbes({
        backend: 'tracepoint', level, sampleIntervalMs: 10, dropReasons: readDropReasons(),
        target: { tapName: lab.tap, consumerPid: sink.pid, generator: 'trafgen', capacity: lab.txQueueLen, queues: 1 },
        rawFile: join(dir, `r${r}-${level}.jsonl`),
      });
      const gen = await startFlood();
      await sleep(500);
      await probes?.markWindowStart();
      const a = await sink.snapshot();
      await sleep(seconds * 1000);
      const b = await sink.snapshot();
      await probes?.markWindowEnd();
      results[level]!.push((b.packets - a.packets) / ((b.tNs - a.tNs) / 1e9));
      await gen.stop();
      await probes?.stop();
      await sink.stop();
    }
  }
} finally {
  await runCleanups();
}
const off = median(results.off!);
console.log(`probe overhead: ${rounds} rounds of ${seconds} s, trafgen on CPU 0, sink on CPU 1, tracepoint backend`);
for (const l of levels) {
  const m = median(results[l]!);
  console.log(`  ${l.padEnd(9)} median ${mpps(m)}  (${((1 - m / off) * 100).toFixed(1)}% below off)  rounds: ${results[l]!.map(mpps).join(', ')}`);
}
