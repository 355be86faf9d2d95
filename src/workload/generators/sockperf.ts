// Request/response latency (Debian's sockperf 3.7): `sockperf server` runs in the wire's peer
// namespace, `sockperf ping-pong` in the lab namespace, so each request crosses the lab tap's
// queue (client -> lab tap -> wire -> peer tap -> server) and its reply comes back through the
// peer tap. Ping-pong keeps one message in flight: each transaction is one round trip, and
// `--full-rtt` makes sockperf report the round-trip time (without it, half of it).
//
// sockperf has no machine-readable output; its summary (stdout) is read line by line:
//   sockperf: [Valid Duration] RunTime=1.549 sec; SentMessages=3099; ReceivedMessages=3099
//   sockperf: ====> avg-rtt=49.755 (std-dev=14.351)
//   sockperf: # dropped messages = 0; # duplicated messages = 0; # out-of-order messages = 0
//   sockperf: Total 3099 observations; each percentile contains 30.99 observations
//   sockperf: ---> <MAX> observation = 2492.989
//   sockperf: ---> percentile 99.900 =   71.951
//   sockperf: ---> <MIN> observation =    9.278
// (microseconds; some lines wrapped in ANSI colour codes). It exits 0 even when it failed
// ("ERROR: Can`t connect socket", "No messages were received from the server"), so success is
// the presence of the figures, not the exit code.
//
// Timing (measured here): the client prints "Starting test..." about 2 s after it starts (a
// fixed pause, with or without its warm-up messages), runs -t whole seconds, and leaves out of
// its figures the first 400 ms (its warm-up) and the last ~50 ms ("Valid Duration").
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { UserError } from '../../errors.ts';
import { assertLabNamespace } from '../../lab/lab.ts';
import { startPeerServer, type RunningPeerServer } from '../../process/peer-server.ts';

export const SOCKPERF_PORT = 11111;
export const SOCKPERF_HINT = 'apt-get install sockperf (or bash scripts/setup.sh)';

export interface SockperfOptions {
  protocol: 'udp' | 'tcp';
  /** Bytes per message (-m; sockperf's minimum is 14, its header). */
  messageSize: number;
  /** Messages per second (--mps); 'max': the next request as soon as the reply is in. */
  mps: number | 'max';
  /** Whole seconds of test (-t). */
  seconds: number;
}

