// iperf3 flows (Debian's iperf3 3.12, --json): the server runs in the wire's peer namespace,
// the client in the lab namespace, so the flow's data crosses the lab tap's queue (client ->
// lab tap -> wire -> peer tap -> server) and its ACKs come back through the peer tap.
// The client's JSON end record carries both sides (the server sends its counts back at the
// end of a test), so one parse gives goodput at the receiver, TCP retransmits and UDP loss.
import { execa } from 'execa';
import { UserError } from '../../errors.ts';
import { assertLabNamespace } from '../../lab/lab.ts';
import { startPeerServer, type RunningPeerServer } from '../../process/peer-server.ts';

export interface Iperf3Options {
  protocol: 'tcp' | 'udp';
  /** Parallel streams (-P). */
  streams: number;
  /** Target bits/s per stream (-b); 0 = unlimited. UDP defaults to 1 Mbit/s in iperf3 itself, so set it. */
  bitrate?: number;
  /** Bytes per write (-l): the TCP write size, or the UDP datagram payload. */
  length?: number;
  /** Seconds of measured traffic (-t). */
  duration: number;
  /** Seconds at the start left out of the end record (-O): the flow's ramp-up. */
  omit?: number;
  /** A fixed transfer: send this many bytes in all (-n) instead of for `duration` seconds
   * (then `duration` only bounds how long the client may run; no --omit). */
  bytes?: number;
}

/** One stream's (or the sum's) figures from the end record. */
export interface Iperf3StreamReport {
  /** Bytes the receiver got / bits per second at the receiver over its interval. */
  receivedBytes: number;
  goodputBps: number;
  sentBytes: number;
  senderBps: number;
  retransmits: number | null;
}

export interface Iperf3UdpReport {
  /** Datagrams the client sent. */
  sentPackets: number;
  /** Datagrams the server saw missing (sequence gaps), and their share of sentPackets. */
  lostPackets: number;
  lostRatio: number;
  jitterMs: number;
  outOfOrder: number | null;
}

export interface Iperf3Report {
  protocol: 'tcp' | 'udp';
  streams: number;
  /** Seconds the end record covers (omitted seconds excluded). */
  seconds: number;
  /** Bits per second delivered to the server (receiver side). */
  goodputBps: number;
  receivedBytes: number;
  sentBytes: number;
  senderBps: number;
  /** TCP segments retransmitted by the client (Linux tcpi_total_retrans); null for UDP. */
  retransmits: number | null;
  udp: Iperf3UdpReport | null;
  /** UDP datagrams sent; null for TCP (iperf3 does not count segments). */
  sentPackets: number | null;
  congestion: string | null;
  /** Datagram/write size iperf3 used (blksize). */
  length: number | null;
  tcpMss: number | null;
  cpuPercent: { host: number; remote: number } | null;
  perStream: Iperf3StreamReport[];
}

/* Shapes of iperf3 3.12's --json output that are read here. */
interface JSum {
  seconds?: number;
  bytes?: number;
  bits_per_second?: number;
  retransmits?: number;
  jitter_ms?: number;
  lost_packets?: number;
  packets?: number;
  lost_percent?: number;
  out_of_order?: number;
}
interface JOutput {
  error?: string;
  start?: {
    tcp_mss_default?: number;
    tcp_mss?: number;
    test_start?: { protocol?: string; num_streams?: number; blksize?: number; omit?: number; duration?: number };
  };
  end?: {
    streams?: Array<{ sender?: JSum; receiver?: JSum; udp?: JSum }>;
    sum_sent?: JSum;
    sum_received?: JSum;
    sum?: JSum;
    cpu_utilization_percent?: { host_total?: number; remote_total?: number };
    sender_tcp_congestion?: string;
  };
}

/**
 * Parse the client's `iperf3 --json` output. iperf3 reports a failed test as JSON with an
 * "error" field (and sometimes an empty end record): that becomes a UserError.
 */
