// The 'vm' target under QEMU (TCG on the CI machines): the bench boots a kernel with tunbench's
// worker inside it and runs each trial there (the VM executor, as for several kernels). Debian's packaged kernel: the quick profile. The patched kernel
// (kernel/, tun.queue_mode): the skq-vs-ring comparison with pktgen, the exact kprobe
// backend cross-validated against the tracepoint backend, pktgen's requested count, and
// doctor --target vm. The patched-kernel tests need a kernel build: cached in .cache/kernel,
// or TUNBENCH_KERNEL_BUILD=1 (CI) to build it (about 6 minutes cold).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import type { Result, TrialResult } from '../../src/types.ts';
import { patchedKernelMissing, vmMissing } from '../helpers/vm.ts';
import { tmp as tmpDir } from '../helpers/cli.ts';

const root = process.cwd();
const tmp = tmpDir('tunbench-vmtarget');

async function bench(args: string[]): Promise<{ exitCode: number; out: string; result: Result; dir: string }> {
  const dir = join(tmp, `run-${Date.now()}`);
  const r = await execa(process.execPath, ['bin/tunbench.js', 'bench', '--out', dir, '--progress', 'plain', ...args], { cwd: root, reject: false, all: true });
  const out = r.all ?? '';
  assert.ok(existsSync(join(dir, 'result.json')), `no result.json; output:\n${out}`);
  return { exitCode: r.exitCode ?? -1, out, result: JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Result, dir };
}

const trials = (r: Result): TrialResult[] => r.variants.flatMap((v) => v.trials);

function assertCrossChecks(r: Result): void {
  for (const t of trials(r)) {
    assert.equal(t.status, 'ok', `trial ${t.index}: ${t.error ?? ''}`);
    for (const c of t.crossCheck) assert.ok(c.ok, `trial ${t.index} ${t.variant}: ${c.name}: probe ${c.probe} vs ${c.counter}`);
  }
}

test("vm target: the quick profile runs inside a VM booted with Debian's kernel", { timeout: 15 * 60_000 }, async (t) => {
  const why = vmMissing();
  if (why) return t.skip(why);
  const { exitCode, out, result, dir } = await bench(['--profile', 'vm-quick', '--no-report']);
  assert.equal(exitCode, 0, out);
  // One kernel goes through the same worker as several: one VM named after its kernel, paused
  // between its trials, its files under vm/debian/.
  assert.deepEqual(result.variants.map((v) => v.environment?.vmName), ['debian']);
  assert.ok(existsSync(join(dir, 'vm', 'debian', 'ready.json')), 'the worker answered ready');
  assert.ok((result.environment.vm?.switches?.count ?? 0) >= 3, 'the VM was paused between its trials');
  assert.equal(result.status, 'complete');
  assert.equal(result.environment.target, 'vm');
  const vm = result.environment.vm!;
  assert.ok(vm, 'environment.vm recorded');
  assert.match(vm.kernel.release, /-amd64$/);
  // The capabilities in the result are the guest's: the trials really ran in the VM.
  assert.equal(result.environment.kernel.release, vm.kernel.release);
  assert.ok(['kvm', 'tcg'].includes(vm.accel));
  if (vm.accel === 'tcg') assert.ok(result.warnings.some((w) => /TCG/.test(w)), 'TCG is warned about');
  assert.equal(trials(result).length, 3);
  assertCrossChecks(result);
  // Debian's kernel has tun as a module: the sampler's offsets come from tun's own BTF
  // (bpftool), since bpftrace 0.17 cannot read module BTF, and the queue is read from the ring.
  assert.equal(result.environment.capabilities.sampler.offsets?.source, '/sys/kernel/btf/tun');
  for (const tr of trials(result)) {
    assert.equal(tr.readings?.probe?.queuesFound, 1, 'the handshake found the queue');
    assert.ok(Math.max(...tr.readings!.probe!.occupancySeries.values) > 0, 'occupancy read from the ring');
  }
  console.log(`vm-quick: ${vm.accel}, boot ${vm.bootSeconds.toFixed(1)} s, whole VM ${vm.totalSeconds.toFixed(1)} s, xmit ${trials(result).map((x) => Math.round(x.metrics.xmit_pps ?? NaN)).join(' ')} pps`);
});

