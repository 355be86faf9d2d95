// The guest consumer's iperf3 flavour in pure form: resolving a binary's libraries from ldd,
// the guest's /init (the plain one byte for byte as before, so its cached initramfs is reused),
// QEMU's arguments, and the requirements it brings.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { guestIperf3Problem, missingRequirements } from '../../src/doctor/requirements.ts';
import { parseProfile } from '../../src/profile/load.ts';
import { resolveVariants } from '../../src/profile/plan.ts';
import type { Capabilities } from '../../src/types.ts';
import { binaryWithLibraries, parseLdd } from '../../src/qemu/initramfs.ts';
import { GUEST_FLOW, guestInitScript, guestQemuArgs, noSegmentationOffloadProps, procNetTcpAddress } from '../../src/workload/consumers/guest.ts';

const LDD_IPERF3 = `	linux-vdso.so.1 (0x00007fd1044f0000)
	libiperf.so.0 => /lib/x86_64-linux-gnu/libiperf.so.0 (0x00007fd1044a7000)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007fd1042c5000)
	libcrypto.so.3 => /lib/x86_64-linux-gnu/libcrypto.so.3 (0x00007fd103e00000)
	libsctp.so.1 => /lib/x86_64-linux-gnu/libsctp.so.1 (0x00007fd1042bf000)
	libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007fd103d20000)
	/lib64/ld-linux-x86-64.so.2 (0x00007fd1044f2000)
`;

test('parseLdd: every library with a file and the dynamic loader, not the vDSO; missing ones named', () => {
  const r = parseLdd(LDD_IPERF3);
  assert.deepEqual(r.paths, ['/lib/x86_64-linux-gnu/libiperf.so.0', '/lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libcrypto.so.3', '/lib/x86_64-linux-gnu/libsctp.so.1', '/lib/x86_64-linux-gnu/libm.so.6', '/lib64/ld-linux-x86-64.so.2']);
  assert.deepEqual(r.missing, []);
  assert.equal(r.isStatic, false);
  const m = parseLdd('\tlibiperf.so.0 => not found\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0000000000)\n');
  assert.deepEqual(m.missing, ['libiperf.so.0']);
  assert.equal(parseLdd('\tnot a dynamic executable\n').isStatic, true);
});

test('binaryWithLibraries: a real binary of this machine with its loader and libc; a missing one refused', () => {
  const files = binaryWithLibraries('/bin/ls', '/bin/ls');
  assert.equal(files[0]!.dest, '/bin/ls');
  assert.ok(files.some((f) => /ld-linux.*\.so/.test(f.dest)), 'the dynamic loader is included');
  assert.ok(files.some((f) => /libc\.so\.6$/.test(f.dest)), 'libc is included');
  for (const f of files) assert.ok(existsSync(f.src), f.src);
  assert.throws(() => binaryWithLibraries('/nonexistent/iperf3'), UserError);
});

test('procNetTcpAddress: the listening address as /proc/net/tcp prints it', () => {
  assert.equal(procNetTcpAddress('198.18.0.2', 5201), '020012C6:1451');
  assert.equal(procNetTcpAddress('127.0.0.1', 22), '0100007F:0016');
});

test('guest /init: the plain one is unchanged (its cached initramfs stays valid); the flow one adds the address, ARP entry and iperf3 server before ready', () => {
  const mods = ['virtio_net.ko', 'net_failover.ko'];
  const plain = guestInitScript(mods);
  // sha256 of main's guestInitScript for these modules, before the flow flavour existed.
  assert.equal(createHash('sha256').update(plain).digest('hex'), 'a37c5403c8688ebc42b813c1dbdbb738999bc7f99307733284b9f5cfb124a46f');
  assert.equal(guestInitScript(mods, {}), plain);
  assert.doesNotMatch(plain, /iperf3/);
  const flow = guestInitScript(mods, { flow: true });
  const at = (s: string) => flow.indexOf(s);
  assert.ok(at(`ip addr add ${GUEST_FLOW.guestAddress}/30 dev eth0`) > 0);
  assert.ok(at(`arp -i eth0 -s ${GUEST_FLOW.labAddress} $LABMAC`) > 0);
  assert.ok(at('iperf3 --server --bind 198.18.0.2 --port 5201') > 0);
  assert.ok(at("grep -q '020012C6:1451 00000000:0000 0A' /proc/net/tcp") > at('iperf3 --server'), 'waits until the server listens');
  assert.ok(at('TBGUEST ready') > at("grep -q '020012C6:1451"), 'ready only once it listens');
  assert.ok(flow.includes('rx_packets=$p rx_bytes=$b rx_dropped=$d'), 'the counters are printed as before');
});

