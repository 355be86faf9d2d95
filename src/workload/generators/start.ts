// Start the profile's generator (or its background flood) in the lab.
import { execa } from 'execa';
import { assertLabNamespace } from '../../lab/lab.ts';
import type { GeneratorOptions, Iperf3GeneratorOptions } from '../../profile/schema.ts';
import type { FlowReport, GeneratorReport } from '../../types.ts';
import { startIperf3Client, type Iperf3Report } from './iperf3.ts';
import { startPktgen } from './pktgen.ts';
import { startTrafgen } from './trafgen.ts';
import type { RunningGenerator } from './types.ts';

export type { RunningGenerator } from './types.ts';

export interface StartGeneratorOptions {
  netns: string;
  dev: string;
  generator: GeneratorOptions;
  /** A process inside the lab namespace: pktgen is reached through /proc/<pid>/net/pktgen. */
  sinkPid: number;
  /** iperf3: the server's address (behind the tap) and the trial's timing. */
  flow?: { server: string; port?: number; rampUpSeconds: number; durationSeconds: number };
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
  const t = iperf3Timing(o.flow.rampUpSeconds, o.flow.durationSeconds);
  const started = Date.now();
  const client = startIperf3Client({
    netns: o.netns,
    server: o.flow.server,
    port: o.flow.port,
    options: { protocol: g.protocol, streams: g.streams, duration: t.duration, omit: t.omit, ...(g.bitrate !== undefined ? { bitrate: g.bitrate } : {}), ...(g.length !== undefined ? { length: g.length } : {}) },
  });
  // Keep a failure for stop(); nothing here may become an unhandled rejection.
  const settled = client.result.then((r) => ({ ok: true as const, r }), (e: unknown) => ({ ok: false as const, e }));
  let stopped: Promise<GeneratorReport> | null = null;
  return {
    pids: client.pids,
    exited: client.exited,
    stop() {
      // The test ends by itself (duration + omit); stop waits for its end record.
      stopped ??= (async () => {
        const s = await settled;
        const output = await client.output.catch(() => '');
        // A failed test fails this trial only (a plain Error, not a run-stopping UserError).
        if (!s.ok) throw new Error(`iperf3: ${(s.e as Error).message}`);
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

export async function startGenerator(o: StartGeneratorOptions): Promise<RunningGenerator> {
  assertLabNamespace(o.netns);
  const g = o.generator;
  if (g.type === 'trafgen') return startTrafgen({ netns: o.netns, dev: o.dev, options: g });
  if (g.type === 'iperf3') return startIperf3Generator(o, g);
  await execa('modprobe', ['pktgen'], { reject: false });
  return startPktgen({ dev: o.dev, options: g, procRoot: `/proc/${o.sinkPid}/net/pktgen`, netns: o.netns });
}
