// Render the probe script of one trial: probes/sampler.bt (every probe level), followed by
// probes/per-packet.bt at the 'full' level with the backend's xmit-side attach point. Every
// value is validated (numbers, addresses) before it is substituted, so nothing from a
// profile or the machine can inject bpftrace code.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.ts';
import type { ProbeBackend } from '../types.ts';
import type { TunOffsets } from './btf-offsets.ts';
import type { TextRange } from './kallsyms.ts';

export const PROBES_DIR = fileURLToPath(new URL('../../probes/', import.meta.url));

export interface RenderParams {
  /** The reader process (its threads wait on the read side's locks; its copies are reads). */
  readerPid: number;
  sampleMs: number;
  /** Queue capacity in packets (tx_queue_len x queues): the occupancy histogram's range. */
  capacity: number;
  queues: number;
  level: 'counters' | 'full';
  /** The per-packet part's xmit attach point ('full' only). */
  backend: ProbeBackend | null;
  /** The queue-lock contention tracepoints (probes.locks). */
  locks: boolean;
  offsets: TunOffsets;
  /** tun_net_xmit's text ranges (kallsyms): drops are recognised by location ('full' only). */
  xmitRanges: TextRange[];
}

const HEX_RE = /^0x[0-9a-f]{1,16}$/;

/**
 * Occupancy of the queue whose tun_file is in `tf`, into `n`, and whether it is full into
 * `full` (bpftrace lines). Full is the ring's own test (__ptr_ring_full: the producer's slot
 * still holds a pointer): consumed slots are cleared in batches, so a ring refuses packets a
 * little before (producer - consumer_head) reaches its size.
 */
export function occupancyLines(tf: string, n: string, full: string, o: TunOffsets, indent: string): string[] {
  const r = `${tf}r`;
  const p = `${tf}p`;
  const lines = [
    `${r} = ${tf} + ${o.tfile.txRing};`,
    `${p} = *(int32 *)(${r} + ${o.ring.producer});`,
    `${n} = ${p} - *(int32 *)(${r} + ${o.ring.consumerHead});`,
    `if (${n} < 0) { ${n} = ${n} + *(int32 *)(${r} + ${o.ring.size}); }`,
    `${full} = *(uint64 *)(*(uint64 *)(${r} + ${o.ring.queue}) + (uint64)${p} * 8) != 0 ? 1 : 0;`,
    // producer == consumer_head: empty, or full when the producer's slot holds an skb.
    `if (${n} == 0 && ${full} != 0) { ${n} = *(int32 *)(${r} + ${o.ring.size}); }`,
  ];
  if (o.tfile.skq !== null) {
    // skq mode: the socket queue, full at tx_queue_len (tun's check before it queues).
    lines.push(`if (*(uint8 *)(${tf} + ${o.tfile.skq}) != 0) { ${n} = *(uint32 *)(${tf} + ${o.tfile.rxQueueQlen}); ${full} = ${n} >= *(int32 *)(${r} + ${o.ring.size}) ? 1 : 0; }`);
  }
  return lines.map((l) => indent + l);
}

/** The interval probe's per-queue reads into $nQ and $fQ, -1 for a queue not found yet (bpftrace 0.17 has no loops over maps). */
export function occupancyBlocks(queues: number, o: TunOffsets): string {
  if (!Number.isInteger(queues) || queues < 1 || queues > 256) throw new UserError(`invalid queue count for a probe: ${String(queues)}`);
  const out: string[] = [];
  for (let q = 0; q < queues; q++) {
    const txq = o.txq ? [`\t$s${q} = -1;`, `\t$h${q} = -1;`] : [];
    out.push(`\t$n${q} = -1;`, `\t$f${q} = -1;`, ...txq, `\t$tf${q} = @tf[${q}];`, `\tif ($tf${q} != 0) {`, ...occupancyLines(`$tf${q}`, `$n${q}`, `$f${q}`, o, '\t\t'), ...txqLines(q, o, '\t\t'), '\t}');
  }
  return out.join('\n');
}

/**
 * Queue q's tx queue state into $sQ (1: stopped by the driver, __QUEUE_STATE_DRV_XOFF, bit 0 of
 * netdev_queue.state) and the packets its qdisc requeued and holds into $hQ (Qdisc.gso_skb.qlen:
 * counted in the qdisc's sent and in its backlog until they leave), reached from the tap's
 * net_device (@dev, from the handshake): _tx + q * sizeof(struct netdev_queue). A few loads per
 * queue per tick; nothing without the offsets.
 */
