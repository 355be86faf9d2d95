// What a run needs, checked before any traffic, in two kinds with their own fixes:
//   profileProblems: the profile asks for something no tap or no machine with these CPUs can
//     do (a frame larger than the MTU, pktgen options a tap refuses, a CPU this machine lacks);
//     the fix is in the profile.
//   missingRequirements: the machine lacks a capability (root, bpftrace, trafgen, a probe
//     backend, the patched kernel ...); the fix is on the machine (see tunbench doctor).
// Every problem is listed with how to fix it, and the run stops with exit code 2.
import { NETEM_HINT } from '../lab/netem.ts';
import { existsSync } from 'node:fs';
import type { ProbeLevel } from '../profile/schema.ts';
import { UserError } from '../errors.ts';
import { chooseBackend } from '../probes/backends.ts';
import type { Availability, Capabilities, Plan, ProbeBackend, ResolvedVariant } from '../types.ts';
import { guestIperf3Files } from '../workload/consumers/guest.ts';
import { cpuProblems } from '../lab/cpus.ts';
import { SOCKPERF_HINT } from '../workload/generators/sockperf.ts';
import { iperf2Path } from '../workload/generators/iperf2.ts';

/** Why the guest consumer cannot carry iperf3 (the binary or a library it loads is missing), or null. */
export function guestIperf3Problem(files: () => unknown = guestIperf3Files): string | null {
  try {
    files();
    return null;
  } catch (e) {
    const err = e as Error & { hint?: string };
    return `${err.message}${err.hint ? `: ${err.hint}` : ''}`;
  }
}

/** Problems in the profile itself; `usableCpus` null skips the CPU checks. Pure but for the guest kernel's existence. */
export function profileProblems(variants: ResolvedVariant[], usableCpus: number[] | null): string[] {
  const out: string[] = [];
  const add = (msg: string) => {
    if (!out.includes(msg)) out.push(msg);
  };
  for (const v of variants) {
    const where = variants.length > 1 || v.name !== 'default' ? `variant ${v.name}: ` : '';
    const g = v.workload.generator;
    const c = v.workload.consumer;
    const mtu = v.workload.tap.mtu;
    if (g.type === 'trafgen') {
      if (g.packetSize > mtu + 14) add(`${where}workload.generator.packetSize: ${g.packetSize} is larger than the tap's MTU ${mtu} + 14 bytes of Ethernet header; lower packetSize to at most ${mtu + 14} or raise workload.tap.mtu to at least ${g.packetSize - 14}`);
    } else if (g.type === 'pktgen') {
      if (g.pkt_size > mtu + 14) add(`${where}workload.generator.pkt_size: ${g.pkt_size} is larger than the tap's MTU ${mtu} + 14 bytes of Ethernet header; lower pkt_size to at most ${mtu + 14} or raise workload.tap.mtu`);
      if (g.burst > 1) add(`${where}workload.generator.burst: ${g.burst} > 1 is rejected on a tap (pktgen start_xmit/queue_xmit); set burst: 1`);
      if (g.clone_skb > 0) add(`${where}workload.generator.clone_skb: ${g.clone_skb} > 0 is rejected on a tap (tun clears IFF_TX_SKB_SHARING); set clone_skb: 0`);
    }
    if (g.type === 'sockperf') {
      if (c.type !== 'wire') add(`${where}workload.generator: sockperf needs its server behind the tap: set workload.consumer.type: wire (the sockperf server runs in the wire's peer namespace)`);
      if (g.protocol === 'udp' && g.messageSize > mtu - 28) add(`${where}workload.generator.messageSize: ${g.messageSize} bytes of UDP payload do not fit the tap's MTU ${mtu} (IPv4 + UDP headers take 28): IP would fragment every message; set messageSize to at most ${mtu - 28}`);
    }
    if (g.type === 'iperf3') {
      if (c.type === 'sink') add(`${where}workload.generator: iperf3 needs a receiver behind the tap: set workload.consumer.type: wire (the iperf3 server runs in the wire's peer namespace) or guest (it runs inside the QEMU guest)`);
      if (g.protocol === 'udp' && g.length !== undefined && g.length > mtu - 28) add(`${where}workload.generator.length: ${g.length} bytes of UDP payload do not fit the tap's MTU ${mtu} (IPv4 + UDP headers take 28): IP would fragment every datagram; set length to at most ${mtu - 28}`);
      if (g.protocol === 'tcp' && g.bitrate !== undefined && g.bitrate > 0) add(`${where}workload.generator.bitrate: for TCP flows leave bitrate out (tunbench measures what TCP achieves; a paced TCP flow never fills the queue)`);
      if (c.type === 'wire' && v.workload.tap.queues !== 1) add(`${where}workload.tap.queues: ${v.workload.tap.queues}; the wire forwards a single-queue tap; set tap.queues: 1`);
    } else if (c.type === 'wire' && v.workload.tap.queues !== 1) add(`${where}workload.tap.queues: ${v.workload.tap.queues}; consumer type wire reads a single-queue tap; set tap.queues: 1`);
    if (v.workload.tap.steering === 'cpu' && c.type !== 'sink') add(`${where}workload.tap.steering: cpu is a steering program the sink attaches; consumer type ${c.type} does not; drop steering or set workload.consumer.type: sink`);
    const b = v.workload.background;
    if (b) {
      if (g.type !== 'iperf3' && g.type !== 'sockperf') add(`${where}workload.background: a background flood runs beside measured flows; with a ${g.type} generator set the flood as the generator itself (or make the generator iperf3 or sockperf)`);
      const size = b.type === 'trafgen' ? b.packetSize : b.pkt_size;
      if (size > mtu + 14) add(`${where}workload.background: frame size ${size} is larger than the tap's MTU ${mtu} + 14; lower it`);
      if (b.type === 'pktgen' && b.burst > 1) add(`${where}workload.background.burst: ${b.burst} > 1 is rejected on a tap; set burst: 1`);
      if (b.type === 'pktgen' && b.clone_skb > 0) add(`${where}workload.background.clone_skb: ${b.clone_skb} > 0 is rejected on a tap; set clone_skb: 0`);
    }
    for (const p of transferProblems(v.workload)) add(`${where}${p}`);
    for (const p of mcastProblems(v)) add(`${where}${p}`);
    if (c.type === 'guest') {
      if (v.workload.tap.queues !== 1) add(`${where}workload.tap.queues: ${v.workload.tap.queues}; consumer type guest reads a single-queue tap; set tap.queues: 1`);
      if (c.kernel !== undefined && !existsSync(c.kernel)) add(`${where}workload.consumer.kernel: ${c.kernel} does not exist; give the path of a bzImage, or leave kernel out (Debian's kernel is fetched)`);
    }
    if (usableCpus) for (const p of cpuProblems(v.workload, usableCpus, where)) add(p);
  }
  return out;
}