export function parseIperf3Json(text: string): Iperf3Report {
  let j: JOutput;
  try {
    j = JSON.parse(text) as JOutput;
  } catch {
    throw new UserError(`iperf3 printed no JSON: ${text.trim().slice(0, 200) || 'no output'}`, { hint: 'iperf3 3.x with --json is needed (apt-get install iperf3)' });
  }
  if (j.error) throw new UserError(`iperf3: ${j.error}`, { hint: 'the server must be running in the peer namespace and reachable over the wire' });
  const end = j.end;
  const ts = j.start?.test_start;
  const protocol = ts?.protocol?.toUpperCase() === 'UDP' ? 'udp' : 'tcp';
  if (!end || (!end.sum_received && !end.sum)) throw new UserError('iperf3: the JSON has no end record (the test did not finish)');
  const num = (x: number | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x : 0);

  // TCP: sum_sent (client) and sum_received (server). UDP in 3.12: "sum" is the client's count
  // with the server's loss and jitter merged in, plus sum_sent / sum_received.
  const sent = end.sum_sent ?? end.sum ?? {};
  const received = end.sum_received ?? end.sum ?? {};
  let udp: Iperf3UdpReport | null = null;
  let receivedBytes = num(received.bytes);
  let goodputBps = num(received.bits_per_second);
  if (protocol === 'udp') {
    const s = end.sum ?? {};
    const sentPackets = num(s.packets);
    const lostPackets = num(s.lost_packets);
    udp = {
      sentPackets,
      lostPackets,
      lostRatio: sentPackets > 0 ? lostPackets / sentPackets : 0,
      jitterMs: num(s.jitter_ms),
      outOfOrder: null, // per stream only: summed below
    };
    if (!end.sum_received) {
      // Older iperf3: only "sum"; the receiver got what was sent less what was lost.
      const delivered = sentPackets > 0 ? 1 - lostPackets / sentPackets : 0;
      receivedBytes = num(s.bytes) * delivered;
      goodputBps = num(s.bits_per_second) * delivered;
    }
  }
  const perStream = (end.streams ?? []).map((st): Iperf3StreamReport => {
    if (st.udp) {
      // A UDP stream has one record: the client's count with the server's loss merged in.
      const u = st.udp;
      const delivered = num(u.packets) > 0 ? 1 - num(u.lost_packets) / num(u.packets) : 0;
      return { receivedBytes: num(u.bytes) * delivered, goodputBps: num(u.bits_per_second) * delivered, sentBytes: num(u.bytes), senderBps: num(u.bits_per_second), retransmits: null };
    }
    const snd = st.sender ?? {};
    const rcv = st.receiver ?? {};
    return {
      receivedBytes: num(rcv.bytes),
      goodputBps: num(rcv.bits_per_second),
      sentBytes: num(snd.bytes),
      senderBps: num(snd.bits_per_second),
      retransmits: typeof snd.retransmits === 'number' ? snd.retransmits : null,
    };
  });
  if (udp) {
    const ooo = (end.streams ?? []).map((st) => st.udp?.out_of_order);
    udp.outOfOrder = ooo.length > 0 && ooo.every((x) => typeof x === 'number') ? (ooo as number[]).reduce((a, b) => a + b, 0) : null;
  }
  const cpu = end.cpu_utilization_percent;
  return {
    protocol,
    streams: ts?.num_streams ?? perStream.length,
    seconds: num(received.seconds) || num(sent.seconds),
    goodputBps,
    receivedBytes,
    sentBytes: num(sent.bytes),
    senderBps: num(sent.bits_per_second),
    retransmits: protocol === 'tcp' ? (typeof sent.retransmits === 'number' ? sent.retransmits : null) : null,
    udp,
    sentPackets: udp ? udp.sentPackets : null,
    congestion: end.sender_tcp_congestion ?? null,
    length: ts?.blksize ?? null,
    tcpMss: j.start?.tcp_mss_default ?? j.start?.tcp_mss ?? null,
    cpuPercent: cpu ? { host: num(cpu.host_total), remote: num(cpu.remote_total) } : null,
    perStream,
  };
}

/** Client arguments for one test (server address and port given). */
export function iperf3ClientArgs(server: string, port: number, o: Iperf3Options): string[] {
  if (!Number.isInteger(o.streams) || o.streams < 1 || o.streams > 128) throw new UserError(`iperf3 streams ${o.streams}: expected an integer 1..128`);
  if (!(o.duration > 0)) throw new UserError(`iperf3 duration ${o.duration}: expected seconds > 0`);
  if (o.bytes !== undefined && !(Number.isInteger(o.bytes) && o.bytes >= 1)) throw new UserError(`iperf3 bytes ${o.bytes}: expected an integer >= 1`);
  const args = ['--client', server, '--port', String(port), '--json', ...(o.bytes !== undefined ? ['--bytes', String(o.bytes)] : ['--time', String(o.duration)]), '--parallel', String(o.streams)];
  if (o.protocol === 'udp') args.push('--udp');
  if (o.bitrate !== undefined) {
    if (!(o.bitrate >= 0)) throw new UserError(`iperf3 bitrate ${o.bitrate}: expected bits/s >= 0 (0 = unlimited)`);
    args.push('--bitrate', String(Math.round(o.bitrate)));
  }
  if (o.length !== undefined) {
    if (!Number.isInteger(o.length) || o.length < 1) throw new UserError(`iperf3 length ${o.length}: expected bytes >= 1`);
    args.push('--length', String(o.length));
  }
  if (o.omit && o.bytes === undefined) args.push('--omit', String(o.omit));
  return args;
}

