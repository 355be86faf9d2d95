// Text ranges of a kernel function, from /proc/kallsyms (root sees the addresses): the
// sampler recognises a drop at tun_net_xmit by the kfree_skb tracepoint's location, a number
// compare, instead of a per-event device-name compare. A function can have cold parts
// (tun_net_xmit.cold) where the compiler moved its error paths.
import { readFileSync } from 'node:fs';

export interface TextRange {
  /** Hex addresses, 0x-prefixed: [start, end). */
  start: string;
  end: string;
  symbol: string;
}

export function functionRangesIn(kallsyms: string, name: string): TextRange[] {
  const rows: { addr: bigint; sym: string }[] = [];
  for (const line of kallsyms.split('\n')) {
    const parts = line.split(/\s+/);
    if (parts.length < 3 || !/^[tT]$/.test(parts[1]!)) continue;
    rows.push({ addr: BigInt(`0x${parts[0]}`), sym: parts[2]! });
  }
  rows.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  const wanted = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\.cold|\\.part\\.\\d+|\\.constprop\\.\\d+)*$`);
  const out: TextRange[] = [];
  rows.forEach((r, i) => {
    if (!wanted.test(r.sym) || r.addr === 0n) return;
    const next = rows.slice(i + 1).find((x) => x.addr > r.addr);
    if (next) out.push({ start: `0x${r.addr.toString(16)}`, end: `0x${next.addr.toString(16)}`, symbol: r.sym });
  });
  return out;
}

/** tun_net_xmit's ranges on this kernel, or the reason there are none. */
export function tunNetXmitRanges(path = '/proc/kallsyms'): TextRange[] | string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return `cannot read ${path}: ${(e as Error).message}`;
  }
  const ranges = functionRangesIn(text, 'tun_net_xmit');
  if (ranges.length === 0) return 'tun_net_xmit is not in /proc/kallsyms (tun not loaded: modprobe tun), or its addresses are hidden (kernel.kptr_restrict; run as root)';
  return ranges;
}
