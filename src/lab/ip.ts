// Thin wrapper around iproute2's `ip`, with errors that say which command failed.
import { execa } from 'execa';
import { UserError } from '../errors.ts';

export async function ip(args: string[], opts: { netns?: string; reject?: boolean } = {}): Promise<string> {
  const full = opts.netns ? ['-n', opts.netns, ...args] : args;
  const r = await execa('ip', full, { reject: false, timeout: 15_000 });
  if (r.exitCode !== 0 && opts.reject !== false) {
    const msg = (r.stderr || r.stdout || String(r.exitCode)).trim().split('\n')[0];
    throw new UserError(`'ip ${full.join(' ')}' failed: ${msg}`, {
      hint: r.failed && (r as { code?: string }).code === 'ENOENT' ? 'install iproute2 (apt-get install iproute2)' : 'run as root on a kernel with network namespaces and tun',
    });
  }
  return r.stdout;
}

/** What `ip -j link show dev DEV` says of a device (the fields tunbench reads). */
export interface LinkInfo {
  address?: string;
  mtu?: number;
  flags?: string[];
  qdisc?: string;
  txqlen?: number;
}

/** One device's link attributes, in a namespace or here; a device ip does not list is an error. */
export async function linkShow(dev: string, netns?: string): Promise<LinkInfo> {
  const out = await ip(['-j', 'link', 'show', 'dev', dev], netns ? { netns } : {});
  const info = (JSON.parse(out) as LinkInfo[])[0];
  if (!info) throw new UserError(`'ip -j link show dev ${dev}'${netns ? ` in ${netns}` : ''} listed no device`, { hint: 'iproute2 with JSON output (-j) is needed' });
  return info;
}

/** A device's MAC address (aa:bb:cc:dd:ee:ff), or a UserError naming the device. */
export async function macAddress(dev: string, netns?: string): Promise<string> {
  return macOf(await linkShow(dev, netns), dev, netns);
}

/** The MAC address in a device's link attributes already read (linkShow), checked. */
export function macOf(info: LinkInfo, dev: string, netns?: string): string {
  const mac = info.address;
  if (!mac || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac)) throw new UserError(`could not read the MAC address of ${dev}${netns ? ` in ${netns}` : ''}`, { hint: 'ip -j link show must report it (iproute2 with JSON output)' });
  return mac;
}

export async function listNetns(): Promise<string[]> {
  const out = await ip(['netns', 'list'], { reject: false });
  return out.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean);
}
