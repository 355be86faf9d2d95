// The multicast lab (generator mcast, tap.count): one namespace holding a Linux bridge with
// multicast snooping off (so it floods every multicast frame to every port), tap.count taps
// enslaved to it, and a veth pair whose one end is a bridge port and whose other end is the
// sender's interface (IPv6 on, one static address, no DAD, no router solicitations, MLD
// reports squeezed into the set-up). Everything else keeps IPv6 off, so only the sender's
// datagrams cross the taps once the set-up has settled. The sender is in the bridge's own
// namespace: a veth within one namespace does not orphan the skb (skb_scrub_packet orphans
// only across namespaces), so the frame the bridge hands to its last port still carries the
// sender socket's send-buffer charge, as a guest's or a local sender's does on a real host.
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { UserError } from '../errors.ts';
import { onCleanup } from '../process/cleanup.ts';
import { ip } from './ip.ts';
import { newLabNames } from './names.ts';
import { deleteNetns } from './reap.ts';

export interface McastLab {
  netns: string;
  bridge: string;
  /** The sender's interface (IPv6 on): the veth end, or the bridge itself; the veth's bridge port (null: sender bridge). */
  senderDev: string;
  senderPort: string | null;
  taps: string[];
  txQueueLen: number;
  destroy(): Promise<void>;
}

/** The lab's device names from its base tap name (each at most 15 characters). */
export function mcastNames(base: string, count: number): { bridge: string; senderDev: string; senderPort: string; taps: string[] } {
  const b = base.slice(0, 12);
  return { bridge: `${b}br`, senderDev: `${b}vs`, senderPort: `${b}vb`, taps: Array.from({ length: count }, (_, i) => `${b}t${i}`) };
}

/** The sender's own address (a ULA, never routed: the namespace has no other interface). */
export const SENDER_ADDRESS = 'fd00:7b::1/64';

export async function createMcastLab(o: { count: number; txQueueLen: number; mtu: number; sender?: 'veth' | 'bridge' }): Promise<McastLab> {
  const viaBridge = o.sender === 'bridge';
  const { netns, tap: base } = newLabNames();
  const n = mcastNames(base, o.count);
  let destroyed = false;
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    forget();
    await deleteNetns(netns);
  };
  const forget = onCleanup(`multicast lab ${netns}`, destroy);
  const sysctl = (...kv: string[]) => execa('ip', ['netns', 'exec', netns, 'sysctl', '-qw', ...kv]);
  try {
    await ip(['netns', 'add', netns]);
    await ip(['link', 'set', 'lo', 'up'], { netns });
    await sysctl('net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
    await ip(['link', 'add', n.bridge, 'type', 'bridge', 'mcast_snooping', '0'], { netns });
    await ip(['link', 'set', n.bridge, 'mtu', String(o.mtu), 'addrgenmode', 'none', 'up'], { netns });
    for (const t of n.taps) {
      await ip(['tuntap', 'add', 'dev', t, 'mode', 'tap'], { netns });
      await ip(['link', 'set', 'dev', t, 'txqueuelen', String(o.txQueueLen), 'mtu', String(o.mtu), 'addrgenmode', 'none', 'master', n.bridge, 'up'], { netns });
    }
    // The sender's device: a veth end (its peer a bridge port, enslaved after the taps) or the bridge.
    const dev = viaBridge ? n.bridge : n.senderDev;
    if (!viaBridge) {
      await ip(['link', 'add', n.senderDev, 'mtu', String(o.mtu), 'type', 'veth', 'peer', 'name', n.senderPort, 'mtu', String(o.mtu)], { netns });
      await ip(['link', 'set', n.senderPort, 'addrgenmode', 'none', 'master', n.bridge, 'up'], { netns });
    }
    const c = `net.ipv6.conf.${dev}`;
    await sysctl(`${c}.disable_ipv6=0`, `${c}.router_solicitations=0`, `${c}.accept_ra=0`, `${c}.mldv1_unsolicited_report_interval=10`, `${c}.mldv2_unsolicited_report_interval=10`);
    await ip(['link', 'set', dev, 'addrgenmode', 'none', 'up'], { netns });
    await ip(['-6', 'addr', 'add', SENDER_ADDRESS, 'dev', dev, 'nodad'], { netns });
    // The address joins its solicited-node group: its MLD reports (robustness 2, 10 ms apart)
    // go out now, before anything is counted.
    await sleep(100);
    return { netns, bridge: n.bridge, senderDev: dev, senderPort: viaBridge ? null : n.senderPort, taps: n.taps, txQueueLen: o.txQueueLen, destroy };
  } catch (e) {
    await destroy();
    if (e instanceof UserError) throw e;
    throw new UserError(`could not build the multicast lab: ${(e as Error).message}`, { hint: 'run as root on a kernel with network namespaces, /dev/net/tun, bridges (CONFIG_BRIDGE) and veth' });
  }
}
