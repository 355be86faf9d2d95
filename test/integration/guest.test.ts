// The guest consumer on this host (TCG here): a QEMU guest whose virtio-net NIC is backed by
// the lab's tap reads it; its receive counter must equal the packets the tap accepted, and
// the tracepoint probes must see QEMU's reads. QEMU must be gone after the trial, also when
// the guest cannot start.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { createLab } from '../../src/lab/lab.ts';
import { readDeviceCounters, counterDelta } from '../../src/lab/counters.ts';
import { ip } from '../../src/lab/ip.ts';
import { GuestSchema } from '../../src/profile/schema.ts';
import type { Result } from '../../src/types.ts';
import { startGuestConsumer } from '../../src/workload/consumers/guest.ts';
import { trafgenConfig } from '../../src/workload/generators/trafgen.ts';
import { vmMissing } from '../helpers/vm.ts';
import { tmp as tmpDir } from '../helpers/cli.ts';

const tmp = tmpDir('tunbench-guest');

function profile(name: string, consumer: string): string {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, [
    `name: ${name}`,
    'duration: 3',
    'rampUp: 0.5',
    'repetitions: 1',
    'warmupTrials: 0',
    'probes: { level: counters }',
    'workload:',
    '  tap: { txQueueLen: 1000 }',
    '  generator: { type: trafgen, packetSize: 64, rate: 5000, cpus: 1, qdisc: true }',
    `  consumer: ${consumer}`,
    '',
  ].join('\n'));
  return file;
}

const qemuLeft = (): boolean => /qemu-system.*tunbench-guest|qemu-system.*ifname=tb\d+x/.test(execFileSync('ps', ['-eo', 'args']).toString());

test('guest consumer: the guest receives exactly the packets the tap accepted', { timeout: 10 * 60_000 }, async (t) => {
  const why = vmMissing();
  if (why) return t.skip(why);
  const out = join(tmp, 'ok');
  const r = await execa(process.execPath, ['bin/tunbench.js', 'bench', '--profile', profile('guest-ok', '{ type: guest, memoryMiB: 256 }'), '--out', out, '--no-report', '--progress', 'plain'], { reject: false, all: true });
  assert.equal(r.exitCode, 0, r.all);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Result;
  const tr = result.variants[0]!.trials[0]!;
  assert.equal(tr.status, 'ok', tr.error);
  assert.equal(tr.consumer?.tool, 'guest');
  const c = tr.counters!;
  assert.ok(c.tx_packets > 1000, `the tap accepted only ${c.tx_packets} packets`);
  // Everything the tap accepted reached the guest's NIC (QEMU stops reading when the guest's
  // receive ring is full, so packets wait in the tap's queue or are dropped there, never in QEMU).
  assert.equal(c.consumer_packets, c.tx_packets);
  assert.equal(c.generator_packets, c.tx_packets + c.tx_dropped);
  for (const x of tr.crossCheck) assert.ok(x.ok, `${x.name}: ${x.probe} vs ${x.counter}`);
  // The sampler found the queue QEMU holds (the handshake duplicates QEMU's tap fd).
  assert.equal(tr.readings?.probe?.queuesFound, 1, 'the queue held by QEMU was found');
  assert.equal(tr.readings?.probe?.totals.drops, null, 'counters: tx_dropped is the drop count, no probe per drop');
  assert.ok(existsSync(join(out, 'raw', 'trial-000-default.guest-console.log')), 'the guest console is kept');
  assert.equal(qemuLeft(), false, 'QEMU is gone after the trial');
  console.log(`guest: rx ${Math.round(tr.metrics.rx_pps ?? 0)} pps at an offered 5000 pps, ${c.tx_dropped} dropped at the tap`);
});

test('guest consumer: a kernel that is not a bzImage fails cleanly, QEMU not left behind', { timeout: 5 * 60_000 }, async (t) => {
  const why = vmMissing();
  if (why) return t.skip(why);
  const out = join(tmp, 'bad');
  const r = await execa(process.execPath, ['bin/tunbench.js', 'bench', '--profile', profile('guest-bad', '{ type: guest, kernel: /etc/hostname }'), '--out', out, '--no-report', '--progress', 'plain'], { reject: false, all: true });
  assert.equal(r.exitCode, 2, r.all);
  assert.match(r.all ?? '', /not an x86 bzImage/);
  assert.doesNotMatch(r.all ?? '', /\n\s+at /, 'no stack trace');
  assert.equal(qemuLeft(), false);
});

const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };
const qemuOnTap = (tap: string): boolean => execFileSync('ps', ['-eo', 'args']).toString().split('\n').some((l) => l.includes('qemu-system') && l.includes(`ifname=${tap},`));