export function txqLines(q: number, o: TunOffsets, indent: string): string[] {
  const t = o.txq;
  if (!t) return [];
  return [
    `$txq${q} = *(uint64 *)(@dev + ${t.devTx}) + ${q * t.queueSize};`,
    `$s${q} = (*(uint64 *)($txq${q} + ${t.state}) & 1) != 0 ? 1 : 0;`,
    `$qd${q} = *(uint64 *)($txq${q} + ${t.qdisc});`,
    `if ($qd${q} != 0) { $h${q} = *(uint32 *)($qd${q} + ${t.qdiscGsoQlen}); }`,
  ].map((l) => indent + l);
}

/** Most printf arguments a tick record may carry: bpftrace builds them on the 512-byte BPF stack. */
const MAX_RECORD_ARGS = 36;

/**
 * How the interval probe stores its ticks and prints them: each tick's values (time, the full
 * level's drops so far, per queue packets and full flag, and with the tx queue offsets its
 * stopped flag and held packets) go to slot $slot of @bt/@bd/@bn/@bf/@bs/@bh;
 * a record "ticks <count> <slots> <per queue> ..." carries `slots` ticks, of which the first
 * `count` are valid (all of them, but at END). Batching saves bpftrace's user space one wake-up a tick;
 * the full level prints every tick (its maps follow each tick record).
 */
export function tickBatch(queues: number, full: boolean, txq: boolean): { slots: number; store: string; print: (count: string) => string } {
  const q = [...Array(queues).keys()];
  // Per queue: packets, full flag, and with the tx queue offsets its stopped flag and held packets.
  const perQueue = txq ? 4 : 2;
  const queueMaps = txq ? ['bn', 'bf', 'bs', 'bh'] : ['bn', 'bf'];
  const queueVars = txq ? ['n', 'f', 's', 'h'] : ['n', 'f'];
  const perTick = 1 + (full ? 1 : 0) + perQueue * queues;
  const slots = full ? 1 : Math.max(1, Math.min(10, Math.floor(MAX_RECORD_ARGS / perTick)));
  const store = ['\t@bt[$slot] = nsecs;', ...(full ? ['\t@bd[$slot] = @dropn;'] : []), ...q.flatMap((i) => queueMaps.map((m, k) => `\t@${m}[$slot, ${i}] = $${queueVars[k]}${i};`))].join('\n');
  const fmt: string[] = [];
  const args: string[] = [];
  for (let s = 0; s < slots; s++) {
    fmt.push(['%llu', ...(full ? ['%llu'] : []), ...q.flatMap(() => queueMaps.map(() => '%d'))].join(' '));
    args.push(`@bt[${s}]`, ...(full ? [`@bd[${s}]`] : []), ...q.flatMap((i) => queueMaps.map((m) => `@${m}[${s}, ${i}]`)));
  }
  const print = (count: string) => `printf("ticks %d ${slots} ${perQueue} ${fmt.join(' ')}\\n", ${count}, ${args.join(', ')});`;
  return { slots, store, print };
}

/** Where the handshake helper puts its copies of the reader's queue fds (sink/tfile-handshake.c). */
export const HANDSHAKE_FD_BASE = 200;
export const HANDSHAKE_MAX_QUEUES = 64;

/**
 * The task_rename program's body: the renaming task's fd table, then for each queue slot the
 * file at fd HANDSHAKE_FD_BASE + i of that task (the handshake helper) -> its tun_file, the
 * queue's locks, the tap's net_device; prints "handshake QUEUE TUN_FILE". With `fd` (BTF
 * offsets) every load is a raw one, so bpftrace needs no kernel type; without, typed.
 */
