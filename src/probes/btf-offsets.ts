// Field offsets of tun's private structures, read from the kernel's BTF with bpftool.
// The probes' sampler reads the queue through raw offsets rendered into the script, so it
// works where bpftrace itself cannot see tun's types (bpftrace 0.17 does not read module
// BTF: Debian's kernel, where tun is a module with its types in /sys/kernel/btf/tun).
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { insideVm } from '../in-vm.ts';

/** Byte offsets; every one is needed by probes/sampler.bt except skq (tunbench's patch only). */
export interface TunOffsets {
  /** Where tun_file was found: /sys/kernel/btf/vmlinux (tun built in) or /sys/kernel/btf/tun (module). */
  source: string;
  tfile: {
    tun: number;
    queueIndex: number;
    txRing: number;
    /** tunbench's queue_mode patch: bool skq (null on other kernels). */
    skq: number | null;
    /** sk_receive_queue.qlen and .lock (struct sock is tun_file's first member). */
    rxQueueQlen: number;
    rxQueueLock: number;
  };
  tunStruct: { dev: number };
  ring: { producer: number; producerLock: number; consumerHead: number; consumerLock: number; size: number; queue: number };
  /** The tap's tx queues, reached from tun_struct.dev (vmlinux BTF): net_device._tx (array of
   * struct netdev_queue, `queueSize` bytes each), its state (bit 0 __QUEUE_STATE_DRV_XOFF) and
   * qdisc, and the qdisc's gso_skb.qlen (packets it requeued and holds). null/absent: not read. */
  txq?: { devTx: number; queueSize: number; state: number; qdisc: number; qdiscGsoQlen: number } | null;
  /** The handshake's walk from the renaming task to its files (vmlinux BTF): task_struct.files,
   * files_struct.fdt, fdtable.max_fds and .fd, file.private_data. With them the sampler reads
   * raw offsets, and bpftrace never builds kernel types from BTF for it: that took most of its
   * compile time (0.65 s of CPU on the host, about 12 s in a TCG guest). null/absent: the
   * script names the types (curtask->files->fdt) and bpftrace resolves them itself. */
  fdTable?: { taskFiles: number; filesFdt: number; fdtMaxFds: number; fdtFd: number; filePrivateData: number } | null;
  /** sk_buff.dev and .queue_mapping (vmlinux BTF), for the per-packet part read through raw
   * offsets, and .sk for the multicast owner trace; null/absent: typed casts as before. */
  skb?: { dev: number; queueMapping: number; sk?: number } | null;
}

interface BtfType {
  kind: string;
  name: string;
  /** STRUCT/UNION size in bytes. */
  size?: number;
  /** TYPEDEF/CONST/VOLATILE/PTR... target. */
  typeId?: number;
  members: { name: string; typeId: number; bitsOffset: number }[];
}

/** The named structs whose members the offsets need (with the anonymous ones inside them). */
export const NEEDED_STRUCTS = new Set(['tun_file', 'sock', 'sk_buff_head', 'tun_struct', 'ptr_ring', 'net_device', 'netdev_queue', 'Qdisc', 'task_struct', 'files_struct', 'fdtable', 'file', 'sk_buff']);
const WRAPPERS = new Set(['TYPEDEF', 'CONST', 'VOLATILE', 'RESTRICT', 'TYPE_TAG']);

/**
 * Parse `bpftool btf dump ... format raw` output into types by id. With `only`, the members of
 * named structs and unions outside it are skipped, and so are the kinds that hold no members and
 * lead to none (functions, enums, pointers...): vmlinux's dump is about 300,000 lines, which took
 * 15 s to parse whole in a TCG guest.
 */
