// Capability detection: one record of what this machine's kernel and tools can do. Printed
// by `doctor`, stored in every result, and checked against a profile before any traffic.
// Things are found by trying them (open the device, attach a probe, read BTF), not guessed.
import { netemProblem } from '../lab/netem.ts';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { arch, cpus, hostname, release, totalmem, version } from 'node:os';
import { execa } from 'execa';
import type { Availability, Capabilities, TunQueue } from '../types.ts';
import { sinkBinaryPath } from '../workload/consumers/sink.ts';
import { wireBinaryPath } from '../workload/consumers/wire.ts';
import { requireIperf3 } from '../workload/generators/iperf3.ts';
import { requireSockperf } from '../workload/generators/sockperf.ts';
import { QDISC_KINDS, qdiscProblem, supportedQdiscs } from '../lab/qdisc.ts';
import { detectProbeBackends } from '../probes/backends.ts';
import { readDropReasons } from '../probes/drop-reasons.ts';
import { readTunOffsets, type TunOffsets } from '../probes/btf-offsets.ts';
import { handshakeBinaryPath } from '../probes/handshake.ts';

const yes = (reason: string): Availability => ({ available: true, reason });
const no = (reason: string): Availability => ({ available: false, reason });

async function toolVersion(cmd: string, args: string[]): Promise<{ ok: boolean; version: string | null; reason: string }> {
  const r = await execa(cmd, args, { reject: false, timeout: 10_000, all: true });
  if ((r as { code?: string }).code === 'ENOENT' || r.exitCode === 127) return { ok: false, version: null, reason: `${cmd} not found on PATH` };
  const text = (r.all ?? '').split('\n').find((l) => /\d+\.\d+/.test(l)) ?? '';
  const m = /v?(\d+\.\d+(?:\.\d+)?)/.exec(text);
  return { ok: true, version: m?.[1] ?? (text.trim() || null), reason: `found: ${text.trim()}` };
}

/** tracefs mounted (mounting it if needed); returns its path. */
export async function ensureTracefs(): Promise<Availability & { path: string | null }> {
  for (const p of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
    if (existsSync(`${p}/events`)) return { ...yes(`mounted at ${p}`), path: p };
  }
  if (existsSync('/sys/kernel/tracing')) {
    const r = await execa('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing'], { reject: false });
    if (r.exitCode === 0 && existsSync('/sys/kernel/tracing/events')) return { ...yes('mounted by tunbench at /sys/kernel/tracing'), path: '/sys/kernel/tracing' };
    return { ...no(`tracefs not mounted and mounting failed: ${r.stderr.trim()}`), path: null };
  }
  return { ...no('no /sys/kernel/tracing (kernel without CONFIG_TRACING?)'), path: null };
}

function devNetTun(): Availability {
  if (!existsSync('/dev/net/tun')) return no('/dev/net/tun is missing (modprobe tun, or a kernel with CONFIG_TUN)');
  try {
    closeSync(openSync('/dev/net/tun', 'r+'));
    return yes('/dev/net/tun opens read-write');
  } catch (e) {
    return no(`/dev/net/tun cannot be opened: ${(e as Error).message}`);
  }
}