export function handshakeBlocks(queues: number, skq: boolean, fd: TunOffsets['fdTable'] = null): string {
  if (!Number.isInteger(queues) || queues < 1 || queues > HANDSHAKE_MAX_QUEUES) throw new UserError(`invalid queue count for the probes' handshake: ${String(queues)} (1..${HANDSHAKE_MAX_QUEUES})`);
  const out: string[] = fd
    ? [`	$fdt = *(uint64 *)(*(uint64 *)((uint64)curtask + ${fd.taskFiles}) + ${fd.filesFdt});`]
    : ['	$fdt = curtask->files->fdt;'];
  for (let i = 0; i < queues; i++) {
    const fdn = HANDSHAKE_FD_BASE + i;
    const tf = `$tf${i}`;
    const q = `$q${i}`;
    out.push(
      fd ? `	if (*(uint32 *)($fdt + ${fd.fdtMaxFds}) > ${fdn}) {` : `	if ($fdt->max_fds > ${fdn}) {`,
      fd ? `		$f${i} = *(uint64 *)(*(uint64 *)($fdt + ${fd.fdtFd}) + ${fdn * 8});` : `		$f${i} = *($fdt->fd + ${fdn});`,
      `		if ($f${i} != 0) {`,
      fd ? `			${tf} = *(uint64 *)($f${i} + ${fd.filePrivateData});` : `			${tf} = (uint64)$f${i}->private_data;`,
      `			${q} = (uint64)*(uint16 *)(${tf} + {{TF_QUEUE_INDEX}});`,
      `			@tf[${q}] = ${tf};`,
      `			@lockside[${tf} + {{TF_TX_RING}} + {{RING_PRODUCER_LOCK}}] = 1;`,
      `			@lockside[${tf} + {{TF_TX_RING}} + {{RING_CONSUMER_LOCK}}] = 2;`,
      `			@dev = *(uint64 *)(*(uint64 *)(${tf} + {{TF_TUN}}) + {{TUN_DEV}});`,
      ...(skq
        ? [`			if (*(uint8 *)(${tf} + {{TF_SKQ}}) != 0) {`, `				@lockside[${tf} + {{TF_RXQ_LOCK}}] = 3;`, '				@qmode[1] = count();', '			} else {', '				@qmode[0] = count();', '			}']
        : ['			@qmode[0] = count();']),
      `			printf("handshake %llu %llu\\n", ${q}, ${tf});`,
      '		}',
      '	}',
    );
  }
  return out.join('\n');
}

/** Occupancy histogram buckets: about 64 linear buckets over 0..capacity (one past it catches "full"). */
export function occupancyBuckets(capacity: number): { max: number; step: number } {
  const step = Math.max(1, Math.ceil(capacity / 64));
  return { max: capacity + step, step };
}

/** The kfree_skb predicate: the drop's location lies in tun_net_xmit (number compares only). */
export function locationFilter(ranges: TextRange[]): string {
  if (ranges.length === 0) throw new UserError('tun_net_xmit was not found in /proc/kallsyms', { hint: 'modprobe tun; run as root' });
  return ranges
    .map((r) => {
      if (!HEX_RE.test(r.start) || !HEX_RE.test(r.end)) throw new Error(`bad text range ${JSON.stringify(r)}`);
      return `((uint64)args->location >= (uint64)${r.start} && (uint64)args->location < (uint64)${r.end})`;
    })
    .join(' || ');
}

/**
 * The xmit-side attach point of the per-packet part, per backend: its probe, the skb's device
 * and the skb, and the skb's queue_mapping. With `skb` (BTF offsets) through raw loads (bpftrace
 * builds no kernel type: see handshakeBlocks), else through typed casts.
 */
export function xmitAttach(backend: ProbeBackend, skb: TunOffsets['skb'] = null): { probe: string; dev: string; skb: string; queue: string } {
  // In parentheses: the dev test follows a predicate's '/', and '/*' would open a comment.
  const raw = (ptr: string) => ({ dev: `(*(uint64 *)(${ptr} + ${skb!.dev}))`, queue: `(uint64)*(uint16 *)($skb + ${skb!.queueMapping})` });
  const typed = { queue: '(uint64)$skb->queue_mapping' };
  switch (backend) {
    case 'tracepoint':
      return skb
        ? { probe: 'tracepoint:net:net_dev_start_xmit', skb: '(uint64)args->skbaddr', ...raw('(uint64)args->skbaddr') }
        : { probe: 'tracepoint:net:net_dev_start_xmit', dev: '(uint64)((struct sk_buff *)args->skbaddr)->dev', skb: '(struct sk_buff *)args->skbaddr', ...typed };
    case 'kprobe':
      return skb ? { probe: 'kprobe:tun_net_xmit', dev: '(uint64)arg1', skb: 'arg0', queue: raw('arg0').queue } : { probe: 'kprobe:tun_net_xmit', dev: '(uint64)arg1', skb: '(struct sk_buff *)arg0', ...typed };
    case 'fentry':
      // kfunc's args are typed from BTF whatever the script does.
      return { probe: 'kfunc:tun_net_xmit', dev: '(uint64)args->dev', skb: 'args->skb', ...typed };
  }
}

/** The kfree_skb program's test that the dropped skb was the lab tap's. */
export function dropDev(skb: TunOffsets['skb']): string {
  return skb ? `(*(uint64 *)((uint64)args->skbaddr + ${skb.dev}))` : '(uint64)((struct sk_buff *)args->skbaddr)->dev';
}

