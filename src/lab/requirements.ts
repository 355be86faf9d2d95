// What a run needs from the machine, checked before any traffic: every missing thing is
// listed with how to get it, and the run stops with exit code 2.
import type { ProbeLevel } from '../profile/schema.ts';
import type { Capabilities, ProbeBackend, ResolvedVariant } from '../types.ts';

export function missingRequirements(caps: Capabilities, variants: ResolvedVariant[], backend: ProbeBackend | null, target: 'host' | 'vm'): string[] {
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
    need(backend !== null, 'a probe backend: none could attach on this kernel (see tunbench doctor); or run with --probes off');
  }
  for (const v of variants) {
    const g = v.workload.generator;
    const c = v.workload.consumer;
    if (g.type === 'trafgen') {
      need(caps.trafgen.available, `trafgen (variant ${v.name}): ${caps.trafgen.reason}`);
      need(g.packetSize <= v.workload.tap.mtu + 14, `variant ${v.name}: generator.packetSize ${g.packetSize} is larger than the tap's MTU ${v.workload.tap.mtu} + 14 bytes of Ethernet header`);
      if (v.probes.level !== 'off' && backend === 'tracepoint' && !g.qdisc) {
        out.push(`variant ${v.name}: trafgen with qdisc: false bypasses the qdisc and the net:net_dev_* tracepoints, so the tracepoint probe backend cannot see its packets; set generator.qdisc: true, or use a kernel with kprobes`);
      }
    } else {
      need(caps.pktgen.available, `pktgen (variant ${v.name}): ${caps.pktgen.reason}`);
      if (g.burst > 1) out.push(`variant ${v.name}: pktgen burst ${g.burst} > 1 is rejected on a tap (pktgen start_xmit/queue_xmit); set burst: 1`);
      if (g.clone_skb > 0) out.push(`variant ${v.name}: pktgen clone_skb ${g.clone_skb} > 0 is rejected on a tap (tun clears IFF_TX_SKB_SHARING); set clone_skb: 0`);
      if (v.probes.level !== 'off' && backend === 'tracepoint' && g.xmit_mode === 'start_xmit') {
        out.push(`variant ${v.name}: pktgen xmit_mode start_xmit calls the driver directly and skips the net:net_dev_* tracepoints; use xmit_mode: queue_xmit with the tracepoint backend`);
      }
    }
    if (v.workload.tap.queueMode !== 'default') {
      need(caps.tun.queueModeSwitch === true, `variant ${v.name}: tap.queueMode ${v.workload.tap.queueMode} needs tunbench's tun patch (kernel/: tun.queue_mode), which kernel ${caps.kernel.release} does not have; use target: vm with vm.kernel: patched`);
    }
    if (c.type === 'guest') {
      need(caps.qemu.available, `qemu (variant ${v.name}, consumer guest): ${caps.qemu.reason}`);
      need(v.workload.tap.queues === 1, `variant ${v.name}: consumer type guest reads a single-queue tap; set tap.queues: 1`);
      if (c.vhost === 'on') need(caps.vhostNet.available, `vhost-net (variant ${v.name}, consumer.vhost: on): ${caps.vhostNet.reason}; or vhost: auto`);
    }
  }
  return out;
}
