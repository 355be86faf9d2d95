// Benchmark: which part of the counters-level probe script costs what. Each part is attached
// alone (bpftrace -e) while the same flood runs; alternated with no probes, in rounds.
//   npx tsx bench/probe-cost-parts.ts [rounds=2] [seconds=3]
import { execa } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCleanups } from '../src/lab/cleanup.ts';
import { startSink } from '../src/workload/consumers/sink.ts';
import { floodedLab, median, mpps } from './lab-flood.ts';

const rounds = Number(process.argv[2] ?? 2);
const seconds = Number(process.argv[3] ?? 3);
const { lab, startFlood } = await floodedLab();
const parts = (pid: number): Record<string, string | null> => ({
  off: null,
  'xmit: name compare + count': `tracepoint:net:net_dev_xmit /str(args->name) == "${lab.tap}"/ { @x = count(); }`,
  'xmit: count, no filter': 'tracepoint:net:net_dev_xmit { @x = count(); }',
  'xmit: empty probe': 'tracepoint:net:net_dev_xmit { }',
  'read: pid filter + count': `tracepoint:skb:skb_copy_datagram_iovec /pid == ${pid}/ { @r = count(); }`,
  'locks: both sides': `tracepoint:lock:contention_begin /pid == ${pid} || comm == "trafgen"/ { @b[tid] = nsecs; @c = count(); } tracepoint:lock:contention_end /@b[tid] != 0/ { @w = hist(nsecs - @b[tid]); delete(@b[tid]); }`,
  'drops: kfree_skb dev check': `tracepoint:skb:kfree_skb /((struct sk_buff *)args->skbaddr)->dev != 0/ { if (((struct sk_buff *)args->skbaddr)->dev->name == "${lab.tap}") { @d[args->reason] = count(); } }`,
});
const results: Record<string, number[]> = {};
try {
  for (let r = 0; r < rounds; r++) {
    const sink = await startSink({ netns: lab.netns, dev: lab.tap, queues: 1, cpu: 1, options: { type: 'sink', mode: 'blocking', batch: 64, delayNs: 0, cpu: 1 } });
    for (const [name, script] of Object.entries(parts(sink.pid))) {
      const bt = script ? execa('bpftrace', ['-e', `BEGIN { printf("go\\n"); } ${script}`], { reject: false, buffer: false, stdout: 'pipe' }) : null;
      if (bt) await new Promise<void>((res) => bt.stdout!.once('data', () => res()));
      const gen = await startFlood();
      await sleep(500);
      const a = await sink.snapshot();
      await sleep(seconds * 1000);
      const b = await sink.snapshot();
      (results[name] ??= []).push((b.packets - a.packets) / ((b.tNs - a.tNs) / 1e9));
      await gen.stop();
      if (bt) { bt.kill('SIGINT'); await bt; }
    }
    await sink.stop();
  }
} finally {
  await runCleanups();
}
const off = median(results.off!);
console.log(`probe parts: ${rounds} rounds of ${seconds} s; sink packets per second`);
for (const [name, xs] of Object.entries(results)) console.log(`  ${name.padEnd(28)} ${mpps(median(xs))}  (${((1 - median(xs) / off) * 100).toFixed(1)}% below off)`);
