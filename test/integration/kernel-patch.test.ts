// The tun sk_receive_queue patch: kernel/build.sh builds (or reuses) the patched kernel,
// kernel/test/selftest-vm.sh boots it under QEMU TCG and runs the kernel's tun selftest
// and kernel/test/tunq.c once with tun.queue_mode=ring and once with skq, then
// kernel/test/tunbp.c (patch 0002, tun.backpressure) on and off under noqueue, pfifo_fast and
// fq_codel: a stall (nobody reads) then a drain, drops attributed to where they happened and
// the accounting closed exactly at both instants.
// Cold (no .cache/kernel build) this takes several minutes: it is skipped unless a build
// is cached or TUNBENCH_KERNEL_BUILD=1 asks for one.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { execa } from 'execa';

const CACHE = '.cache/kernel';

function cachedBuild(): boolean {
  if (!existsSync(CACHE)) return false;
  return readdirSync(CACHE).some((d) => d.startsWith('build-') && existsSync(`${CACHE}/${d}/bzImage`));
}

test('patched kernel passes the tun selftest and tunq in ring and skq modes, and tunbp with backpressure on and off', { timeout: 60 * 60 * 1000 }, async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root (apt-get, packet sockets in the VM build)');
  if (!existsSync('/usr/bin/qemu-system-x86_64')) return t.skip('qemu-system-x86_64 not installed');
  if (!cachedBuild() && process.env.TUNBENCH_KERNEL_BUILD !== '1') {
    return t.skip('no cached kernel build in .cache/kernel; run kernel/build.sh or set TUNBENCH_KERNEL_BUILD=1 (cold build: several minutes)');
  }

  const build = await execa('kernel/build.sh', { reject: false, all: true });
  assert.equal(build.exitCode, 0, build.all);
  const bzImage = build.stdout.trim().split('\n').at(-1) ?? '';
  assert.match(bzImage, /\/build-[0-9a-f]{12}\/bzImage$/);
  assert.ok(existsSync(bzImage), bzImage);

  const vm = await execa('kernel/test/selftest-vm.sh', [bzImage], { reject: false, all: true });
  const out = vm.all;
  for (const mode of ['ring', 'skq']) {
    assert.match(out, new RegExp(`^PASS tun-selftest ${mode}: rc=0`, 'm'), out);
    assert.match(out, new RegExp(`^PASS tunq ${mode}: rc=0`, 'm'), out);
    assert.match(out, new RegExp(`^PASS tunq mode=${mode}: fdinfo queue:${mode}, 8 queued \\+ 5 dropped`, 'm'), out);
  }
  for (const qd of ['noqueue', 'pfifo_fast', 'fq_codel']) {
    for (const bp of ['on', 'off']) assert.match(out, new RegExp(`^PASS tunbp ${qd} ${bp}: rc=0`, 'm'), out);
  }
  const figures = (qd: string, bp: string): Record<string, number> => {
    const line = out.match(new RegExp(`^FIGURES tunbp ${qd} ${bp}: (.*)$`, 'm'))?.[1];
    assert.ok(line, `no FIGURES line for ${qd} ${bp}\n${out}`);
    const f: Record<string, number> = {};
    for (const [, k, v] of line.matchAll(/(\w+) (-?\d+)/g)) f[k!] = Number(v);
    return f;
  };
  // The claims of the backpressure mechanism, from the guest's own counters (tunbp checks them
  // too; here they are asserted on the figures the test prints).
  const fq = figures('fq_codel', 'on');
  assert.equal(fq.tun_drops, 0, 'fq_codel + backpressure: tun dropped nothing');
  assert.equal(fq.stopped_stall, 1, 'queue stopped while nobody read');
  assert.equal(fq.stopped_end, 0, 'queue woken after the drain');
  assert.ok(fq.stops! >= 1 && fq.wakes! >= 1, `stops ${fq.stops} wakes ${fq.wakes}`);
  assert.equal(fq.sent, fq.delivered! + fq.qdisc_drops!, 'fq_codel: every frame delivered or dropped by the qdisc');
  const nq = figures('noqueue', 'on');
  assert.equal(nq.tun_drops, 0, "noqueue + backpressure: no drop at tun's full ring");
  assert.equal(nq.stopped_drops, nq.sent! - nq.delivered!, 'noqueue + backpressure: every drop at the stopped queue');
  assert.equal(nq.enetdown, nq.stopped_drops, 'the sender saw each stopped-queue drop as ENETDOWN');
  const stock = figures('noqueue', 'off');
  assert.equal(stock.stopped_drops, 0);
  assert.equal(stock.tun_drops, stock.tx_dropped, 'backpressure off: every tx_dropped is tun\'s');
  for (const qd of ['noqueue', 'pfifo_fast', 'fq_codel']) {
    for (const bp of ['on', 'off']) {
      const f = figures(qd, bp);
      assert.equal(f.residual_stall, 0, `${qd} ${bp}: accounting at the stall`);
      assert.equal(f.residual_end, 0, `${qd} ${bp}: accounting after the drain`);
    }
  }
  assert.match(out, /^PASS tracepoints any: rc=0 missing: none/m, out);
  assert.match(out, /^SUMMARY: PASS/m, out);
  assert.equal(vm.exitCode, 0, out);
});
