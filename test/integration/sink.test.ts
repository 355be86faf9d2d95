// The sink on a real tap: every mode reads what trafgen sends, counts agree with the tap's
// counters, snapshots work, a multi-queue tap is read on every queue, a slow reader is slow,
// and a missing tap is a clean error.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../src/errors.ts';
import { readDeviceCounters } from '../../src/lab/counters.ts';
import { createLab, type Lab } from '../../src/lab/lab.ts';
import type { SinkOptions } from '../../src/profile/schema.ts';
import { startSink } from '../../src/workload/consumers/sink.ts';
import { startTrafgen } from '../../src/workload/generators/trafgen.ts';

const labs: Lab[] = [];
after(async () => {
  for (const l of labs) await l.destroy();
});
const sinkOpts = (o: Partial<SinkOptions> = {}): SinkOptions => ({ type: 'sink', mode: 'blocking', batch: 64, delayNs: 0, cpu: 1, ...o });

async function flood(lab: Lab, seconds: number, rate = 0) {
  const gen = await startTrafgen({ netns: lab.netns, dev: lab.tap, options: { type: 'trafgen', packetSize: 64, rate, cpus: 1, qdisc: true } });
  await sleep(seconds * 1000);
  return gen.stop();
}

for (const mode of ['blocking', 'poll', 'busy-poll'] as const) {
  test(`${mode}: reads everything the tap accepted, snapshot and final agree`, async () => {
    const lab = await createLab({ txQueueLen: 1000, mtu: 1500, queues: 1 });
    labs.push(lab);
    const sink = await startSink({ netns: lab.netns, dev: lab.tap, queues: 1, cpu: 1, options: sinkOpts({ mode }) });
    const before = await readDeviceCounters(lab.netns, lab.tap);
    const gen = await flood(lab, 1);
    await sleep(300); // drain
    const snap = await sink.snapshot();
    const after_ = await readDeviceCounters(lab.netns, lab.tap);
    const final = await sink.stop();
    const accepted = after_.tx_packets - before.tx_packets;
    assert.ok(accepted > 10_000, `traffic flowed: ${accepted}`);
    assert.equal(final.packets, accepted, 'sink count == tx_packets delta');
    assert.equal(snap.packets, final.packets);
    assert.equal(final.bytes, final.packets * 64);
    assert.equal(gen.packetsSent, accepted + (after_.tx_dropped - before.tx_dropped), 'trafgen sent = accepted + dropped');
  });
}

test('multi-queue tap: one reader per queue, all queues attached and counted', async () => {
  const lab = await createLab({ txQueueLen: 500, mtu: 1500, queues: 2 });
  labs.push(lab);
  const sink = await startSink({ netns: lab.netns, dev: lab.tap, queues: 2, cpu: 0, options: sinkOpts() });
  const before = await readDeviceCounters(lab.netns, lab.tap);
  await flood(lab, 0.5);
  await sleep(300);
  const after_ = await readDeviceCounters(lab.netns, lab.tap);
  const final = await sink.stop();
  assert.equal(final.perQueue.length, 2);
  assert.equal(final.perQueue.reduce((s, x) => s + x, 0), final.packets);
  assert.equal(final.packets, after_.tx_packets - before.tx_packets);
});

test('a per-packet delay makes the reader measurably slower', async () => {
  const lab = await createLab({ txQueueLen: 1000, mtu: 1500, queues: 1 });
  labs.push(lab);
  const rate = async (delayNs: number) => {
    const sink = await startSink({ netns: lab.netns, dev: lab.tap, queues: 1, cpu: 1, options: sinkOpts({ delayNs }) });
    await flood(lab, 1);
    const r = await sink.stop();
    return r.packets;
  };
  const fast = await rate(0);
  const slow = await rate(5000);
  assert.ok(slow < fast * 0.5, `5 us per packet: ${slow} vs ${fast} packets`);
  assert.ok(slow < 1.2 * (1 / 5e-6) * 1.5, 'at most ~200 kpps with 5 us per packet');
});

test('attaching to a device that is not a tap is a clean error with the kernel\'s reason', async () => {
  const lab = await createLab({ txQueueLen: 64, mtu: 1500, queues: 1 });
  labs.push(lab);
  await assert.rejects(
    startSink({ netns: lab.netns, dev: 'lo', queues: 1, cpu: null, options: sinkOpts() }),
    (e: unknown) => e instanceof UserError && /TUNSETIFF lo queue 0: Invalid argument/.test(e.message),
  );
});
