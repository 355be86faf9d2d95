// Issue 23 parts 4 and 5 end to end on this host's kernel, through `tunbench bench`: fixed
// transfers timed to completion (trafgen --num through a real lab tap into the sink; iperf3 -n
// through the wire), a reader stopped with SIGSTOP and resumed, a reader never resumed during
// the transfer, and a transfer that cannot finish (noqueue, never read: the sender resends
// every frame tun drops) recorded as did-not-finish at its deadline. Every account closes
// exactly over the quiet span, with the amount sent.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { execa } from 'execa';
import type { Result, TrialResult } from '../../src/types.ts';
import { flowsMissing } from '../helpers/cli.ts';

const CLI = ['--import', 'tsx', 'src/cli.ts'];
const bench = (args: string[]) => execa(process.execPath, [...CLI, 'bench', '--progress', 'plain', '--no-report', ...args], { reject: false, all: true, timeout: 170_000 });
const tmp = () => mkdtempSync(join(tmpdir(), 'tunbench-transfer-'));
const load = (dir: string) => JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Result;

let why: string | null = null;
before(async () => {
  why = await flowsMissing();
});

/** The quiet span's counts: reads (tx_packets), tun's drops (tx_dropped), the qdisc's drops. */
function quiet(t: TrialResult) {
  const r = t.readings!;
  const d = (k: 'tx_packets' | 'tx_dropped') => r.tap.quietAfter[k] - r.tap.quietBefore[k];
  const q = r.qdisc!.at;
  return { read: d('tx_packets'), tunDrops: d('tx_dropped'), qdiscDrops: q.quietAfter.drops - q.quietBefore.drops, consumer: r.consumer.quietAfter.packets - r.consumer.quietBefore.packets };
}

test('transfer-quick: fixed transfers complete or miss their deadline as a verdict; stalls are real; every account closes with the amount sent', async (t) => {
  if (why) return t.skip(why);
  const out = tmp();
  const r = await bench(['--profile', 'transfer-quick', '--repetitions', '1', '--out', out]);
  assert.equal(r.exitCode, 0, r.all);
  const result = load(out);
  assert.equal(result.status, 'complete');
  const trial = (name: string) => {
    const v = result.variants.find((x) => x.name === name)!;
    assert.equal(v.trials.length, 1);
    const tr = v.trials[0]!;
    assert.equal(tr.status, 'ok', `${name}: ${tr.error}`);
    assert.ok(tr.crossCheck.length >= 2, `${name}: cross-checks ran`);
    for (const c of tr.crossCheck) assert.ok(c.ok, `${name}: ${c.name}: ${c.probe} vs ${c.counter}`);
    return tr;
  };
  const N = 1_000_000;
  const stallOf = (tr: TrialResult) => {
    const x = tr.readings!.transfer!;
    return { stoppedAt: (x.stall!.stoppedNs! - x.startNs) / 1e9, resumedAt: (x.stall!.resumedNs! - x.startNs) / 1e9 };
  };

  // A reader that keeps up: complete; trafgen sent exactly N, and N = read + dropped.
  const ok = trial('reader-ok');
  assert.equal(ok.readings!.transfer!.verdict, 'completed');
  assert.equal(ok.metrics.transfer_dnf, 0);
  assert.equal(ok.readings!.generator!.packetsSent, N);
  let q = quiet(ok);
  assert.equal(q.read + q.tunDrops + q.qdiscDrops, N);
  assert.equal(q.consumer, q.read);
  assert.ok(ok.metrics.completion_ns! >= ok.metrics.transfer_sender_ns! && ok.metrics.transfer_sender_ns! > 0);

  // Stopped 0.2 s in for 0.5 s (default qdisc): the sender goes on and tun drops what the ring cannot hold.
  const st = trial('reader-stalled');
  const s1 = stallOf(st);
  assert.ok(s1.stoppedAt >= 0.19 && s1.stoppedAt < 0.35, `stopped at ${s1.stoppedAt}`);
  assert.ok(s1.resumedAt - s1.stoppedAt >= 0.49 && s1.resumedAt - s1.stoppedAt < 0.7, `stalled ${s1.resumedAt - s1.stoppedAt} s`);
  assert.equal(st.readings!.transfer!.verdict, 'completed');
  q = quiet(st);
  assert.equal(q.read + q.tunDrops + q.qdiscDrops, N);
  assert.ok(q.tunDrops > 1000, `tun dropped ${q.tunDrops} while the reader was stopped`);

  // The same stall with noqueue: tun's drop reaches trafgen, which sends the frame again, so
  // everything arrives and the sender cannot finish before the reader is back.
  const sn = trial('stalled-noqueue');
  const s2 = stallOf(sn);
  assert.equal(sn.readings!.transfer!.verdict, 'completed');
  assert.equal(quiet(sn).consumer, N);
  assert.equal(sn.readings!.generator!.packetsSent, N);
  assert.ok(sn.metrics.transfer_sender_ns! / 1e9 >= s2.resumedAt, `sender ${sn.metrics.transfer_sender_ns! / 1e9} s, reader back at ${s2.resumedAt} s`);

  // Never read during the transfer: the reader takes only what the ring held, after it.
  const nr = trial('never-read');
  const x = nr.readings!.transfer!;
  assert.equal(x.verdict, 'completed');
  assert.equal(x.stall!.forSeconds, null);
  assert.ok(stallOf(nr).stoppedAt < 0.05, 'stopped before the sender started');
  assert.ok(x.stall!.resumedNs! >= x.senderDoneNs!, 'woken only after the transfer');
  q = quiet(nr);
  assert.equal(q.read + q.tunDrops + q.qdiscDrops, N);
  assert.ok(q.read <= nr.readings!.capacity, `read ${q.read}: at most the ring`);

  // Never read, noqueue: the sender can never finish: did not finish at 3 s, a verdict.
  const dnf = trial('never-read-noqueue');
  const y = dnf.readings!.transfer!;
  assert.equal(y.verdict, 'did-not-finish');
  assert.match(y.reason!, /sender had not finished at the 3 s deadline/);
  assert.equal(y.senderDoneNs, null);
  assert.deepEqual([dnf.metrics.completion_ns, dnf.metrics.transfer_sender_ns, dnf.metrics.transfer_dnf], [null, null, 1]);
  assert.ok(dnf.readings!.generator!.packetsSent! < N);
  assert.equal(quiet(dnf).consumer, dnf.readings!.generator!.packetsSent, 'trafgen counts what tun accepted under noqueue');

  // iperf3 -n: the client wrote at least the bytes asked for (in whole writes); its server's
  // count can be short (iperf3 ends the test once they are written, and its server closes on
  // what is still in flight), so the completion is the last data frame through the lab tap.
  const ip = trial('iperf3-20MB');
  const x3 = ip.readings!.transfer!;
  assert.equal(x3.verdict, 'completed');
  const f = ip.readings!.generator!.flow!;
  assert.ok(f.sentBytes >= 20_000_000 && f.sentBytes < 20_000_000 + 1_048_576, `sent ${f.sentBytes}`);
  assert.ok(f.receivedBytes > 0 && f.receivedBytes <= f.sentBytes);
  if (f.receivedBytes < 20_000_000) assert.match(x3.reason!, /iperf3's server counted \d+ of the 20000000 bytes/);
  assert.ok(ip.metrics.completion_ns! >= ip.metrics.transfer_sender_ns! && ip.metrics.transfer_sender_ns! > 0);
});

test('a stall without a transfer stops the run before any traffic: exit 2, the fix named', async (t) => {
  if (why) return t.skip(why);
  const dir = tmp();
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'name: bad\nrepetitions: 1\nwarmupTrials: 0\nworkload: { stall: { afterSeconds: 1 } }\n');
  const r = await bench(['--profile', file, '--out', join(dir, 'out')]);
  assert.equal(r.exitCode, 2, r.all);
  assert.match(r.all, /workload.stall: a stalled reader is timed against a fixed transfer; add workload.transfer/);
  assert.doesNotMatch(r.all, /\n\s+at .*\.ts:\d+/, 'no stack trace');
});