export function parseBtfRaw(text: string, into = new Map<number, BtfType>(), only?: Set<string>): Map<number, BtfType> {
  let current: BtfType | null = null;
  let keepMembers = false;
  let at = 0;
  while (at < text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const first = text.charCodeAt(at);
    if (first === 91 /* [ */) {
      current = null;
      keepMembers = false;
      const line = text.slice(at, end);
      const head = /^\[(\d+)\] (\w+) '([^']*)'(?:.*?\btype_id=(\d+))?/.exec(line);
      if (head) {
        const kind = head[2]!;
        const name = head[3]!;
        const struct = kind === 'STRUCT' || kind === 'UNION';
        if (!only || WRAPPERS.has(kind) || (struct && (name === '(anon)' || only.has(name)))) {
          current = { kind, name, members: [] };
          if (head[4] !== undefined) current.typeId = Number(head[4]);
          const size = / size=(\d+)/.exec(line);
          if (size) current.size = Number(size[1]);
          into.set(Number(head[1]), current);
          keepMembers = struct;
        }
      }
    } else if (first === 9 /* tab */ && keepMembers && current) {
      const member = /^\t'([^']*)' type_id=(\d+) bits_offset=(\d+)/.exec(text.slice(at, end));
      if (member) current.members.push({ name: member[1]!, typeId: Number(member[2]), bitsOffset: Number(member[3]) });
    }
    at = end + 1;
  }
  return into;
}

function findStruct(types: Map<number, BtfType>, name: string): BtfType | undefined {
  for (const t of types.values()) if (t.kind === 'STRUCT' && t.name === name && t.members.length > 0) return t;
  return undefined;
}

function resolve(types: Map<number, BtfType>, id: number): BtfType | undefined {
  let t = types.get(id);
  for (let i = 0; t && i < 10 && WRAPPERS.has(t.kind); i++) t = t.typeId === undefined ? undefined : types.get(t.typeId);
  return t;
}

/** Byte offset of a member (looking inside anonymous structs and unions), or null. */
export function memberOffset(types: Map<number, BtfType>, struct: BtfType, name: string): number | null {
  for (const m of struct.members) {
    if (m.name === name) return m.bitsOffset / 8;
  }
  for (const m of struct.members) {
    if (m.name !== '(anon)') continue;
    const inner = resolve(types, m.typeId);
    if (!inner || (inner.kind !== 'STRUCT' && inner.kind !== 'UNION')) continue;
    const o = memberOffset(types, inner, name);
    if (o !== null) return m.bitsOffset / 8 + o;
  }
  return null;
}

/** The offsets, or the reason they cannot be had. */
export function tunOffsetsFrom(types: Map<number, BtfType>, source: string): TunOffsets | string {
  const need = (struct: string, member: string): number => {
    const s = findStruct(types, struct);
    if (!s) throw new Error(`struct ${struct} is not in the kernel's BTF (${source})`);
    const o = memberOffset(types, s, member);
    if (o === null) throw new Error(`struct ${struct} has no member ${member} (BTF, ${source}): not a ptr_ring tun (kernel 4.8 to today)`);
    return o;
  };
  try {
    const tfile = findStruct(types, 'tun_file');
    const rxQueue = need('sock', 'sk_receive_queue');
    return {
      source,
      tfile: {
        tun: need('tun_file', 'tun'),
        queueIndex: need('tun_file', 'queue_index'),
        txRing: need('tun_file', 'tx_ring'),
        skq: tfile ? memberOffset(types, tfile, 'skq') : null,
        rxQueueQlen: rxQueue + need('sk_buff_head', 'qlen'),
        rxQueueLock: rxQueue + need('sk_buff_head', 'lock'),
      },
      tunStruct: { dev: need('tun_struct', 'dev') },
      ring: {
        producer: need('ptr_ring', 'producer'),
        producerLock: need('ptr_ring', 'producer_lock'),
        consumerHead: need('ptr_ring', 'consumer_head'),
        consumerLock: need('ptr_ring', 'consumer_lock'),
        size: need('ptr_ring', 'size'),
        queue: need('ptr_ring', 'queue'),
      },
      txq: txqOffsets(types),
      fdTable: fdTableOffsets(types),
      skb: skbOffsets(types),
    };
  } catch (e) {
    return (e as Error).message;
  }
}

