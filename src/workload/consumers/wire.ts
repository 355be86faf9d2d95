// The wire consumer (sink/tunbench-wire): the lab tap's reader forwards every frame into a
// peer tap in a peer namespace, and the peer's frames back, so a real receiver (an iperf3
// server) can sit behind the tap under test. This module builds the peer side (namespace,
// tap, IPv4 addresses on both taps) and drives the C process; RunningWire mirrors the sink's
// RunningSink so a trial can use either.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { UserError } from '../../errors.ts';
import { onCleanup } from '../../process/cleanup.ts';
import { ip, macAddress } from '../../lab/ip.ts';
import { assertLabNamespace } from '../../lab/lab.ts';
import { newLabNames } from '../../lab/names.ts';
import { deleteNetns } from '../../lab/reap.ts';
import type { ConsumerReport } from '../../types.ts';
import type { SinkSnapshot } from './sink.ts';

export function wireBinaryPath(): string {
  return resolve(fileURLToPath(new URL('../../../sink/tunbench-wire', import.meta.url)));
}

/**
 * Addresses of the flow: RFC 2544's benchmarking range 198.18.0.0/15, a /30 per lab, only
 * ever configured inside namespaces the harness created (never on a host interface).
 */
export const WIRE_LAB_ADDRESS = '198.18.0.1';
export const WIRE_PEER_ADDRESS = '198.18.0.2';
export const WIRE_PREFIX = 30;

/** The far end of the wire: a namespace of its own with the peer tap. */
export interface WirePeer {
  netns: string;
  tap: string;
  /** IPv4 address given to the lab tap (the flow's client side). */
  labAddress: string;
  /** IPv4 address of the peer tap (the flow's server side). */
  peerAddress: string;
  prefixLen: number;
  destroy(): Promise<void>;
}

export interface CreatePeerOptions {
  /** Lab namespace and tap (from createLab). */
  labNetns: string;
  labTap: string;
  /** MTU of the peer tap: the lab tap's, so neither side fragments. */
  mtu: number;
  /** tx_queue_len of the peer tap (its queue carries the receiver's ACKs back). */
  txQueueLen?: number;
}

/**
 * Create the peer namespace and tap, and give both taps their IPv4 address. The lab tap keeps
 * IPv6 off (createLab); the peer namespace gets IPv6 off too, so no autoconfiguration chatter
 * crosses the wire. Each side has a permanent neighbour entry for the other, so no ARP does.
 */
