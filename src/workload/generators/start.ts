// Start the profile's generator (or its background flood) in the lab.
import { execa } from 'execa';
import { UserError } from '../../errors.ts';
import { assertLabNamespace } from '../../lab/lab.ts';
import type { GeneratorOptions, Iperf3GeneratorOptions, SockperfGeneratorOptions } from '../../profile/schema.ts';
import type { FlowReport, GeneratorReport } from '../../types.ts';
import { startIperf3Client, type Iperf3Report } from './iperf3.ts';
import { startPktgen } from './pktgen.ts';
import { sockperfStalled, startSockperfClient } from './sockperf.ts';
import { startTrafgen } from './trafgen.ts';
import type { RunningGenerator } from './types.ts';

export type { RunningGenerator } from './types.ts';

export interface StartGeneratorOptions {
  netns: string;
  dev: string;
  generator: GeneratorOptions;
  /** A process inside the lab namespace: pktgen is reached through /proc/<pid>/net/pktgen. */
  sinkPid: number;
  /** iperf3, sockperf: the server's address (behind the tap) and the trial's timing. */
  flow?: { server: string; port?: number; rampUpSeconds: number; durationSeconds: number };
  /** A fixed transfer (workload.transfer): packets for a flood, bytes for iperf3; the
   * generator ends by itself once it has sent them. */
  transfer?: { packets?: number; bytes?: number; deadlineSeconds: number };
}

/** pktgen's count per thread for a transfer of `packets` over `threads` threads. */
export function pktgenCountPerThread(packets: number, threads: number): number {
  if (packets % threads !== 0) throw new UserError(`transfer.packets ${packets} does not split evenly over ${threads} pktgen threads`, { hint: 'make transfer.packets a multiple of generator.threads' });
  return packets / threads;
}

/** iperf3 whole seconds (3.12 parses -t and -O with atoi): the omitted ramp-up covers the trial's,
 * and the test outlives the window by at least a second so it never ends inside it. */
export function iperf3Timing(rampUpSeconds: number, durationSeconds: number): { omit: number; duration: number } {
  return { omit: Math.ceil(rampUpSeconds), duration: Math.ceil(durationSeconds) + 1 };
}

export function flowReportOf(r: Iperf3Report): FlowReport {
  return {
    protocol: r.protocol,
    streams: r.streams,
    seconds: r.seconds,
    goodputBps: r.goodputBps,
    receivedBytes: r.receivedBytes,
    sentBytes: r.sentBytes,
    retransmits: r.retransmits,
    udpSentPackets: r.udp ? r.udp.sentPackets : null,
    udpLostPackets: r.udp ? r.udp.lostPackets : null,
    congestion: r.congestion,
    tcpMss: r.tcpMss,
    perStream: r.perStream.map((x) => ({ goodputBps: x.goodputBps, receivedBytes: x.receivedBytes, sentBytes: x.sentBytes, retransmits: x.retransmits })),
  };
}

function startIperf3Generator(o: StartGeneratorOptions, g: Iperf3GeneratorOptions): RunningGenerator {
  if (!o.flow) throw new Error('iperf3 needs a server behind the tap (consumer wire)');
  const bytes = o.transfer?.bytes;
  // A transfer ends by its byte count; its duration only bounds the client (the trial's deadline comes first).
  const t = bytes !== undefined ? { omit: 0, duration: Math.ceil(o.transfer!.deadlineSeconds) } : iperf3Timing(o.flow.rampUpSeconds, o.flow.durationSeconds);
  const started = Date.now();
  const client = startIperf3Client({
    netns: o.netns,
    server: o.flow.server,
    port: o.flow.port,
    options: { protocol: g.protocol, streams: g.streams, duration: t.duration, omit: t.omit, ...(bytes !== undefined ? { bytes } : {}), ...(g.bitrate !== undefined ? { bitrate: g.bitrate } : {}), ...(g.length !== undefined ? { length: g.length } : {}) },
  });
  // Keep a failure for stop(); nothing here may become an unhandled rejection.
  const settled = client.result.then((r) => ({ ok: true as const, r }), (e: unknown) => ({ ok: false as const, e }));
  let stopped: Promise<GeneratorReport> | null = null;
  return {
    pids: client.pids,
    exited: client.exited,
    exitedNs: client.exited.then(() => Number(process.hrtime.bigint())),
    abort: () => client.kill(),
    stop() {
      // The test ends by itself (duration + omit); stop waits for its end record.
      stopped ??= (async () => {
        const s = await settled;
        const output = await client.output.catch(() => '');
        // A failed test fails this trial only (a plain Error, not a run-stopping UserError).
        if (!s.ok) {
          const m = (s.e as Error).message;
          throw new Error(m.startsWith('iperf3') ? m : `iperf3: ${m}`);
        }
        return {
          tool: 'iperf3',
          packetsSent: s.r.sentPackets,
          errors: null,
          reportedPps: null,
          seconds: s.r.seconds || (Date.now() - started) / 1000,
          command: client.command,
          output: output.length > 2000 ? `${output.slice(0, 2000)}... (${output.length} characters: the figures are in flow)` : output,
          flow: flowReportOf(s.r),
        } satisfies GeneratorReport;
      })();
      return stopped;
    },
  };
}

