// tunbench doctor [--json]: what this machine can do, and what each profile feature needs.
import { parseArgs } from 'node:util';
import { detectCapabilities } from '../lab/capabilities.ts';
import type { Availability, Capabilities } from '../types.ts';

function line(name: string, a: Availability & { version?: string | null }): string {
  return `  ${a.available ? 'yes' : 'no '}  ${name.padEnd(18)} ${a.version ? `${a.version}  ` : ''}${a.reason}`;
}

export function formatCapabilities(c: Capabilities): string {
  const out = [
    `kernel      ${c.kernel.release} (${c.kernel.arch})`,
    `host        ${c.host.hostname}: ${c.host.cpus} CPUs, ${c.host.cpuModel}, ${c.host.memoryMiB} MiB`,
    `tun queue   ${c.tun.queue}  (${c.tun.evidence})`,
    `root        ${c.root ? 'yes' : 'no: tunbench needs root'}`,
    '',
    'lab',
    line('/dev/net/tun', c.devNetTun),
    line('network namespaces', c.netns),
    line('sink consumer', c.sink),
    '',
    'probes',
    line('bpftrace', c.bpftrace),
    line('tracefs', c.tracefs),
    line('BTF', c.btf),
    line('backend tracepoint', c.probeBackends.tracepoint),
    line('backend kprobe', c.probeBackends.kprobe),
    line('backend fentry', c.probeBackends.fentry),
    `       drop reasons     FULL_RING=${c.dropReasons.FULL_RING ?? 'absent'} (${Object.keys(c.dropReasons).length} reasons read from skb:kfree_skb's format)`,
    '',
    'traffic',
    line('trafgen', c.trafgen),
    line('pktgen', c.pktgen),
    '',
    'virtualisation',
    line('qemu', c.qemu),
    line('KVM', c.kvm),
    line('vhost-net', c.vhostNet),
  ];
  return out.join('\n');
}

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log('usage: tunbench doctor [--json]\n\nPrints the capability record: kernel, tun queue implementation (from BTF), probe backends (found by attaching), generators, virtualisation.');
    return 0;
  }
  const caps = await detectCapabilities();
  console.log(values.json ? JSON.stringify(caps, null, 2) : formatCapabilities(caps));
  return 0;
}