/** The tx queue's offsets, or null when the BTF lacks one of them (the sampler then reads no queue state). */
export function txqOffsets(types: Map<number, BtfType>): TunOffsets['txq'] {
  const get = (struct: string, member: string): number | null => {
    const s = findStruct(types, struct);
    return s ? memberOffset(types, s, member) : null;
  };
  const q = findStruct(types, 'netdev_queue');
  const v = { devTx: get('net_device', '_tx'), queueSize: q?.size ?? null, state: get('netdev_queue', 'state'), qdisc: get('netdev_queue', 'qdisc'), gso: get('Qdisc', 'gso_skb'), qlen: get('sk_buff_head', 'qlen') };
  if (Object.values(v).some((x) => x === null)) return null;
  return { devTx: v.devTx!, queueSize: v.queueSize!, state: v.state!, qdisc: v.qdisc!, qdiscGsoQlen: v.gso! + v.qlen! };
}

/** The offsets of one struct's members, or null when the BTF lacks one of them. */
function membersOf(types: Map<number, BtfType>, struct: string, members: string[]): number[] | null {
  const s = findStruct(types, struct);
  if (!s) return null;
  const out = members.map((m) => memberOffset(types, s, m));
  return out.some((x) => x === null) ? null : (out as number[]);
}

/** The handshake's walk from a task to a file's private_data, or null when one is missing. */
export function fdTableOffsets(types: Map<number, BtfType>): TunOffsets['fdTable'] {
  const task = membersOf(types, 'task_struct', ['files']);
  const files = membersOf(types, 'files_struct', ['fdt']);
  const fdt = membersOf(types, 'fdtable', ['max_fds', 'fd']);
  const file = membersOf(types, 'file', ['private_data']);
  if (!task || !files || !fdt || !file) return null;
  return { taskFiles: task[0]!, filesFdt: files[0]!, fdtMaxFds: fdt[0]!, fdtFd: fdt[1]!, filePrivateData: file[0]! };
}

/** sk_buff.dev and .queue_mapping (and .sk when there), or null when one of the first two is missing. */
export function skbOffsets(types: Map<number, BtfType>): TunOffsets['skb'] {
  const skb = membersOf(types, 'sk_buff', ['dev', 'queue_mapping']);
  if (!skb) return null;
  const sk = membersOf(types, 'sk_buff', ['sk']);
  return { dev: skb[0]!, queueMapping: skb[1]!, ...(sk ? { sk: sk[0]! } : {}) };
}

/** Read vmlinux's BTF and, when tun is a module, tun's, with bpftool. */
export async function readTunOffsets(bpftool = 'bpftool'): Promise<TunOffsets | string> {
  const vmlinux = '/sys/kernel/btf/vmlinux';
  const module = '/sys/kernel/btf/tun';
  if (!existsSync(vmlinux)) return 'the kernel has no BTF (/sys/kernel/btf/vmlinux missing: CONFIG_DEBUG_INFO_BTF)';
  const dump = async (file: string, base?: string): Promise<string> => {
    const args = [...(base ? ['--base-btf', base] : []), 'btf', 'dump', 'file', file, 'format', 'raw'];
    // vmlinux's raw dump is tens of MB of text: under emulation (a TCG guest) that takes a while.
    const timeout = insideVm() ? 180_000 : 30_000;
    const r = await execa(bpftool, args, { reject: false, timeout, maxBuffer: 256 * 1024 * 1024, stdin: 'ignore' });
    if (r.timedOut) throw new Error(`bpftool btf dump ${file} did not finish within ${timeout / 1000} s`);
    if ((r as { code?: string }).code === 'ENOENT') throw new Error('bpftool is not installed (apt-get install bpftool; bash scripts/setup.sh installs it)');
    if (r.exitCode !== 0) throw new Error(`bpftool btf dump ${file} failed: ${r.stderr.trim().split('\n')[0] ?? ''}`);
    return r.stdout;
  };
  try {
    const types = parseBtfRaw(await dump(vmlinux), new Map(), NEEDED_STRUCTS);
    if (findStruct(types, 'tun_file')) return tunOffsetsFrom(types, vmlinux);
    if (!existsSync(module)) return 'struct tun_file is in no BTF: tun is neither built in nor loaded (modprobe tun), or the kernel lacks BTF for modules';
    // A module's BTF is split: its type ids continue the base's.
    parseBtfRaw(await dump(module, vmlinux), types, NEEDED_STRUCTS);
    return tunOffsetsFrom(types, module);
  } catch (e) {
    return (e as Error).message;
  }
}