function fill(template: string, values: Record<string, string>, keep: Record<string, boolean>): string {
  const lines = template.split('\n').flatMap((line) => {
    const marked = /^\/\/@(\w+) ?(.*)$/.exec(line);
    if (!marked) return [line];
    const on = keep[marked[1]!];
    if (on === undefined) throw new Error(`probe template has an unknown marker //@${marked[1]}`);
    return on ? [marked[2]!] : [];
  });
  return lines.join('\n').replace(/\{\{([A-Z_]+)\}\}/g, (_, k: string) => {
    const v = values[k];
    if (v === undefined) throw new Error(`probe template has an unknown placeholder {{${k}}}`);
    return v;
  });
}

export function renderScript(p: RenderParams, templates = { sampler: loadTemplate('sampler'), perPacket: loadTemplate('per-packet') }): string {
  for (const [k, v] of Object.entries({ readerPid: p.readerPid, sampleMs: p.sampleMs, capacity: p.capacity })) {
    if (!Number.isInteger(v) || v <= 0) throw new UserError(`invalid ${k} for a probe: ${String(v)}`);
  }
  const o = p.offsets;
  for (const v of [o.tfile.tun, o.tfile.queueIndex, o.tfile.txRing, o.tfile.rxQueueQlen, o.tfile.rxQueueLock, o.tunStruct.dev, ...Object.values(o.ring), o.tfile.skq ?? 0, ...Object.values(o.txq ?? {}), ...Object.values(o.fdTable ?? {}), ...Object.values(o.skb ?? {})]) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`bad BTF offset ${String(v)}`);
  }
  const full = p.level === 'full';
  if (full && !p.backend) throw new Error('the full probe level needs a backend');
  const occ = occupancyBuckets(p.capacity);
  const skq = o.tfile.skq !== null;
  const batch = tickBatch(p.queues, full, o.txq != null);
  const values: Record<string, string> = {
    READER_PID: String(p.readerPid),
    SAMPLE_MS: String(p.sampleMs),
    HANDSHAKE_FD_BASE: String(HANDSHAKE_FD_BASE),
    TF_QUEUE_INDEX: String(o.tfile.queueIndex),
    TF_TX_RING: String(o.tfile.txRing),
    TF_TUN: String(o.tfile.tun),
    TF_SKQ: String(o.tfile.skq ?? 0),
    TF_RXQ_LOCK: String(o.tfile.rxQueueLock),
    TUN_DEV: String(o.tunStruct.dev),
    RING_PRODUCER_LOCK: String(o.ring.producerLock),
    RING_CONSUMER_LOCK: String(o.ring.consumerLock),
    XMIT_LOCATION: full ? locationFilter(p.xmitRanges) : '',
    DROP_DEV: dropDev(o.skb ?? null),
    OCCUPANCY: occupancyBlocks(p.queues, o),
    BATCH: String(batch.slots),
    BATCH_STORE: batch.store,
    BATCH_PRINT_FULL: batch.print(String(batch.slots)),
    BATCH_PRINT_REST: batch.print(`@tick % ${batch.slots}`),
    OCC_MAX: String(occ.max),
    OCC_STEP: String(occ.step),
  };
  const keep = { full, counters: !full, skq, noskq: !skq, txq: o.txq != null, locks: p.locks, hists: p.locks || full };
  // The handshake blocks carry placeholders of their own: filled in the same pass.
  let script = fill(templates.sampler.replace('{{HANDSHAKE}}', handshakeBlocks(p.queues, skq, o.fdTable ?? null)), values, keep);
  if (full) {
    const x = xmitAttach(p.backend!, o.skb ?? null);
    script += '\n' + fill(templates.perPacket, { ...values, XMIT_PROBE: x.probe, XMIT_DEV: x.dev, XMIT_SKB: x.skb, XMIT_QUEUE: x.queue, OCCUPANCY_AT_ENQUEUE: occupancyLines('$tfq', '$nq', '$fq', o, '\t\t').join('\n') }, keep);
  }
  return script;
}

export function templatePath(name: 'sampler' | 'per-packet'): string {
  return `${PROBES_DIR}${name}.bt`;
}

export function loadTemplate(name: 'sampler' | 'per-packet'): string {
  try {
    return readFileSync(templatePath(name), 'utf8');
  } catch {
    throw new UserError(`the probe script ${templatePath(name)} is missing`, { hint: 'restore it from the repository (git checkout probes/)' });
  }
}