/** iperf3's version, or a UserError with the install command when it is missing. */
export async function requireIperf3(binary = 'iperf3'): Promise<string> {
  const r = await execa(binary, ['--version'], { reject: false, timeout: 10_000 });
  const m = /iperf (\d+\.\d+)/.exec(r.stdout);
  if (r.exitCode !== 0 || !m) {
    throw new UserError(`iperf3 is missing (${binary} --version: ${(r.stderr || r.stdout || (r as { code?: string }).code || 'failed').toString().trim().split('\n')[0]})`, {
      hint: 'apt-get install iperf3 (or bash scripts/setup.sh)',
    });
  }
  if (Number(m[1]!.split('.')[0]) < 3) throw new UserError(`iperf ${m[1]} found; iperf3 (--json) is needed`, { hint: 'apt-get install iperf3' });
  return m[1]!;
}

export const IPERF3_PORT = 5201;

export type RunningIperf3Server = RunningPeerServer;

/**
 * Start `iperf3 --server` inside NETNS (the wire's peer), bound to `bind`; it serves test after
 * test until stopped (oneOff: exit after one test). Resolves once the port listens.
 */
export async function startIperf3Server(o: { netns: string; bind: string; port?: number; oneOff?: boolean; binary?: string }): Promise<RunningIperf3Server> {
  assertLabNamespace(o.netns);
  const port = o.port ?? IPERF3_PORT;
  await requireIperf3(o.binary);
  const args = ['--server', '--bind', o.bind, '--port', String(port)];
  if (o.oneOff) args.push('--one-off');
  // Its per-test output is not needed (the client gets the server's counts), so it is not kept.
  return startPeerServer({ netns: o.netns, name: 'iperf3', command: [o.binary ?? 'iperf3', ...args], protocol: 'tcp', port });
}

export interface RunningIperf3Client {
  pids: number[];
  command: string[];
  /** The parsed end record once the test finishes on its own (after duration + omit). */
  result: Promise<Iperf3Report>;
  /** Raw JSON text (for the record), once finished. */
  output: Promise<string>;
  /** Abort: kills the client; `result` then rejects. */
  kill(): void;
  exited: Promise<void>;
}

/**
 * Start one client test from NETNS (the lab) to the server. The test runs for duration + omit
 * seconds and ends by itself; `result` settles with its report (or a UserError). A client that
 * outlives its duration by `graceSeconds` (default 10) is killed.
 */
export function startIperf3Client(o: { netns: string; server: string; port?: number; options: Iperf3Options; graceSeconds?: number; binary?: string }): RunningIperf3Client {
  assertLabNamespace(o.netns);
  const args = iperf3ClientArgs(o.server, o.port ?? IPERF3_PORT, o.options);
  const command = ['ip', 'netns', 'exec', o.netns, o.binary ?? 'iperf3', ...args];
  const limitMs = (o.options.duration + (o.options.omit ?? 0) + (o.graceSeconds ?? 10)) * 1000;
  const proc = execa(command[0]!, command.slice(1), { reject: false, stdin: 'ignore', timeout: limitMs, killSignal: 'SIGKILL' });
  const output = proc.then((r) => String(r.stdout ?? ''));
  const result = proc.then((r) => {
    const text = String(r.stdout ?? '');
    const err = String(r.stderr ?? '');
    if (/exec of "[^"]*" failed/.test(err)) throw new UserError(`iperf3 is missing: ${err.trim()}`, { hint: 'apt-get install iperf3' });
    if (r.timedOut) throw new UserError(`iperf3 client ran past ${limitMs / 1000} s and was killed`, { hint: 'the wire or the server stopped answering' });
    return parseIperf3Json(text);
  });
  return {
    pids: proc.pid ? [proc.pid] : [],
    command,
    result,
    output,
    kill: () => void proc.kill('SIGKILL'),
    exited: proc.then(() => undefined),
  };
}

/** One test end to end: start the client, wait for its report. */
export function runIperf3(o: Parameters<typeof startIperf3Client>[0]): Promise<Iperf3Report> {
  return startIperf3Client(o).result;
}
