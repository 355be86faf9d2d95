// Benchmark (issue 13): what forwarding costs, and TCP through the wire.
//  1. The same trafgen flood (64-byte frames, qdisc path, CPU 0) read by the plain sink and by
//     the wire (which also writes every frame into the peer tap), alternated in rounds (the
//     order flips each round) on one lab tap; rate = the tap's tx_packets (frames the reader
//     took) per second over the window.
//  2. iperf3 TCP goodput through the wire at 1 and 8 streams with the lab tap's qdisc noqueue
//     and fq_codel (plus pfifo_fast, the default), alternated in rounds; a kind this kernel
//     lacks is reported as such.
//   npx tsx bench/wire-vs-sink.ts [rounds=3] [seconds=3]
import { readDeviceCounters } from '../src/lab/counters.ts';
import { runCleanups } from '../src/process/cleanup.ts';
import { setQdisc, supportedQdiscs, type QdiscKind } from '../src/lab/qdisc.ts';
import { startSink } from '../src/workload/consumers/sink.ts';
import { createWirePeer, startWire } from '../src/workload/consumers/wire.ts';
import { runIperf3, startIperf3Server } from '../src/workload/generators/iperf3.ts';
import { acceptedPps, floodedLab, median, mpps } from './lab-flood.ts';

const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 3);
const { lab, startFlood } = await floodedLab();
const pps: Record<'sink' | 'wire', number[]> = { sink: [], wire: [] };
const dropRatio: Record<'sink' | 'wire', number[]> = { sink: [], wire: [] };
const kinds: QdiscKind[] = ['noqueue', 'fq_codel', 'pfifo_fast'];
const goodput = new Map<string, number[]>();
const retrans = new Map<string, number[]>();
let unsupported: string[] = [];
try {
  const peer = await createWirePeer({ labNetns: lab.netns, labTap: lab.tap, mtu: 1500 });
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? (['sink', 'wire'] as const) : (['wire', 'sink'] as const);
    for (const name of order) {
      const reader = name === 'sink'
        ? await startSink({ netns: lab.netns, dev: lab.tap, queues: 1, cpu: 1, options: { type: 'sink', mode: 'blocking', batch: 64, delayNs: 0, cpu: 1 } })
        : await startWire({ netns: lab.netns, dev: lab.tap, peer, cpu: 1 });
      const c0 = await readDeviceCounters(lab.netns, lab.tap);
      const gen = await startFlood();
      pps[name].push(await acceptedPps(lab, seconds));
      await gen.stop();
      await reader.stop();
      const c1 = await readDeviceCounters(lab.netns, lab.tap);
      dropRatio[name].push((c1.tx_dropped - c0.tx_dropped) / (c1.tx_packets - c0.tx_packets + c1.tx_dropped - c0.tx_dropped));
    }
  }

  const support = await supportedQdiscs(kinds);
  unsupported = kinds.filter((k) => support.get(k) !== null).map((k) => `${k} (${support.get(k)})`);
  const usable = kinds.filter((k) => support.get(k) === null);
  const wire = await startWire({ netns: lab.netns, dev: lab.tap, peer, cpu: 1 });
  const server = await startIperf3Server({ netns: peer.netns, bind: peer.peerAddress });
  for (let r = 0; r < rounds; r++) {
    for (const kind of r % 2 === 0 ? usable : [...usable].reverse()) {
      await setQdisc(lab.netns, lab.tap, kind);
      for (const streams of [1, 8]) {
        const rep = await runIperf3({ netns: lab.netns, server: peer.peerAddress, options: { protocol: 'tcp', streams, duration: seconds } });
        const key = `${kind} x${streams}`;
        goodput.set(key, [...(goodput.get(key) ?? []), rep.goodputBps]);
        retrans.set(key, [...(retrans.get(key) ?? []), rep.retransmits ?? 0]);
      }
    }
  }
  await server.stop();
  await wire.stop();
} finally {
  await runCleanups();
}

console.log(`wire vs sink: ${rounds} rounds of ${seconds} s, trafgen 64 B on CPU 0 (qdisc path), reader on CPU 1, tx_queue_len 1000`);
for (const name of ['sink', 'wire'] as const) {
  console.log(`  ${name.padEnd(5)} median ${mpps(median(pps[name]))}  (${((median(pps[name]) / median(pps.sink)) * 100).toFixed(1)}% of sink)  tun drop ratio ${(median(dropRatio[name]) * 100).toFixed(1)}%  rounds: ${pps[name].map(mpps).join(', ')}`);
}
console.log(`TCP through the wire (iperf3, ${seconds} s per test, MSS 1448, no offloads on the taps): goodput at the receiver`);
for (const [key, xs] of goodput) {
  console.log(`  ${key.padEnd(14)} median ${(median(xs) / 1e9).toFixed(3)} Gbit/s  retransmits median ${median(retrans.get(key)!)}  rounds: ${xs.map((x) => (x / 1e9).toFixed(3)).join(', ')}`);
}
if (unsupported.length) console.log(`  not in this kernel: ${unsupported.join('; ')}`);
