// The guest consumer on this host (TCG here): a QEMU guest whose virtio-net NIC is backed by
// the lab's tap reads it; its receive counter must equal the packets the tap accepted, and
// the tracepoint probes must see QEMU's reads. QEMU must be gone after the trial, also when
// the guest cannot start.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import type { Result } from '../../src/types.ts';
import { vmMissing } from '../helpers/vm.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tunbench-guest-'));

function profile(name: string, consumer: string): string {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, [
    `name: ${name}`,
    'duration: 3',
    'rampUp: 0.5',
    'repetitions: 1',
    'warmupTrials: 0',
    'probes: { level: counters, backend: tracepoint }',
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