test('guest consumer, direct: a fixed count from trafgen -n; guest rx == tap tx_packets; QEMU gone after stop() and after a failed start', { timeout: 5 * 60_000 }, async (t) => {
  const why = vmMissing();
  if (why) return t.skip(why);
  const lab = await createLab({ txQueueLen: 1000, mtu: 1500, queues: 1 });
  try {
    // A single-queue tap is made without IFF_MULTI_QUEUE (QEMU's TUNSETIFF with one queue needs that).
    const details = JSON.parse(await ip(['-j', '-d', 'link', 'show', 'dev', lab.tap], { netns: lab.netns })) as { linkinfo?: { info_data?: { multi_queue?: boolean } } }[];
    assert.notEqual(details[0]?.linkinfo?.info_data?.multi_queue, true);

    const t0 = performance.now();
    const g = await startGuestConsumer({ netns: lab.netns, dev: lab.tap, queues: 1, options: GuestSchema.parse({ type: 'guest' }), cpu: availableParallelism() > 1 ? 1 : null, consoleLog: join(tmp, 'direct-console.log') });
    const bootSeconds = (performance.now() - t0) / 1000;
    assert.ok(alive(g.pid), 'the pid is the live QEMU process');
    assert.match(readFileSync(`/proc/${g.pid}/cmdline`, 'utf8'), /qemu-system/);

    const c0 = await readDeviceCounters(lab.netns, lab.tap);
    const s0 = await g.snapshot();
    // A known number of frames at a rate that still overruns a TCG guest, so both counters move.
    const count = 20_000;
    const cfg = join(tmp, 'direct.cfg');
    writeFileSync(cfg, trafgenConfig(64));
    const tg = await execa('ip', ['netns', 'exec', lab.netns, 'trafgen', '--dev', lab.tap, '--conf', cfg, '--cpus', '1', '--num', String(count), '--rate', '20000pps', '--qdisc-path', '--notouch-irq'], { all: true, reject: false });
    assert.equal(tg.exitCode, 0, tg.all);
    assert.match(tg.all ?? '', new RegExp(`\\b${count} packets outgoing`));

    // Settled: neither the guest's count nor the tap's counters move for 1 s.
    let last = '';
    let stableSince = Date.now();
    let s1 = s0;
    let d = counterDelta(c0, c0);
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      s1 = await g.snapshot();
      d = counterDelta(c0, await readDeviceCounters(lab.netns, lab.tap));
      const key = `${s1.packets} ${d.tx_packets} ${d.tx_dropped}`;
      if (key !== last) { last = key; stableSince = Date.now(); } else if (Date.now() - stableSince >= 1000) break;
      await sleep(100);
    }
    const guest = s1.packets - s0.packets;
    // tun counts tx_packets when the reader copies a frame out (tun_put_user) and tx_dropped
    // when the ring is full (tun_net_xmit). QEMU's userspace backend reads the tap only while
    // virtio-net can take the frame, and broadcast frames pass its receive filter, so every
    // frame read lands in the guest's rx ring and in eth0's rx_packets: no slack.
    assert.equal(d.tx_packets + d.tx_dropped, count, `every frame was either accepted or dropped by the tap: ${JSON.stringify(d)}`);
    assert.equal(guest, d.tx_packets, `guest rx ${guest} vs tap tx_packets ${d.tx_packets}`);
    assert.equal(s1.bytes - s0.bytes, d.tx_bytes);

    const report = await g.stop();
    assert.equal(report.tool, 'guest');
    assert.ok(report.packets >= s1.packets);
    assert.equal(alive(g.pid), false, 'QEMU is gone after stop()');
    assert.equal(qemuOnTap(lab.tap), false);
    console.log(`guest direct: booted and attached in ${bootSeconds.toFixed(1)} s; ${count} sent, tap tx_packets ${d.tx_packets}, tx_dropped ${d.tx_dropped}, guest rx ${guest}`);

    // QEMU running but the guest not up in time: the start fails and takes QEMU with it.
    const consoleLog = join(tmp, 'direct-timeout-console.log');
    await assert.rejects(
      startGuestConsumer({ netns: lab.netns, dev: lab.tap, queues: 1, options: GuestSchema.parse({ type: 'guest' }), cpu: null, consoleLog, readySeconds: 1 }),
      (e: Error) => e.message.includes('did not come up') && e.message.includes(consoleLog),
    );
    assert.equal(qemuOnTap(lab.tap), false, 'QEMU is gone after a failed start');

    await assert.rejects(
      startGuestConsumer({ netns: lab.netns, dev: lab.tap, queues: 2, options: GuestSchema.parse({ type: 'guest' }), cpu: null, consoleLog }),
      /single-queue/,
    );
  } finally {
    await lab.destroy();
  }
});
