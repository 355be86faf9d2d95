// A capability record of a host like the development VM (trafgen, iperf3, QEMU; no pktgen, no
// fq_codel), with OVER's fields in place of its own.
import type { Capabilities } from '../../src/types.ts';

export const caps = (over: Partial<Capabilities> = {}): Capabilities => ({
  root: true, devNetTun: { available: true, reason: '' }, netns: { available: true, reason: '' }, sink: { available: true, reason: '', path: '' },
  bpftrace: { available: true, reason: '', version: '0.17' }, tracefs: { available: true, reason: '', path: '/sys/kernel/tracing' },
  sampler: { available: true, reason: '', offsets: null }, trafgen: { available: true, reason: '', version: '0.6' }, pktgen: { available: false, reason: 'no pktgen' },
  tun: { queue: 'ptr_ring', evidence: '' }, kernel: { release: '6.18', version: '', arch: 'x86_64' }, qemu: { available: true, reason: '', version: null }, vhostNet: { available: false, reason: '' }, kvm: { available: false, reason: 'no /dev/kvm' },
  wire: { available: true, reason: '', path: '' }, iperf3: { available: true, reason: '', version: '3.12' },
  qdiscs: { noqueue: { available: true, reason: '' }, pfifo_fast: { available: true, reason: '' }, fq_codel: { available: false, reason: "this kernel cannot attach qdisc 'fq_codel' (needs CONFIG_NET_SCH_FQ_CODEL); modprobe sch_fq_codel, or ..." }, fq: { available: false, reason: 'no' } },
  probeBackends: { tracepoint: { available: true, reason: '' }, kprobe: { available: false, reason: 'CONFIG_KPROBES is not set' }, fentry: { available: false, reason: 'EPERM' } },
  dropReasons: { FULL_RING: 80 },
  ...over,
} as Capabilities);