/** The multicast lab's constraints (generator mcast, tap.count, workload.unread). */
export function mcastProblems(v: Pick<ResolvedVariant, 'workload' | 'probes'>): string[] {
  const out: string[] = [];
  const w = v.workload;
  const g = w.generator;
  const count = w.tap.count ?? 1;
  if (g.type !== 'mcast') {
    if (count > 1) out.push(`workload.tap.count: ${count} taps make the multicast lab, which only the mcast generator drives; set generator.type: mcast or leave tap.count out`);
    if (w.unread) out.push('workload.unread: unread taps belong to the multicast lab; set generator.type: mcast (or use workload.stall for one tap)');
    return out;
  }
  if (w.transfer?.bytes === undefined) out.push('workload.transfer: the multicast burst sends a fixed amount; add transfer: { bytes: N, deadlineSeconds: S }');
  if (w.consumer.type !== 'sink') out.push(`workload.consumer: each tap of the multicast lab is read by a sink; set consumer.type: sink (not ${w.consumer.type})`);
  if (w.tap.queues !== 1) out.push(`workload.tap.queues: ${w.tap.queues}; the multicast lab's taps are single-queue; set tap.queues: 1`);
  if (w.tap.queueMode !== 'default') out.push('workload.tap.queueMode: not supported in the multicast lab; leave it default');
  if (w.stall) out.push('workload.stall: use workload.unread in the multicast lab');
  if (w.background) out.push('workload.background: not supported beside a multicast burst');
  if (v.probes.level !== 'off') out.push(`probes.level: ${v.probes.level}; the multicast lab runs no probes yet (its figures are the kernel's counters and the readers' counts); set probes.level: off`);
  if (g.length > w.tap.mtu - 48) out.push(`workload.generator.length: ${g.length} bytes of UDP payload do not fit the MTU ${w.tap.mtu} (IPv6 + UDP headers take 48); set it to at most ${w.tap.mtu - 48}`);
  for (const i of w.unread ?? []) if (i >= count) out.push(`workload.unread: tap ${i} does not exist (tap.count ${count}: indexes 0..${count - 1})`);
  if (new Set(w.unread ?? []).size !== (w.unread ?? []).length) out.push('workload.unread: a tap is listed twice');
  return out;
}