/** The tun queue implementation, read from the layout of struct tun_file in BTF. */
export async function detectTunQueue(): Promise<{ queue: TunQueue; evidence: string; queueModeSwitch?: boolean }> {
  const r = await execa('bpftrace', ['-lv', 'struct tun_file'], { reject: false, timeout: 20_000 });
  if ((r as { code?: string }).code === 'ENOENT') return { queue: 'unknown', evidence: 'bpftrace missing: cannot read struct tun_file from BTF' };
  const text = r.stdout;
  if (!/struct tun_file \{/.test(text)) {
    return { queue: 'unknown', evidence: `struct tun_file not found in BTF (tun not loaded, or no BTF): ${r.stderr.trim().split('\n')[0] ?? ''}` };
  }
  if (/struct ptr_ring tx_ring;/.test(text)) {
    if (/\bbool skq;/.test(text)) return { queue: 'ptr_ring', evidence: 'struct tun_file has "struct ptr_ring tx_ring" and tunbench\'s "bool skq" (BTF): tun.queue_mode selects ring or sk_receive_queue', queueModeSwitch: true };
    return { queue: 'ptr_ring', evidence: 'struct tun_file has "struct ptr_ring tx_ring" (BTF)', queueModeSwitch: false };
  }
  if (/struct skb_array tx_array;/.test(text)) return { queue: 'skb_array', evidence: 'struct tun_file has "struct skb_array tx_array" (BTF)' };
  return { queue: 'sk_receive_queue', evidence: 'struct tun_file has neither tx_ring nor tx_array: packets queue on the socket\'s sk_receive_queue (BTF)' };
}

/** modinfo knows the module (loadable, or built in): modprobe can provide it. */
async function moduleAvailable(name: string): Promise<boolean> {
  const r = await execa('modinfo', ['-F', 'filename', name], { reject: false });
  return r.exitCode === 0;
}

async function pktgen(): Promise<Availability> {
  if (existsSync('/proc/net/pktgen')) return yes('/proc/net/pktgen present');
  if (await moduleAvailable('pktgen')) return yes('loadable module (tunbench runs modprobe pktgen when a profile needs it)');
  return no('no /proc/net/pktgen and no pktgen module (kernel without CONFIG_NET_PKTGEN): use the trafgen generator, or a VM target with a kernel that has pktgen');
}

async function vhostNet(): Promise<Availability> {
  if (existsSync('/dev/vhost-net')) return yes('/dev/vhost-net present');
  if (await moduleAvailable('vhost_net')) return yes('loadable module vhost_net');
  return no('no /dev/vhost-net and no vhost_net module: a guest consumer uses QEMU\'s userspace tap backend');
}

function kvm(): Availability {
  if (!existsSync('/dev/kvm')) return no('no /dev/kvm: QEMU runs under TCG (emulated speeds)');
  try {
    closeSync(openSync('/dev/kvm', 'r+'));
  } catch (e) {
    return no(`/dev/kvm cannot be opened: ${(e as Error).message}`);
  }
  return yes('/dev/kvm opens; whether a stock kernel boots under it is checked when a VM target starts (some hosts offer KVM only to paravirtualised guests)');
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

/** The counters-level sampler: tun's offsets from BTF, its tracepoints, the handshake helper. */
async function sampler(tracefs: string | null): Promise<Capabilities['sampler']> {
  const offsets: TunOffsets | string = await readTunOffsets();
  if (typeof offsets === 'string') return { ...no(`tun's struct offsets: ${offsets}`), offsets: null };
  const events = ['task/task_rename', 'lock/contention_begin', 'lock/contention_end'];
  const absent = tracefs ? events.filter((e) => !existsSync(`${tracefs}/events/${e}`)) : events;
  if (absent.length > 0) return { ...no(`tracepoints missing: ${absent.join(', ')} (kernel 5.19+: lock:contention_* came in 5.19)`), offsets };
  if (!existsSync(handshakeBinaryPath())) return { ...no(`${handshakeBinaryPath()} is not built: run npm run setup (or make -C sink)`), offsets };
  return { ...yes(`reads each queue from struct tun_file through BTF offsets (${offsets.source}); tracepoints ${events.join(', ')}`), offsets };
}

/** iperf3 3.x with --json (flow workloads). */
async function iperf3(): Promise<Availability & { version: string | null }> {
  try {
    const v = await requireIperf3();
    return { ...yes(`iperf ${v}`), version: v };
  } catch (e) {
    const err = e as Error & { hint?: string };
    return { ...no(`${err.message}${err.hint ? `: ${err.hint}` : ''}`), version: null };
  }
}

/** sockperf (request/response workloads). */
async function sockperf(): Promise<Availability & { version: string | null }> {
  try {
    const v = await requireSockperf();
    return { ...yes(`sockperf ${v}`), version: v };
  } catch (e) {
    const err = e as Error & { hint?: string };
    return { ...no(`${err.message}${err.hint ? `: ${err.hint}` : ''}`), version: null };
  }
}

/** Each settable root qdisc, really attached to a throw-away namespace's loopback (modprobe first). */
async function qdiscs(): Promise<Record<string, Availability>> {
  const out: Record<string, Availability> = {};
  try {
    const support = await supportedQdiscs(QDISC_KINDS.filter((k) => k !== 'default'));
    for (const [kind, why] of support) out[kind] = why === null ? yes('attached to a test namespace\'s loopback') : no(qdiscProblem(kind, why)!);
  } catch (e) {
    for (const kind of QDISC_KINDS) if (kind !== 'default') out[kind] = no(`could not be tried: ${(e as Error).message}`);
  }
  return out;
}

export async function detectCapabilities(): Promise<Capabilities> {
  const tracefs = await ensureTracefs();
  const [bpftrace, trafgen, qemu, tun, backends, pktgenA, vhost, samplerA, iperf3A, qdiscsA, netemA, sockperfA] = await Promise.all([
    toolVersion('bpftrace', ['--version']),
    toolVersion('trafgen', ['--version']),
    toolVersion('qemu-system-x86_64', ['--version']),
    detectTunQueue(),
    detectProbeBackends(),
    pktgen(),
    vhostNet(),
    sampler(tracefs.path),
    iperf3(),
    qdiscs(),
    netemProblem().then((why): Availability => (why === null ? yes('attached to a test namespace\'s loopback') : no(why)), (e: unknown) => no(`could not be tried: ${(e as Error).message}`)),
    sockperf(),
  ]);
  // bpftrace 0.17 cannot read a module's BTF; the offsets (bpftool) can.
  if (tun.queue === 'unknown' && samplerA.offsets) Object.assign(tun, { queue: 'ptr_ring', evidence: `struct tun_file has tx_ring (BTF ${samplerA.offsets.source}, read with bpftool)`, queueModeSwitch: samplerA.offsets.tfile.skq !== null });
  // tun built in (the patched kernel) or loaded: the parameter exists only with patch 0002.
  if (tun.queue !== 'unknown') Object.assign(tun, { backpressureSwitch: existsSync('/sys/module/tun/parameters/backpressure') });
  let dropReasons: Record<string, number> = {};
  try {
    if (tracefs.path) dropReasons = readDropReasons(tracefs.path);
  } catch {
    dropReasons = {};
  }
  const sink = sinkBinaryPath();
  return {
    kernel: { release: release(), version: version(), arch: arch() },
    host: { hostname: hostname(), cpus: cpus().length, cpuModel: cpuModel(), memoryMiB: Math.round(totalmem() / 2 ** 20) },
    root: process.getuid?.() === 0,
    devNetTun: devNetTun(),
    netns: existsSync('/proc/self/ns/net') ? yes('network namespaces supported') : no('no /proc/self/ns/net: kernel without CONFIG_NET_NS'),
    tun,
    btf: existsSync('/sys/kernel/btf/vmlinux') ? yes('/sys/kernel/btf/vmlinux present') : no('no /sys/kernel/btf/vmlinux (kernel without CONFIG_DEBUG_INFO_BTF): struct layouts cannot be read'),
    tracefs,
    probeBackends: backends,
    sampler: samplerA,
    dropReasons,
    bpftrace: { available: bpftrace.ok, reason: bpftrace.ok ? bpftrace.reason : `${bpftrace.reason}: apt-get install bpftrace`, version: bpftrace.version },
    trafgen: { available: trafgen.ok, reason: trafgen.ok ? trafgen.reason : `${trafgen.reason}: apt-get install netsniff-ng`, version: trafgen.version },
    pktgen: pktgenA,
    vhostNet: vhost,
    kvm: kvm(),
    qemu: { available: qemu.ok, reason: qemu.ok ? qemu.reason : `${qemu.reason}: apt-get install qemu-system-x86 (only for VM targets and guest consumers)`, version: qemu.version },
    sink: existsSync(sink) ? { ...yes(`built at ${sink}`), path: sink } : { ...no(`${sink} is not built: run npm run setup (or make -C sink)`), path: null },
    wire: existsSync(wireBinaryPath()) ? { ...yes(`built at ${wireBinaryPath()}`), path: wireBinaryPath() } : { ...no(`${wireBinaryPath()} is not built: run bash scripts/setup.sh (or make -C sink)`), path: null },
    iperf3: iperf3A,
    sockperf: sockperfA,
    qdiscs: qdiscsA,
    netem: netemA,
  };
}
