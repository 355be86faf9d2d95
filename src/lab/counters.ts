// Kernel counters of the lab tap, read inside the lab namespace.
import type { DeviceCounters } from '../types.ts';
import { ip } from './ip.ts';

interface IpLinkStats {
  stats64?: { tx?: { packets: number; bytes: number; dropped: number; errors: number } };
}

export async function readDeviceCounters(netns: string, dev: string): Promise<DeviceCounters> {
  const out = await ip(['-j', '-s', 'link', 'show', 'dev', dev], { netns });
  const parsed = JSON.parse(out) as IpLinkStats[];
  const tx = parsed[0]?.stats64?.tx;
  if (!tx) throw new Error(`no tx statistics for ${dev} in ${netns}`);
  return { tx_packets: tx.packets, tx_bytes: tx.bytes, tx_dropped: tx.dropped, tx_errors: tx.errors };
}

export function counterDelta(before: DeviceCounters, after: DeviceCounters): DeviceCounters {
  return {
    tx_packets: after.tx_packets - before.tx_packets,
    tx_bytes: after.tx_bytes - before.tx_bytes,
    tx_dropped: after.tx_dropped - before.tx_dropped,
    tx_errors: after.tx_errors - before.tx_errors,
  };
}