test('tcp-delay: a TCP transfer over an added RTT (netem on the wire\'s peer tap) where the kernel has sch_netem; exit 2 with the reason where it does not', async (t) => {
  if (why) return t.skip(why);
  const { netemProblem } = await import('../../src/lab/netem.ts');
  const missing = await netemProblem();
  const out = join(tmp(), 'out');
  const r = await bench(['--profile', 'tcp-delay', '--variants', 'rtt-0,rtt-60', '--repetitions', '1', '--out', out]);
  if (missing) {
    // This project's development host: no CONFIG_NET_SCH_NETEM.
    assert.equal(r.exitCode, 2, r.all);
    assert.match(r.all, /netem for consumer.rttMs 60 \(variant rtt-60\): this kernel cannot attach qdisc netem \(needs CONFIG_NET_SCH_NETEM\)/);
    assert.doesNotMatch(r.all, /\[1\/2\]/, 'refused before any trial');
    return;
  }
  assert.equal(r.exitCode, 0, r.all);
  const result = load(out);
  const [zero, sixty] = ['rtt-0', 'rtt-60'].map((n) => result.variants.find((v) => v.name === n)!.trials[0]!);
  for (const tr of [zero!, sixty!]) {
    assert.equal(tr.status, 'ok', tr.error);
    assert.equal(tr.readings!.transfer!.verdict, 'completed');
    for (const c of tr.crossCheck) assert.ok(c.ok, `${c.name}: ${c.probe} vs ${c.counter}`);
  }
  // At least a handful of round trips of 60 ms (handshake, slow start) on top of rtt-0's time.
  assert.ok(sixty!.metrics.completion_ns! > zero!.metrics.completion_ns! + 2 * 60e6, `${sixty!.metrics.completion_ns} vs ${zero!.metrics.completion_ns}`);
});
