import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyOverrides } from '../../src/commands/bench.ts';
import { UserError } from '../../src/errors.ts';
import { buildPlan } from '../../src/profile/plan.ts';
import { ProfileSchema } from '../../src/profile/schema.ts';
import { guestQemuArgs, parseGuestLine } from '../../src/workload/consumers/guest.ts';
import { modulesFor, resolveVmKernel } from '../../src/kernel/vm-kernel.ts';

const base = ProfileSchema.parse({ name: 't' });

test('--kernel implies the vm target; --target alone switches it; bad values are refused', () => {
  const p = applyOverrides(base, { kernel: 'patched' });
  assert.equal(p.target, 'vm');
  assert.equal(p.vm.kernel, 'patched');
  assert.equal(applyOverrides(base, { target: 'vm' }).vm.kernel, 'debian');
  assert.throws(() => applyOverrides(base, { target: 'cloud' }), UserError);
});

test('modules the guest loads: pktgen and virtio_net only when the profile needs them, none for a built-in kernel', () => {
  const k = { image: '/x', modulesDir: '/m', release: 'r', source: 'path' as const };
  assert.deepEqual(modulesFor(buildPlan(base).variants, k), []);
  const p = ProfileSchema.parse({ name: 't', workload: { generator: { type: 'pktgen' }, consumer: { type: 'guest' } } });
  assert.deepEqual(modulesFor(buildPlan(p).variants, k).sort(), ['pktgen', 'virtio_net']);
  assert.deepEqual(modulesFor(buildPlan(p).variants, { ...k, modulesDir: null }), []);
});

test('a vm kernel path that is not a bzImage is a clear error', async () => {
  await assert.rejects(resolveVmKernel({ kernel: '/etc/hostname' }), (e: unknown) => e instanceof UserError && /not an x86 bzImage/.test(e.message));
  await assert.rejects(resolveVmKernel({ kernel: '/nonexistent/bzImage' }), UserError);
});

test('guest console lines: ready, counters, errors; anything else ignored', () => {
  assert.equal(parseGuestLine('TBGUEST ready'), 'ready');
  const r = parseGuestLine('\r[ 1.0] TBGUEST rx_packets=12 rx_bytes=768 rx_dropped=0');
  assert.ok(r && typeof r === 'object' && 'packets' in r);
  assert.equal(r.packets, 12);
  assert.equal(r.bytes, 768);
  assert.deepEqual(parseGuestLine('TBGUEST error no eth0'), { error: 'no eth0' });
  assert.equal(parseGuestLine('random kernel message'), null);
});

test('guest QEMU args: the lab tap by name, vhost as asked, virtio-net', () => {
  const a = guestQemuArgs({ kernel: '/k', initrd: '/i', accel: 'tcg', memoryMiB: 256, tap: 'tb1x0', vhost: false }).join(' ');
  assert.match(a, /-netdev tap,id=n0,ifname=tb1x0,script=no,downscript=no,vhost=off/);
  assert.match(a, /virtio-net-pci,netdev=n0/);
  assert.match(a, /-accel tcg/);
});

test('--variants keeps the named variants, drops a compareTo that points outside, refuses unknown names', () => {
  const p = ProfileSchema.parse({ name: 'q', variants: [{ name: 'skq', baseline: true }, { name: 'ring', compareTo: 'skq' }, { name: 'ring-64', compareTo: 'skq-64' }, { name: 'skq-64' }] });
  const kept = applyOverrides(p, { variants: ['skq', 'ring', 'ring-64'] });
  assert.deepEqual(kept.variants.map((v) => v.name), ['skq', 'ring', 'ring-64']);
  assert.equal(kept.variants[1]!.compareTo, 'skq');
  assert.equal(kept.variants[2]!.compareTo, undefined);
  assert.throws(() => applyOverrides(p, { variants: ['nope'] }), /no variant nope.*it has: skq, ring, ring-64, skq-64/);
});