test('queue-compare-quick: sk_receive_queue vs ring on the patched kernel, pktgen, full level with the kprobe attach point', { timeout: 30 * 60_000 }, async (t) => {
  const why = patchedKernelMissing();
  if (why) return t.skip(why);
  const { exitCode, out, result, dir } = await bench(['--profile', 'queue-compare-quick', '--backend', 'kprobe']);
  assert.equal(exitCode, 0, out);
  assert.equal(result.status, 'complete');
  assert.equal(result.environment.tun.queueModeSwitch, true, 'the patched kernel has the switch (BTF: tun_file.skq)');
  assert.deepEqual(result.variants.map((v) => v.name), ['skq', 'ring']);
  for (const v of result.variants) {
    assert.equal(v.trials.length, 3);
    for (const tr of v.trials) {
      // The reader's fdinfo says which queue it got: the switch really selected it.
      assert.equal(tr.queueMode, v.name);
      assert.equal(tr.probeBackend, 'kprobe');
      assert.equal(tr.readings?.probe?.occupancySource, 'queue', 'occupancy read from the queue itself');
      // The handshake read tun_file.skq through BTF: the queue found is in the named mode.
      assert.deepEqual(tr.readings?.probe?.queuesByMode, v.name === 'skq' ? { ring: 0, skq: 1 } : { ring: 1, skq: 0 });
      // skq mode: occupancy is sk_receive_queue.qlen; ring mode: the ring's indexes.
      assert.ok(Math.max(...tr.readings!.probe!.occupancySeries.values) > 0, `occupancy seen in ${v.name} mode`);
      // The per-packet counts (kprobe:tun_net_xmit, skb_copy_datagram_iovec) close exactly too;
      // pktgen's drops are not traced (its skbs are shared), so no drops-by-reason check.
      // The sent/lost accounts ('sent = ...': the qdisc's count) close exactly as well.
      assert.deepEqual(tr.crossCheck.map((c) => c.name.split(' ')[0]), ['packets', 'sent', 'packets', 'packets', 'copies'], tr.crossCheck.map((c) => c.name).join('; '));
      // pktgen for real: every packet it sent was accepted or dropped by the tap.
      assert.equal(tr.readings!.generator?.tool, 'pktgen');
      assert.ok((tr.readings!.generator?.packetsSent ?? 0) > 1000, `pktgen sent ${tr.readings!.generator?.packetsSent}`);
      assert.equal(tr.readings!.generator?.packetsSent, tr.counters!.tx_packets + tr.counters!.tx_dropped);
    }
  }
  assertCrossChecks(result);
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  assert.match(html, /skq/);
  assert.match(html, /ring/);
  const occ = (n: string) => result.variants.find((v) => v.name === n)!.trials.map((x) => (x.metrics.occupancy_mean ?? NaN).toFixed(2));
  console.log(`queue-compare-quick: rx_pps skq ${result.variants[0]!.trials.map((x) => Math.round(x.metrics.rx_pps ?? NaN)).join(' ')}, ring ${result.variants[1]!.trials.map((x) => Math.round(x.metrics.rx_pps ?? NaN)).join(' ')}; occupancy skq ${occ('skq').join(' ')}, ring ${occ('ring').join(' ')}`);
});

test('pktgen inside the VM sends the requested count (full level, fentry attach point)', { timeout: 20 * 60_000 }, async (t) => {
  const why = patchedKernelMissing();
  if (why) return t.skip(why);
  const profile = join(tmp, 'pktgen-count.yaml');
  writeFileSync(profile, [
    'name: pktgen-count',
    'target: vm',
    'vm: { kernel: patched, cpus: 2 }',
    'duration: 3',
    'rampUp: 0.5',
    'repetitions: 1',
    'warmupTrials: 0',
    'probes: { level: full, backend: fentry }',
    'workload:',
    '  tap: { txQueueLen: 1000 }',
    '  generator: { type: pktgen, pkt_size: 64, count: 20000, rate: 20000, xmit_mode: queue_xmit }',
    '  consumer: { type: sink, mode: blocking }',
    '',
  ].join('\n'));
  const { exitCode, out, result } = await bench(['--profile', profile, '--no-report']);
  assert.equal(exitCode, 0, out);
  const [tr] = trials(result);
  assert.ok(tr);
  assert.equal(tr.probeBackend, 'fentry');
  assert.equal(tr.readings!.generator?.packetsSent, 20000, tr.readings!.generator?.output);
  assert.equal(tr.counters!.tx_packets + tr.counters!.tx_dropped, 20000);
  assertCrossChecks(result);
});

test('doctor --target vm --kernel patched reports the guest: exact backends, the queue switch, pktgen', { timeout: 15 * 60_000 }, async (t) => {
  const why = patchedKernelMissing();
  if (why) return t.skip(why);
  const r = await execa(process.execPath, ['bin/tunbench.js', 'doctor', '--target', 'vm', '--kernel', 'patched', '--json'], { cwd: root, reject: false });
  assert.equal(r.exitCode, 0, r.stderr);
  const d = JSON.parse(r.stdout) as { target: string; vm: { kernel: { release: string } }; capabilities: Result['environment']['capabilities'] };
  assert.equal(d.target, 'vm');
  assert.equal(d.capabilities.kernel.release, d.vm.kernel.release);
  assert.equal(d.capabilities.tun.queueModeSwitch, true);
  assert.equal(d.capabilities.probeBackends.kprobe.available, true, d.capabilities.probeBackends.kprobe.reason);
  assert.equal(d.capabilities.pktgen.available, true);
});