/** sockperf's -t: whole seconds from its test's start (the trial's ramp-up counts from there)
 * past the window's end, with a second to spare, so the test never ends inside the window. */
export function sockperfSeconds(rampUpSeconds: number, durationSeconds: number): number {
  return Math.ceil(rampUpSeconds + durationSeconds) + 1;
}

/**
 * sockperf ping-pong: resolves once its test has started (about 2 s after launch: a pause of
 * sockperf's own), so the trial's ramp-up and window run inside the test. The test then ends
 * by itself; stop() waits for its summary.
 */
async function startSockperfGenerator(o: StartGeneratorOptions, g: SockperfGeneratorOptions): Promise<RunningGenerator> {
  if (!o.flow) throw new Error('sockperf needs a server behind the tap (consumer wire)');
  const started = Date.now();
  const client = startSockperfClient({
    netns: o.netns,
    server: o.flow.server,
    port: o.flow.port,
    options: { protocol: g.protocol, messageSize: g.messageSize, mps: g.mps, seconds: sockperfSeconds(o.flow.rampUpSeconds, o.flow.durationSeconds) },
  });
  const settled = client.result.then((r) => ({ ok: true as const, r }), (e: unknown) => ({ ok: false as const, e }));
  try {
    await client.started;
  } catch (e) {
    client.kill();
    await client.exited;
    throw e;
  }
  let stopped: Promise<GeneratorReport> | null = null;
  return {
    pids: client.pids,
    exited: client.exited,
    exitedNs: client.exited.then(() => Number(process.hrtime.bigint())),
    abort: () => client.kill(),
    stop() {
      stopped ??= (async () => {
        const s = await settled;
        const output = await client.output.catch(() => '');
        // A failed test fails this trial only (a plain Error, not a run-stopping UserError).
        if (!s.ok) throw new Error(`sockperf: ${(s.e as Error).message}`);
        const stalled = sockperfStalled(s.r);
        if (stalled) throw new Error(stalled);
        return {
          tool: 'sockperf',
          packetsSent: null,
          errors: null,
          reportedPps: null,
          seconds: s.r.seconds || (Date.now() - started) / 1000,
          command: client.command,
          output: output.length > 4000 ? `${output.slice(0, 4000)}... (${output.length} characters: the figures are in rr)` : output,
          rr: s.r,
        } satisfies GeneratorReport;
      })();
      return stopped;
    },
  };
}

export async function startGenerator(o: StartGeneratorOptions): Promise<RunningGenerator> {
  assertLabNamespace(o.netns);
  const g = o.generator;
  const packets = o.transfer?.packets;
  if (g.type === 'trafgen') return startTrafgen({ netns: o.netns, dev: o.dev, options: g, ...(packets !== undefined ? { num: packets } : {}) });
  if (g.type === 'iperf3') return startIperf3Generator(o, g);
  if (g.type === 'sockperf') return startSockperfGenerator(o, g);
  if (g.type === 'mcast') throw new Error('the multicast generator runs in the multicast lab (src/trial/mcast-trial.ts), not through startGenerator');
  await execa('modprobe', ['pktgen'], { reject: false });
  const options = packets !== undefined ? { ...g, count: pktgenCountPerThread(packets, g.threads) } : g;
  return startPktgen({ dev: o.dev, options, procRoot: `/proc/${o.sinkPid}/net/pktgen`, netns: o.netns });
}