/** What one ping-pong test reported (times in microseconds, as sockperf prints them). */
export interface SockperfReport {
  protocol: 'udp' | 'tcp';
  /** 'rtt' with --full-rtt (always, as tunbench runs it); 'half-rtt' otherwise. */
  measure: 'rtt' | 'half-rtt';
  /** sockperf's valid span (its warm-up and tail left out) and the messages in it. */
  seconds: number;
  sentMessages: number;
  receivedMessages: number;
  /** Transactions (replies received) per second of the valid span. */
  transactionsPerSecond: number;
  /** Its whole run: seconds and messages, warm-up included. */
  totalSeconds: number | null;
  totalSentMessages: number | null;
  totalReceivedMessages: number | null;
  observations: number;
  avgUs: number;
  stdDevUs: number | null;
  minUs: number;
  maxUs: number;
  /** Percentile (as printed: '50.000', '99.900' ...) -> microseconds. */
  percentilesUs: Record<string, number>;
  dropped: number | null;
  duplicated: number | null;
  outOfOrder: number | null;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** Parse the client's summary; a failed test (no figures) becomes a UserError with sockperf's own words. */
export function parseSockperfOutput(text: string, protocol: 'udp' | 'tcp'): SockperfReport {
  const lines = text.replace(ANSI, '').split('\n').map((l) => l.replace(/^sockperf:\s*/, '').trim());
  const err = lines.find((l) => /^ERROR:/.test(l) || /No messages were received/.test(l));
  const num = (re: RegExp): number | null => {
    for (const l of lines) {
      const m = re.exec(l);
      if (m) return Number(m[1]);
    }
    return null;
  };
  const valid = lines.map((l) => /^\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)/.exec(l)).find((m) => m);
  const percentilesUs: Record<string, number> = {};
  for (const l of lines) {
    const m = /^---> percentile ([\d.]+) =\s*([\d.]+)/.exec(l);
    if (m) percentilesUs[m[1]!] = Number(m[2]);
  }
  const maxUs = num(/^---> <MAX> observation =\s*([\d.]+)/);
  const minUs = num(/^---> <MIN> observation =\s*([\d.]+)/);
  const avg = lines.map((l) => /^====> avg-(rtt|latency)=([\d.]+)(?: \(std-dev=([\d.]+)\))?/.exec(l)).find((m) => m);
  if (!valid || !avg || maxUs === null || minUs === null || Object.keys(percentilesUs).length === 0) {
    const why = err ?? lines.filter((l) => l !== '').slice(-2).join(' / ');
    throw new UserError(`sockperf reported no latency figures: ${why || 'no output'}`, { hint: 'the sockperf server must be running in the peer namespace and reachable over the wire' });
  }
  const seconds = Number(valid[1]);
  const receivedMessages = Number(valid[3]);
  const total = lines.map((l) => /^\[Total Run\] RunTime=([\d.]+) sec; .*SentMessages=(\d+); ReceivedMessages=(\d+)/.exec(l)).find((m) => m);
  return {
    protocol,
    measure: avg[1] === 'rtt' ? 'rtt' : 'half-rtt',
    seconds,
    sentMessages: Number(valid[2]),
    receivedMessages,
    transactionsPerSecond: seconds > 0 ? receivedMessages / seconds : 0,
    totalSeconds: total ? Number(total[1]) : null,
    totalSentMessages: total ? Number(total[2]) : null,
    totalReceivedMessages: total ? Number(total[3]) : null,
    observations: num(/^Total (\d+) observations/) ?? receivedMessages,
    avgUs: Number(avg[2]),
    stdDevUs: avg[3] !== undefined ? Number(avg[3]) : null,
    minUs,
    maxUs,
    percentilesUs,
    dropped: num(/# dropped messages = (\d+)/),
    duplicated: num(/# duplicated messages = (\d+)/),
    outOfOrder: num(/# out-of-order messages = (\d+)/),
  };
}

/**
 * Why a UDP ping-pong's figures do not cover its test, or null. sockperf 3.7's ping-pong keeps
 * one message in flight and waits for its reply without a timeout: a request or reply lost (a
 * full ring beside a flood) stops the measurement there, and the client sits until its timer.
 * Its summary then covers a fraction of the test (seen here: 0.32 s valid of a 4 s test, 12,585
 * sent, 12,584 received). A normal test's valid span is its run less 0.4 s of warm-up and
 * about 50 ms at the end, and one reply may be in flight when the timer ends.
 */
export function sockperfStalled(r: SockperfReport): string | null {
  if (r.protocol !== 'udp' || r.totalSeconds === null || r.totalSentMessages === null || r.totalReceivedMessages === null) return null;
  const expected = r.totalSeconds - 0.45;
  if (r.seconds >= expected - 0.5 || r.totalReceivedMessages >= r.totalSentMessages) return null;
  return `sockperf UDP ping-pong lost a message and waited for its reply until its timer: its figures cover ${r.seconds} s of its ${r.totalSeconds} s test (sent ${r.totalSentMessages}, received ${r.totalReceivedMessages}); under loss use protocol: tcp (TCP resends: the time to recover is in the round trip)`;
}

/** A percentile of the report in microseconds ('99.9' -> the '99.900' line), or null. */
export function percentileUs(r: SockperfReport, p: number): number | null {
  const hit = Object.entries(r.percentilesUs).find(([k]) => Math.abs(Number(k) - p) < 1e-9);
  return hit ? hit[1] : null;
}

/** Client arguments of one ping-pong test. */
export function sockperfClientArgs(server: string, port: number, o: SockperfOptions): string[] {
  if (!Number.isInteger(o.messageSize) || o.messageSize < 14 || o.messageSize > 65000) throw new UserError(`sockperf messageSize ${o.messageSize}: expected an integer 14..65000 (sockperf's header takes 14 bytes)`);
  if (!Number.isInteger(o.seconds) || o.seconds < 1) throw new UserError(`sockperf seconds ${o.seconds}: expected whole seconds >= 1 (sockperf -t takes an integer)`);
  if (o.mps !== 'max' && !(Number.isInteger(o.mps) && o.mps >= 1)) throw new UserError(`sockperf mps ${o.mps}: expected max or an integer >= 1`);
  return ['ping-pong', '--ip', server, '--port', String(port), ...(o.protocol === 'tcp' ? ['--tcp'] : []), '--msg-size', String(o.messageSize), '--time', String(o.seconds), `--mps=${o.mps}`, '--full-rtt'];
}

/** sockperf's version, or a UserError with the install command when it is missing. */
export async function requireSockperf(binary = 'sockperf'): Promise<string> {
  const r = await execa(binary, ['--version'], { reject: false, timeout: 10_000 });
  const m = /sockperf, version (\d+\.\d+)/.exec(String(r.stdout ?? ''));
  if (r.exitCode !== 0 || !m) {
    throw new UserError(`sockperf is missing (${binary} --version: ${(String(r.stderr || r.stdout || '') || (r as { code?: string }).code || 'failed').toString().trim().split('\n')[0]})`, { hint: SOCKPERF_HINT });
  }
  return m[1]!;
}

/** Start `sockperf server` inside NETNS (the wire's peer), bound to `bind`. Resolves once the port is bound. */
export async function startSockperfServer(o: { netns: string; bind: string; protocol: 'udp' | 'tcp'; port?: number; binary?: string }): Promise<RunningPeerServer> {
  assertLabNamespace(o.netns);
  const port = o.port ?? SOCKPERF_PORT;
  await requireSockperf(o.binary);
  const args = ['server', '--ip', o.bind, '--port', String(port), ...(o.protocol === 'tcp' ? ['--tcp'] : [])];
  return startPeerServer({ netns: o.netns, name: 'sockperf', command: [o.binary ?? 'sockperf', ...args], protocol: o.protocol, port, cleanStderr: (e) => e.replace(ANSI, '') });
}

export interface RunningSockperfClient {
  pids: number[];
  command: string[];
  /** Resolves when sockperf prints "Starting test..." (its measured part begins 400 ms later);
   * rejects when it exits or stays silent for `startTimeoutMs` before that. */
  started: Promise<void>;
  result: Promise<SockperfReport>;
  output: Promise<string>;
  kill(): void;
  exited: Promise<void>;
}

/**
 * Start one ping-pong test from NETNS (the lab) to the server. The test ends by itself after
 * its -t seconds; one that outlives them by `graceSeconds` (default 10) is killed.
 */
export function startSockperfClient(o: { netns: string; server: string; port?: number; options: SockperfOptions; graceSeconds?: number; startTimeoutMs?: number; binary?: string }): RunningSockperfClient {
  assertLabNamespace(o.netns);
  const args = sockperfClientArgs(o.server, o.port ?? SOCKPERF_PORT, o.options);
  // stdbuf: sockperf writes to a pipe fully buffered, and "Starting test..." is needed as it happens.
  const command = ['ip', 'netns', 'exec', o.netns, 'stdbuf', '-oL', '-eL', o.binary ?? 'sockperf', ...args];
  const limitMs = (o.options.seconds + 3 + (o.graceSeconds ?? 10)) * 1000;
  const proc = execa(command[0]!, command.slice(1), { reject: false, stdin: 'ignore', all: true, timeout: limitMs, killSignal: 'SIGKILL' });
  let text = '';
  const started = new Promise<void>((resolveStart, rejectStart) => {
    const t = setTimeout(() => rejectStart(new UserError(`sockperf printed no "Starting test..." within ${(o.startTimeoutMs ?? 15_000) / 1000} s: ${text.replace(ANSI, '').trim().split('\n').slice(-2).join(' / ') || 'no output'}`)), o.startTimeoutMs ?? 15_000);
    const rl = createInterface({ input: proc.all! });
    rl.on('line', (l) => {
      text += `${l}\n`;
      if (/Starting test/.test(l)) {
        clearTimeout(t);
        resolveStart();
      }
    });
    void proc.then(() => {
      clearTimeout(t);
      rejectStart(new UserError(`sockperf exited before its test started: ${text.replace(ANSI, '').trim().split('\n').slice(-2).join(' / ') || 'no output'}`, { hint: 'the sockperf server must be running in the peer namespace and reachable over the wire' }));
    });
  });
  started.catch(() => undefined);
  const output = proc.then((r) => String(r.all ?? text));
  const result = proc.then((r) => {
    const all = String(r.all ?? text);
    if (/exec of "[^"]*" failed|No such file or directory/.test(all) && !/Starting test/.test(all)) throw new UserError(`sockperf is missing: ${all.trim().split('\n')[0]}`, { hint: SOCKPERF_HINT });
    if (r.timedOut) throw new UserError(`sockperf client ran past ${limitMs / 1000} s and was killed`, { hint: 'the wire or the server stopped answering' });
    return parseSockperfOutput(String(r.stdout ?? all), o.options.protocol);
  });
  return {
    pids: proc.pid ? [proc.pid] : [],
    command,
    started,
    result,
    output,
    kill: () => void proc.kill('SIGKILL'),
    exited: proc.then(() => undefined),
  };
}
