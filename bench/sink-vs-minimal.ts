// Benchmark: tunbench-sink against the plainest C read loop (sink/minimal-read), on the same
// tap and the same trafgen flood, alternated in rounds (A B C A B C ...) so drifts of the
// machine hit both alike. Rate = packets the tap accepted per second while that reader ran
// (the queue is bounded, so over seconds this is the reader's rate).
//   npx tsx bench/sink-vs-minimal.ts [rounds=4] [seconds=3]
import { execa } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCleanups } from '../src/process/cleanup.ts';
import { startSink } from '../src/workload/consumers/sink.ts';
import { acceptedPps, floodedLab, median, mpps } from './lab-flood.ts';

const rounds = Number(process.argv[2] ?? 4);
const seconds = Number(process.argv[3] ?? 3);
const { lab, startFlood } = await floodedLab();
const results: Record<string, number[]> = { minimal: [], 'sink blocking': [], 'sink poll': [] };
try {
  for (let r = 0; r < rounds; r++) {
    for (const name of Object.keys(results)) {
      let stop: () => Promise<unknown>;
      if (name === 'minimal') {
        const p = execa('ip', ['netns', 'exec', lab.netns, 'taskset', '-c', '1', 'sink/minimal-read', lab.tap], { reject: false });
        await sleep(200);
        stop = async () => { p.kill('SIGTERM'); await p; };
      } else {
        const s = await startSink({ netns: lab.netns, dev: lab.tap, queues: 1, cpu: 1, options: { type: 'sink', mode: name.endsWith('poll') ? 'poll' : 'blocking', batch: 64, delayNs: 0, cpu: 1 } });
        stop = () => s.stop();
      }
      const gen = await startFlood();
      results[name]!.push(await acceptedPps(lab, seconds));
      await gen.stop();
      await stop();
    }
  }
} finally {
  await runCleanups();
}
const base = median(results.minimal!);
console.log(`sink vs minimal read loop: ${rounds} rounds of ${seconds} s, trafgen on CPU 0, reader on CPU 1`);
for (const [name, xs] of Object.entries(results)) {
  console.log(`  ${name.padEnd(14)} median ${mpps(median(xs))}  (${(median(xs) / base * 100).toFixed(1)}% of minimal)  rounds: ${xs.map(mpps).join(', ')}`);
}
