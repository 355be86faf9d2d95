// The tap's qdisc: set it inside a lab namespace, read it back with its counters, and sample
// those counters during a window.
//
// Kinds (issue 13): `default` leaves the qdisc the kernel attached when the tap came up
// (pfifo_fast for a single-queue tap, mq with pfifo_fast children for a multi-queue tap, or
// whatever net.core.default_qdisc names); the others are set with
// `tc qdisc replace dev DEV root KIND`. `noqueue` is accepted as a root qdisc on a tap by any
// kernel since Linux 4.3 (noqueue became a registered qdisc then; verified here on 6.18):
// dev_queue_xmit then calls tun_net_xmit directly, nothing is queued before the ring and the
// qdisc's counters stay zero. fq_codel and fq need sch_fq_codel / sch_fq: a kernel without
// them (the development machine's 6.18 has neither) answers "Specified qdisc kind is unknown",
// which becomes a UserError that names the kernel option.
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { UserError } from '../errors.ts';
import { onCleanup } from '../process/cleanup.ts';
import { ip } from './ip.ts';
import { newLabNames } from './names.ts';
import { deleteNetns } from './reap.ts';

import { QDISC_KINDS, type QdiscKind } from '../profile/schema.ts';

export { QDISC_KINDS, type QdiscKind };

/** Kernel option and module behind each settable kind (for the fix in an error message). */
const KERNEL_OPTION: Record<Exclude<QdiscKind, 'default'>, { config: string; module: string | null }> = {
  noqueue: { config: 'built in (Linux >= 4.3)', module: null },
  pfifo_fast: { config: 'built in', module: null },
  fq_codel: { config: 'CONFIG_NET_SCH_FQ_CODEL', module: 'sch_fq_codel' },
  fq: { config: 'CONFIG_NET_SCH_FQ', module: 'sch_fq' },
};

/** The counts a qdisc keeps (tc -s), one definition for a reading (QdiscStats), a delta
 * (QdiscDelta) and a saved record (QdiscCounters, src/types.ts). */
export type QdiscCountField = 'kind' | 'sentPackets' | 'sentBytes' | 'drops' | 'overlimits' | 'requeues' | 'backlogPackets' | 'backlogBytes';

/** One qdisc as `tc -j -s qdisc show` reports it. */
export interface QdiscStats {
  kind: string;
  handle: string;
  /** Parent handle, null for the root qdisc. */
  parent: string | null;
  root: boolean;
  /** Packets / bytes dequeued towards the driver (tun_net_xmit), tun's own drops included. */
  sentPackets: number;
  sentBytes: number;
  /** Packets the qdisc dropped itself (queue limit, AQM). */
  drops: number;
  overlimits: number;
  requeues: number;
  /** Packets / bytes queued in the qdisc at the moment of reading. */
  backlogPackets: number;
  backlogBytes: number;
  /** fq_codel's drop_overlimit (its xstats): drops at enqueue, at its limit; its other drops are
   * CoDel's at dequeue. null for qdiscs that do not report it. */
  dropsOverlimit: number | null;
}

/** The qdisc tree of a device: its root (counters of mq include its children) and all entries. */
export interface QdiscState {
  dev: string;
  root: QdiscStats;
  all: QdiscStats[];
}

interface TcQdiscJson {
  kind?: string;
  handle?: string;
  parent?: string;
  root?: boolean;
  bytes?: number;
  packets?: number;
  drops?: number;
  overlimits?: number;
  requeues?: number;
  backlog?: number;
  qlen?: number;
  drop_overlimit?: number;
}

function isValidKind(k: string): k is QdiscKind {
  return (QDISC_KINDS as readonly string[]).includes(k);
}