test('guest QEMU args: unchanged without a flow; with one, MTU and lab MAC on the command line and no segmentation offloads', () => {
  const o = { kernel: '/k', initrd: '/i', accel: 'tcg' as const, memoryMiB: 256, tap: 'tb1x0', vhost: false };
  assert.deepEqual(guestQemuArgs(o), ['-accel', 'tcg', '-cpu', 'max', '-m', '256', '-smp', '1', '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot', '-kernel', '/k', '-initrd', '/i', '-append', 'console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init ipv6.disable=1', '-netdev', 'tap,id=n0,ifname=tb1x0,script=no,downscript=no,vhost=off', '-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:00:7b:01']);
  const a = guestQemuArgs({ ...o, flow: { mtu: 1500, labMac: '02:11:22:33:44:55', deviceProps: ['guest_tso4=off', 'guest_tso6=off'] } });
  assert.equal(a[a.indexOf('-append') + 1], 'console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init ipv6.disable=1 tbmtu=1500 tblabmac=02:11:22:33:44:55');
  assert.equal(a[a.indexOf('-device') + 1], 'virtio-net-pci,netdev=n0,mac=52:54:00:00:7b:01,guest_tso4=off,guest_tso6=off');
});

test('offload properties: only those this QEMU knows (QEMU 7.2 has no USO)', () => {
  const qemu10 = '  guest_csum=<bool>      - on/off (default: on)\n  guest_ecn=<bool>       - on/off (default: on)\n  guest_tso4=<bool>      - on/off (default: on)\n  guest_tso6=<bool>      - on/off (default: on)\n  guest_ufo=<bool>       - on/off (default: on)\n  guest_uso4=<bool>      - on/off (default: on)\n  guest_uso6=<bool>      - on/off (default: on)\n';
  assert.deepEqual(noSegmentationOffloadProps(qemu10), ['guest_tso4=off', 'guest_tso6=off', 'guest_ecn=off', 'guest_ufo=off', 'guest_uso4=off', 'guest_uso6=off']);
  const qemu72 = qemu10.split('\n').filter((l) => !l.includes('uso')).join('\n');
  assert.deepEqual(noSegmentationOffloadProps(qemu72), ['guest_tso4=off', 'guest_tso6=off', 'guest_ecn=off', 'guest_ufo=off']);
  assert.doesNotMatch(noSegmentationOffloadProps(qemu10).join(','), /csum/, 'checksum offload stays on');
});

const caps = (over: Partial<Capabilities> = {}): Capabilities => ({
  root: true, devNetTun: { available: true, reason: '' }, netns: { available: true, reason: '' }, sink: { available: true, reason: '', path: '' },
  bpftrace: { available: true, reason: '', version: '0.17' }, tracefs: { available: true, reason: '', path: '/sys/kernel/tracing' },
  sampler: { available: true, reason: '', offsets: null }, trafgen: { available: true, reason: '', version: '0.6' }, pktgen: { available: false, reason: 'no pktgen' },
  tun: { queue: 'ptr_ring', evidence: '' }, kernel: { release: '6.18', version: '', arch: 'x86_64' }, qemu: { available: true, reason: '', version: null }, vhostNet: { available: false, reason: '' },
  wire: { available: false, reason: 'not built', path: null }, iperf3: { available: true, reason: '', version: '3.12' }, qdiscs: {},
  ...over,
} as Capabilities);

test('requirements: iperf3 in the guest needs the host\'s iperf3 and its libraries, each with its fix; the wire is not needed', () => {
  const vs = resolveVariants(parseProfile('name: t\nworkload: { generator: { type: iperf3 }, consumer: { type: guest } }', 't.yaml'));
  assert.deepEqual(missingRequirements(caps(), vs, null, 'host', () => []), []);
  const broken = () => { throw new UserError('/usr/bin/iperf3 needs shared libraries that are not installed: libiperf.so.0', { hint: 'reinstall its package' }); };
  assert.deepEqual(missingRequirements(caps(), vs, null, 'host', broken), ['iperf3 inside the guest consumer (variant default): /usr/bin/iperf3 needs shared libraries that are not installed: libiperf.so.0: reinstall its package']);
  // iperf3 missing altogether: said once, with the install command.
  const none = missingRequirements(caps({ iperf3: { available: false, reason: 'iperf3 is missing: apt-get install iperf3', version: null } }), vs, null, 'host', broken);
  assert.equal(none.length, 1);
  assert.match(none[0]!, /iperf3 .*apt-get install iperf3/);
  assert.match(missingRequirements(caps({ qemu: { available: false, reason: 'apt-get install qemu-system-x86', version: null } }), vs, null, 'host', () => []).join('\n'), /qemu .*apt-get install qemu-system-x86/);
  assert.equal(guestIperf3Problem(() => []), null);
});