/** A fixed transfer's and a stall's constraints (workload.transfer, workload.stall). */
export function transferProblems(w: ResolvedVariant['workload']): string[] {
  const out: string[] = [];
  const t = w.transfer;
  const g = w.generator;
  if (t) {
    if (g.type === 'sockperf') out.push('workload.transfer: a sockperf generator measures round trips over the window, not a fixed amount; leave transfer out (or use trafgen, pktgen or iperf3)');
    else if ((t.packets === undefined) === (t.bytes === undefined)) out.push('workload.transfer: give exactly one of packets (a trafgen or pktgen flood) and bytes (an iperf3 flow)');
    else if (t.packets !== undefined && g.type === 'iperf3') out.push('workload.transfer.packets: an iperf3 generator sends bytes; use transfer.bytes');
    else if (t.bytes !== undefined && g.type !== 'iperf3' && g.type !== 'mcast') out.push(`workload.transfer.bytes: a ${g.type} generator sends packets; use transfer.packets`);
    if (t.packets !== undefined && g.type === 'pktgen') {
      if (g.count !== 0) out.push('workload.generator.count: leave it 0 with workload.transfer (transfer.packets sets pktgen\'s count)');
      if (t.packets % g.threads !== 0) out.push(`workload.transfer.packets: ${t.packets} does not split evenly over ${g.threads} pktgen threads; make it a multiple of ${g.threads}`);
    }
  }
  if (w.stall) {
    if (!t) out.push('workload.stall: a stalled reader is timed against a fixed transfer; add workload.transfer (packets or bytes, deadlineSeconds)');
    if (w.consumer.type !== 'sink') out.push(`workload.stall: the reader stalled is the sink's process; consumer ${w.consumer.type} is not supported; use consumer.type: sink`);
    if (t && w.stall.afterSeconds >= t.deadlineSeconds) out.push(`workload.stall.afterSeconds: ${w.stall.afterSeconds} is not before the transfer's ${t.deadlineSeconds} s deadline`);
  }
  return out;
}

