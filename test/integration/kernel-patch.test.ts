// The tun sk_receive_queue patch: kernel/build.sh builds (or reuses) the patched kernel,
// kernel/test/selftest-vm.sh boots it under QEMU TCG and runs the kernel's tun selftest
// and kernel/test/tunq.c once with tun.queue_mode=ring and once with skq.
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

test('patched kernel passes the tun selftest and tunq in ring and skq modes', { timeout: 60 * 60 * 1000 }, async (t) => {
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
  assert.match(out, /^PASS tracepoints any: rc=0 missing: none/m, out);
  assert.match(out, /^SUMMARY: PASS/m, out);
  assert.equal(vm.exitCode, 0, out);
});