/** Parse one `tc -j -s qdisc show dev DEV` answer (a JSON array). */
export function parseTcQdiscJson(dev: string, text: string): QdiscState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`tc qdisc show dev ${dev}: not JSON: ${text.slice(0, 200)}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw new Error(`tc qdisc show dev ${dev}: no qdisc in ${text.slice(0, 200)}`);
  const all = (parsed as TcQdiscJson[]).map((q): QdiscStats => ({
    kind: q.kind ?? 'unknown',
    handle: q.handle ?? '',
    parent: q.root ? null : (q.parent ?? null),
    root: q.root === true,
    sentPackets: q.packets ?? 0,
    sentBytes: q.bytes ?? 0,
    drops: q.drops ?? 0,
    overlimits: q.overlimits ?? 0,
    requeues: q.requeues ?? 0,
    // tc's JSON: "backlog" is bytes, "qlen" is packets.
    backlogPackets: q.qlen ?? 0,
    backlogBytes: q.backlog ?? 0,
    dropsOverlimit: typeof q.drop_overlimit === 'number' ? q.drop_overlimit : null,
  }));
  const root = all.find((q) => q.root) ?? all[0]!;
  return { dev, root, all };
}

async function tc(netns: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa('ip', ['netns', 'exec', netns, 'tc', ...args], { reject: false, timeout: 15_000 });
  if ((r as { code?: string }).code === 'ENOENT') throw new UserError('ip (iproute2) is missing', { hint: 'apt-get install iproute2' });
  if (/exec of "tc" failed|tc: No such file/.test(r.stderr)) throw new UserError('tc (iproute2) is missing', { hint: 'apt-get install iproute2' });
  return { exitCode: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** Read the qdisc tree and counters of DEV inside NETNS. */
export async function readQdisc(netns: string, dev: string): Promise<QdiscState> {
  const r = await tc(netns, ['-j', '-s', 'qdisc', 'show', 'dev', dev]);
  if (r.exitCode !== 0) throw new UserError(`tc qdisc show dev ${dev} in ${netns} failed: ${r.stderr.trim()}`);
  return parseTcQdiscJson(dev, r.stdout);
}

function unsupported(kind: QdiscKind, dev: string, stderr: string): UserError {
  const k = kind === 'default' ? null : KERNEL_OPTION[kind];
  const mod = k?.module ? `modprobe ${k.module}, or ` : '';
  return new UserError(`this kernel cannot attach qdisc '${kind}' to ${dev}: ${stderr.trim().split('\n')[0]}${k ? ` (needs ${k.config})` : ''}`, {
    hint: `${mod}run on a kernel with ${k?.config ?? 'it'} (e.g. target: vm with vm.kernel: debian), or choose another tap.qdisc (noqueue and pfifo_fast are always there)`,
  });
}

/**
 * Set the root qdisc of DEV inside NETNS and read it back. `default` changes nothing.
 * Throws a UserError when the kernel lacks the kind, or when the read-back shows another kind.
 */
export async function setQdisc(netns: string, dev: string, kind: QdiscKind): Promise<QdiscState> {
  if (!isValidKind(kind)) throw new UserError(`unknown qdisc '${String(kind)}'`, { hint: `choose one of ${QDISC_KINDS.join(', ')}` });
  if (kind !== 'default') {
    const r = await tc(netns, ['qdisc', 'replace', 'dev', dev, 'root', kind]);
    if (r.exitCode !== 0) {
      if (/unknown|not supported|No such file/i.test(r.stderr)) throw unsupported(kind, dev, r.stderr);
      throw new UserError(`tc qdisc replace dev ${dev} root ${kind} in ${netns} failed: ${r.stderr.trim()}`, { hint: 'run as root; the device must exist in the lab namespace' });
    }
  }
  const state = await readQdisc(netns, dev);
  if (kind !== 'default' && state.root.kind !== kind) {
    throw new UserError(`qdisc ${kind} was set on ${dev} but tc reads back '${state.root.kind}'`, { hint: 'report this kernel: tc accepted the qdisc and did not attach it' });
  }
  return state;
}

/**
 * Which settable kinds this kernel accepts, found by really attaching each to the loopback of
 * a throw-away namespace (the check before any traffic: no lab yet, no host device touched).
 */
export async function supportedQdiscs(kinds: readonly QdiscKind[] = QDISC_KINDS): Promise<Map<QdiscKind, string | null>> {
  const { netns } = newLabNames();
  const forget = onCleanup(`qdisc probe ${netns}`, () => deleteNetns(netns));
  const out = new Map<QdiscKind, string | null>();
  try {
    await ip(['netns', 'add', netns]);
    for (const kind of kinds) {
      if (kind === 'default') {
        out.set(kind, null);
        continue;
      }
      await modprobeQdisc(kind);
      const r = await tc(netns, ['qdisc', 'replace', 'dev', 'lo', 'root', kind]);
      out.set(kind, r.exitCode === 0 ? null : r.stderr.trim().split('\n')[0] ?? `exit ${r.exitCode}`);
    }
  } finally {
    forget();
    await deleteNetns(netns);
  }
  return out;
}

/** Why this kernel cannot attach KIND, with the fix (the requirement check's message); null when it can. */
export function qdiscProblem(kind: QdiscKind, why: string | null): string | null {
  if (why === null || kind === 'default') return null;
  const e = unsupported(kind, 'a tap', why);
  return `${e.message}; ${e.hint}`;
}

/** The requirement check: a UserError with the fix when the kernel lacks the kind. */
export async function requireQdisc(kind: QdiscKind): Promise<void> {
  if (kind === 'default') return;
  const why = (await supportedQdiscs([kind])).get(kind);
  if (why) throw unsupported(kind, 'a tap', why);
}

export interface QdiscSample {
  /** ms since the sampler started (its own monotonic clock). */
  tMs: number;
  root: QdiscStats;
}

export interface QdiscSeries {
  samples: QdiscSample[];
  /** Mean backlog (packets) over the samples, null without samples. */
  backlogMeanPackets: number | null;
  backlogMaxPackets: number | null;
}

export function summariseSamples(samples: QdiscSample[]): QdiscSeries {
  if (samples.length === 0) return { samples, backlogMeanPackets: null, backlogMaxPackets: null };
  const backlog = samples.map((s) => s.root.backlogPackets);
  return { samples, backlogMeanPackets: backlog.reduce((s, x) => s + x, 0) / backlog.length, backlogMaxPackets: Math.max(...backlog) };
}

export interface QdiscSampler {
  /** Stop polling and return the samples taken. Idempotent. */
  stop(): Promise<QdiscSeries>;
}

/**
 * Poll the qdisc counters of DEV every `intervalMs` during a window. One long-lived
 * `tc -j -s -batch -` process answers each "qdisc show" line with one JSON line, so a sample
 * costs a netlink dump, not a fork (about 0.1-0.3 ms; intervals below 10 ms are refused).
 */
export async function startQdiscSampler(netns: string, dev: string, intervalMs = 100): Promise<QdiscSampler> {
  if (!(intervalMs >= 10)) throw new UserError(`qdisc sample interval ${intervalMs} ms is too short`, { hint: 'use 10 ms or more' });
  // stdbuf -oL: tc's stdout is a pipe; without line buffering the answers would arrive in 4 KiB lumps.
  const proc: ResultPromise = execa('ip', ['netns', 'exec', netns, 'stdbuf', '-oL', 'tc', '-j', '-s', '-batch', '-'], { reject: false, buffer: false, stdin: 'pipe', stderr: 'pipe' });
  const t0 = performance.now();
  const samples: QdiscSample[] = [];
  const pendingAt: number[] = [];
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const at = pendingAt.shift() ?? performance.now() - t0;
    try {
      samples.push({ tMs: at, root: parseTcQdiscJson(dev, line).root });
    } catch {
      /* not a qdisc answer (an error line): skipped, reported at stop if nothing came */
    }
  });
  const ask = () => {
    pendingAt.push(performance.now() - t0);
    proc.stdin?.write(`qdisc show dev ${dev}\n`);
  };
  ask();
  const timer = setInterval(ask, intervalMs);
  let stopped: Promise<QdiscSeries> | null = null;
  return {
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        proc.stdin?.end();
        const killer = setTimeout(() => proc.kill('SIGKILL'), 2000);
        await proc;
        clearTimeout(killer);
        if (samples.length === 0) throw new UserError(`the qdisc sampler of ${dev} in ${netns} read nothing${stderr ? `: ${stderr.trim()}` : ''}`);
        return summariseSamples(samples);
      })();
      return stopped;
    },
  };
}

/** Load the module behind KIND where the kernel has it as one (Debian's kernels: sch_fq_codel,
 * sch_fq); a kernel without it, or with it built in, is left as it is (setQdisc then says why). */
export async function modprobeQdisc(kind: QdiscKind): Promise<void> {
  const mod = kind === 'default' ? null : KERNEL_OPTION[kind].module;
  if (mod) await execa('modprobe', ['-q', mod], { reject: false, timeout: 15_000 });
}