/** `guestFiles`: what resolves the guest consumer's iperf3 and its libraries (a test passes its own). */
export function missingRequirements(caps: Capabilities, variants: ResolvedVariant[], backend: ProbeBackend | null, target: 'host' | 'vm', guestFiles: () => unknown = guestIperf3Files): string[] {
  const out: string[] = [];
  const need = (ok: boolean, msg: string) => {
    if (!ok && !out.includes(msg)) out.push(msg);
  };
  need(caps.root, 'root: tunbench builds network namespaces and tap devices and loads eBPF programs; run it as root (sudo)');
  need(caps.devNetTun.available, `tun: ${caps.devNetTun.reason}`);
  need(caps.netns.available, `network namespaces: ${caps.netns.reason}`);
  need(caps.sink.available, `sink consumer: ${caps.sink.reason}`);
  const levels = new Set<ProbeLevel>(variants.map((v) => v.probes.level));
  const probing = [...levels].some((l) => l !== 'off');
  if (probing) {
    need(caps.bpftrace.available, `bpftrace: ${caps.bpftrace.reason} (or run with --probes off)`);
    need(caps.tracefs.available, `tracefs: ${caps.tracefs.reason}`);
    need(caps.sampler?.available === true, `the probes' queue sampler: ${caps.sampler?.reason ?? 'not detected'} (or run with --probes off)`);
    if (levels.has('full')) need(backend !== null, 'a per-packet attach point for the full level: none could attach on this kernel (see tunbench doctor); or use --probes counters');
  }
  for (const v of variants) {
    const c = v.workload.consumer;
    const q = v.workload.tap.qdisc;
    if (q !== 'default') {
      const a = caps.qdiscs?.[q];
      need(a?.available === true, `qdisc ${q} (variant ${v.name}, tap.qdisc): ${a?.reason ?? 'not detected on this machine (tunbench doctor)'}`);
    }
    if (c.type === 'wire') need(caps.wire?.available === true, `wire consumer (variant ${v.name}): ${caps.wire?.reason ?? 'not detected'}; it needs a second tap in a peer namespace, which tunbench creates`);
    if (c.type === 'wire' && (c.rttMs ?? 0) > 0) need(caps.netem?.available === true, `netem for consumer.rttMs ${c.rttMs} (variant ${v.name}): ${caps.netem?.reason ?? 'not detected on this machine (tunbench doctor)'}; ${NETEM_HINT}`);
    for (const g of [v.workload.generator, ...(v.workload.background ? [v.workload.background] : [])]) {
    if (g.type === 'iperf3') {
      need(caps.iperf3?.available === true, `iperf3 (variant ${v.name}): ${caps.iperf3?.reason ?? 'not detected'}`);
    } else if (g.type === 'sockperf') {
      need(caps.sockperf?.available === true, `sockperf (variant ${v.name}): ${caps.sockperf?.reason ?? `not detected: ${SOCKPERF_HINT}`}`);
    } else if (g.type === 'mcast') {
      need(iperf2Path() !== null, `iperf 2 (variant ${v.name}, generator mcast): 'iperf' is not on PATH; apt-get install iperf (Debian's iperf 2.1.8)`);
      if (g.ownerTrace) {
        need(caps.bpftrace.available, `bpftrace for generator.ownerTrace (variant ${v.name}): ${caps.bpftrace.reason}; or leave ownerTrace out`);
        need(caps.tracefs.available, `tracefs for generator.ownerTrace (variant ${v.name}): ${caps.tracefs.reason}; or leave ownerTrace out`);
      }
    } else if (g.type === 'trafgen') {
      need(caps.trafgen.available, `trafgen (variant ${v.name}): ${caps.trafgen.reason}`);
      if (v.probes.level === 'full' && backend === 'tracepoint' && !g.qdisc) {
        out.push(`variant ${v.name}: trafgen with qdisc: false bypasses the qdisc and the net:net_dev_* tracepoints, so the full level's tracepoint attach point cannot see its packets; set generator.qdisc: true, or use a kernel with kprobes`);
      }
    } else {
      need(caps.pktgen.available, `pktgen (variant ${v.name}): ${caps.pktgen.reason}`);
      if (v.probes.level === 'full' && backend === 'tracepoint' && g.xmit_mode === 'start_xmit') {
        out.push(`variant ${v.name}: pktgen xmit_mode start_xmit calls the driver directly and skips the net:net_dev_* tracepoints; use xmit_mode: queue_xmit with the tracepoint backend`);
      }
    }
    }
    if (v.workload.tap.queueMode !== 'default') {
      need(caps.tun.queueModeSwitch === true, `variant ${v.name}: tap.queueMode ${v.workload.tap.queueMode} needs tunbench's tun patch (kernel/: tun.queue_mode), which kernel ${caps.kernel.release} does not have; use target: vm with vm.kernel: patched`);
    }
    if (v.workload.tap.backpressure !== undefined) {
      need(caps.tun.backpressureSwitch === true, `variant ${v.name}: tap.backpressure ${v.workload.tap.backpressure} needs tunbench's tun backpressure patch (kernel/patches/0002: /sys/module/tun/parameters/backpressure), which kernel ${caps.kernel.release} does not have; use target: vm with vm.kernel: patched`);
      need(v.workload.tap.queueMode !== 'skq', `variant ${v.name}: tap.backpressure applies to ring queues only; drop it or use tap.queueMode ring|default`);
    }
    if (c.type === 'guest') {
      need(caps.qemu.available, `qemu (variant ${v.name}, consumer guest): ${caps.qemu.reason}`);
      if (c.vhost === 'on') need(caps.vhostNet.available, `vhost-net (variant ${v.name}, consumer.vhost: on): ${caps.vhostNet.reason}; or vhost: auto`);
      if (v.workload.generator.type === 'iperf3' && caps.iperf3?.available === true) {
        // The server runs inside the guest from the host's own iperf3 binary and libraries
        // (a missing iperf3 is reported once, by the generator's check above).
        const why = guestIperf3Problem(guestFiles);
        need(why === null, `iperf3 inside the guest consumer (variant ${v.name}): ${why}`);
      }
    }
  }
  return out;
}

type Backends = Record<ProbeBackend, Availability>;

/**
 * The full level's attach point per variant (null where no trial of it runs at the full level):
 * a pinned one where the variant runs, or with backend auto the best one that every kernel of
 * the run offers, so every side pays the same probes. An auto variant with no attach point
 * anywhere gets null (the requirement check then says why).
 */
export function chooseBackends(variants: ResolvedVariant[], plan: Plan | null, capsOf: (variant: string) => { probeBackends: Backends }, allCaps: Array<{ probeBackends: Backends }>): Map<string, ProbeBackend | null> {
  const common = {} as Backends;
  for (const b of ['tracepoint', 'kprobe', 'fentry'] as const) {
    const missing = allCaps.map((c) => c.probeBackends[b]).find((a) => !a.available);
    common[b] = missing ? { available: false, reason: allCaps.length > 1 ? `not on every kernel of the run (${missing.reason})` : missing.reason } : { available: true, reason: allCaps.length > 1 ? 'on every kernel of the run' : allCaps[0]!.probeBackends[b].reason };
  }
  const out = new Map<string, ProbeBackend | null>();
  for (const v of variants) {
    const full = plan ? plan.trials.some((t) => t.variant === v.name && t.probeLevel === 'full') : v.probes.level === 'full';
    if (!full) { out.set(v.name, null); continue; }
    if (v.probes.backend !== 'auto') { out.set(v.name, chooseBackend(capsOf(v.name).probeBackends, v.probes.backend)); continue; }
    try {
      out.set(v.name, chooseBackend(common, 'auto'));
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      out.set(v.name, null);
    }
  }
  return out;
}