export async function createWirePeer(o: CreatePeerOptions): Promise<WirePeer> {
  assertLabNamespace(o.labNetns);
  const { netns, tap } = newLabNames();
  let destroyed = false;
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    forget();
    await deleteNetns(netns);
    // The lab tap's address goes with the lab; removing it here keeps a reused lab as it was.
    await ip(['addr', 'del', `${WIRE_LAB_ADDRESS}/${WIRE_PREFIX}`, 'dev', o.labTap], { netns: o.labNetns, reject: false });
  };
  const forget = onCleanup(`wire peer ${netns}`, destroy);
  try {
    await ip(['netns', 'add', netns]);
    await ip(['link', 'set', 'lo', 'up'], { netns });
    await execa('ip', ['netns', 'exec', netns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'], { reject: false });
    await ip(['tuntap', 'add', 'dev', tap, 'mode', 'tap'], { netns });
    await ip(['link', 'set', 'dev', tap, 'txqueuelen', String(o.txQueueLen ?? 1000), 'mtu', String(o.mtu), 'addrgenmode', 'none', 'up'], { netns });
    await ip(['addr', 'add', `${WIRE_PEER_ADDRESS}/${WIRE_PREFIX}`, 'dev', tap], { netns });
    await ip(['addr', 'replace', `${WIRE_LAB_ADDRESS}/${WIRE_PREFIX}`, 'dev', o.labTap], { netns: o.labNetns });
    // Permanent neighbour entries both ways: no ARP crosses the wire. A request or a reply
    // written into a lab tap whose ring a background flood keeps full is dropped like any frame,
    // and three lost requests fail the flow's connect ("No route to host"; one trial in two of
    // 8 TCP streams beside a 100 kpps flood, 2026-12-06).
    await ip(['neigh', 'replace', WIRE_PEER_ADDRESS, 'lladdr', await macAddress(tap, netns), 'dev', o.labTap, 'nud', 'permanent'], { netns: o.labNetns });
    await ip(['neigh', 'replace', WIRE_LAB_ADDRESS, 'lladdr', await macAddress(o.labTap, o.labNetns), 'dev', tap, 'nud', 'permanent'], { netns });
    return { netns, tap, labAddress: WIRE_LAB_ADDRESS, peerAddress: WIRE_PEER_ADDRESS, prefixLen: WIRE_PREFIX, destroy };
  } catch (e) {
    await destroy();
    throw e instanceof UserError ? e : new UserError(`could not build the wire's peer: ${(e as Error).message}`, { hint: 'run as root on a kernel with network namespaces and /dev/net/tun' });
  }
}

/** Frames moved in one direction. */
export interface WireDirection {
  /** Frames read from the source tap. */
  packets: number;
  bytes: number;
  /** Frames written into the destination tap. */
  written: number;
  /** Frames whose write failed (dropped by the wire). */
  writeErrors: number;
}

/** A sink-compatible snapshot (packets/bytes: frames read from the lab tap), plus both directions. */
export interface WireSnapshot extends SinkSnapshot {
  toPeer: WireDirection;
  toLab: WireDirection;
}

/** The sink's ConsumerReport with tool 'wire' and both directions (types.ts's union needs 'wire'). */
export type WireReport = Omit<ConsumerReport, 'tool'> & { tool: 'wire'; toPeer: WireDirection; toLab: WireDirection };

/** RunningSink's shape, with the wire's richer snapshot and report. */
export interface RunningWire {
  pid: number;
  snapshot(): Promise<WireSnapshot>;
  stop(): Promise<WireReport>;
  exited: Promise<void>;
}

export interface StartWireOptions {
  /** Lab namespace and its tap: the queue under test. */
  netns: string;
  dev: string;
  peer: Pick<WirePeer, 'netns' | 'tap'>;
  /** CPU to pin the wire to, or null for no pinning. */
  cpu: number | null;
  /** Frames per direction per wake-up (default 64). */
  batch?: number;
  binary?: string;
}

interface WireLine {
  event: 'ready' | 'snapshot' | 'stats' | 'final';
  pid?: number;
  t_ns?: number;
  seconds?: number;
  packets?: number;
  bytes?: number;
  toPeer?: WireDirection;
  toLab?: WireDirection;
}

export function wireArgs(o: StartWireOptions): string[] {
  return ['--lab-dev', o.dev, '--peer-netns', o.peer.netns, '--peer-dev', o.peer.tap, '--batch', String(o.batch ?? 64), '--cpu', String(o.cpu ?? -1)];
}

const NO_DIRECTION: WireDirection = { packets: 0, bytes: 0, written: 0, writeErrors: 0 };

function toSnapshot(l: WireLine): WireSnapshot {
  const packets = l.packets ?? 0;
  return { tNs: l.t_ns ?? 0, packets, bytes: l.bytes ?? 0, perQueue: [packets], toPeer: l.toPeer ?? NO_DIRECTION, toLab: l.toLab ?? NO_DIRECTION };
}

export async function startWire(o: StartWireOptions): Promise<RunningWire> {
  assertLabNamespace(o.netns);
  assertLabNamespace(o.peer.netns);
  const binary = o.binary ?? wireBinaryPath();
  if (!existsSync(binary)) throw new UserError(`the wire consumer is not built (${binary} missing)`, { hint: 'run the set-up step: bash scripts/setup.sh (or make -C sink)' });
  const command = ['ip', 'netns', 'exec', o.netns, binary, ...wireArgs(o)];
  const proc = execa(command[0]!, command.slice(1), { reject: false, stdin: 'ignore', stderr: 'pipe', buffer: false });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const waiting: Array<(l: WireLine) => void> = [];
  let final: WireLine | null = null;
  createInterface({ input: proc.stdout! }).on('line', (text) => {
    let l: WireLine;
    try {
      l = JSON.parse(text) as WireLine;
    } catch {
      return;
    }
    if (l.event === 'stats') return; // periodic lines are not answers to a request
    if (l.event === 'final') final = l;
    waiting.shift()?.(l);
  });
  const exited = proc.then(() => undefined);
  const nextLine = (what: string, timeoutMs: number) =>
    new Promise<WireLine>((resolveLine, reject) => {
      const timer = setTimeout(() => reject(new UserError(`the wire did not answer (${what}) within ${timeoutMs} ms${stderr ? `: ${stderr.trim()}` : ''}`)), timeoutMs);
      waiting.push((l) => {
        clearTimeout(timer);
        resolveLine(l);
      });
      void exited.then(() => {
        clearTimeout(timer);
        if (final && what === 'final') resolveLine(final);
        else reject(new UserError(`the wire exited (${what})${stderr ? `: ${stderr.trim()}` : ''}`, { hint: 'both taps must exist: the lab tap in the lab namespace, the peer tap in /run/netns/<peer>' }));
      });
    });

  const ready = await nextLine('ready', 5000);
  if (ready.event !== 'ready') throw new UserError(`unexpected first line from the wire: ${JSON.stringify(ready)}`);
  let stopping: Promise<WireReport> | null = null;
  return {
    pid: proc.pid!,
    exited,
    async snapshot() {
      const p = nextLine('snapshot', 2000);
      proc.kill('SIGUSR1');
      return toSnapshot(await p);
    },
    stop() {
      stopping ??= (async () => {
        const p = nextLine('final', 3000);
        proc.kill('SIGTERM');
        const l = await p.catch((e: unknown) => {
          proc.kill('SIGKILL');
          throw e;
        });
        await exited;
        const s = toSnapshot(l);
        return { tool: 'wire', packets: s.packets, bytes: s.bytes, perQueue: s.perQueue, seconds: l.seconds ?? 0, command, toPeer: s.toPeer, toLab: s.toLab } satisfies WireReport;
      })();
      return stopping;
    },
  };
}
