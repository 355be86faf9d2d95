// trafgen (netsniff-ng) driver: raw Ethernet/IPv4/UDP frames written to the tap through an
// AF_PACKET socket, from inside the lab namespace. trafgen forks one worker per CPU and pins
// worker i to CPU i itself, so its CPUs are 0..cpus-1. With qdisc: true the frames take
// dev_queue_xmit (the qdisc and the net:net_dev_* tracepoints) before tun_net_xmit.
import { readdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { UserError } from '../../errors.ts';
import { assertLabNamespace } from '../../lab/lab.ts';
import type { TrafgenOptions } from '../../profile/schema.ts';
import type { GeneratorReport } from '../../types.ts';
import type { RunningGenerator } from './types.ts';

const ETH = 14;
const IPV4 = 20;
const UDP = 8;

/**
 * trafgen packet configuration for one UDP frame of exactly `packetSize` bytes (Ethernet
 * header included, no FCS), broadcast destination, documentation addresses 198.18.0.1 ->
 * 198.19.0.1 (RFC 2544 benchmarking range), discard port 9, IPv4 header checksum by trafgen.
 */
export function trafgenConfig(packetSize: number): string {
  if (packetSize < ETH + IPV4 + UDP) throw new UserError(`packetSize ${packetSize} is below the ${ETH + IPV4 + UDP} bytes of the headers`);
  const ipLen = packetSize - ETH;
  const udpLen = ipLen - IPV4;
  const payload = udpLen - UDP;
  // trafgen's parser takes no comments inside the braces.
  return [
    '{',
    '  0xff, 0xff, 0xff, 0xff, 0xff, 0xff,',
    '  0x02, 0x74, 0x62, 0x00, 0x00, 0x01,',
    '  c16(0x0800),',
    `  0x45, 0x00, c16(${ipLen}), c16(0), c16(0x4000), 64, 17, csumip(14, 33),`,
    '  198, 18, 0, 1,  198, 19, 0, 1,',
    `  c16(9), c16(9), c16(${udpLen}), c16(0),`,
    payload > 0 ? `  fill(0x00, ${payload}),` : '',
    '}',
    '',
  ].filter((l) => l !== '').join('\n');
}

/** The per-worker rate option: trafgen applies -b to each worker, so the total is split. */
export function perWorkerRate(totalPps: number, workers: number): string | null {
  if (totalPps <= 0) return null;
  return `${Math.max(1, Math.round(totalPps / workers))}pps`;
}

export interface TrafgenSummary {
  packets: number | null;
  bytes: number | null;
  /** Longest worker run time, seconds. */
  seconds: number | null;
}

/** Parse trafgen's exit summary: "N packets outgoing", "N bytes outgoing", "S sec, U usec on CPUn (N packets)". */
export function parseTrafgenSummary(text: string): TrafgenSummary {
  const packets = /(\d+) packets outgoing/.exec(text);
  const bytes = /(\d+) bytes outgoing/.exec(text);
  let seconds: number | null = null;
  for (const m of text.matchAll(/(\d+) sec, (\d+) usec on CPU\d+/g)) {
    const s = Number(m[1]) + Number(m[2]) / 1e6;
    seconds = seconds === null ? s : Math.max(seconds, s);
  }
  return { packets: packets ? Number(packets[1]) : null, bytes: bytes ? Number(bytes[1]) : null, seconds };
}

/** Child pids: /proc/PID/task/PID/children, or (kernels without CONFIG_PROC_CHILDREN, such as
 * the small kernel/ build) a scan of every process's parent in /proc/N/stat. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    /* fall through to the scan */
  }
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

export interface StartTrafgenOptions {
  netns: string;
  dev: string;
  options: TrafgenOptions;
  binary?: string;
}

export async function startTrafgen(o: StartTrafgenOptions): Promise<RunningGenerator> {
  assertLabNamespace(o.netns);
  const dir = mkdtempSync(join(tmpdir(), 'tunbench-trafgen-'));
  const conf = join(dir, 'packet.cfg');
  writeFileSync(conf, trafgenConfig(o.options.packetSize));
  const workers = o.options.cpus;
  const args = ['--dev', o.dev, '--conf', conf, '--cpus', String(workers), '--notouch-irq'];
  if (o.options.qdisc) args.push('--qdisc-path');
  const rate = perWorkerRate(o.options.rate, workers);
  if (rate) args.push('--rate', rate);
  const command = ['ip', 'netns', 'exec', o.netns, o.binary ?? 'trafgen', ...args];
  const started = Date.now();
  // Its own process group: trafgen forks workers, and a worker left behind would keep the
  // output pipe (and the tap) busy; the group is killed if a polite stop fails.
  const proc = execa(command[0]!, command.slice(1), { reject: false, all: true, buffer: true, detached: true, cleanup: true });
  const killGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-proc.pid!, sig);
    } catch {
      /* gone */
    }
  };
  let output = '';
  proc.all?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  // trafgen's banner is block-buffered on a pipe, so "started" means: still alive after a
  // moment, with its workers forked. A bad config or device makes it exit at once.
  const deadline = Date.now() + 3000;
  while (proc.exitCode === null && childrenOf(proc.pid!).length < workers && Date.now() < deadline) await sleep(20);
  await sleep(100);
  if (proc.exitCode !== null || childrenOf(proc.pid!).length === 0) {
    killGroup('SIGKILL');
    await proc;
    rmSync(dir, { recursive: true, force: true });
    throw new UserError(`trafgen did not start: ${output.trim().split('\n').filter((l) => !/socket memory/.test(l)).slice(-3).join(' / ') || 'no output'}`, {
      hint: output.includes('not found') || output === '' ? 'install netsniff-ng (apt-get install netsniff-ng)' : 'see the trafgen message above',
    });
  }
  const pid = proc.pid!;
  const pids = [pid, ...childrenOf(pid)];
  let stopped: Promise<GeneratorReport> | null = null;
  const exited = proc.then(() => undefined);
  return {
    pids,
    exited,
    stop() {
      stopped ??= (async () => {
        // As ^C on a terminal does: the whole group, workers included (the parent alone
        // would wait for workers that never heard the signal).
        if (proc.exitCode === null) killGroup('SIGTERM');
        const timer = setTimeout(() => killGroup('SIGKILL'), 5000);
        await proc;
        clearTimeout(timer);
        rmSync(dir, { recursive: true, force: true });
        const s = parseTrafgenSummary(output);
        const kept = output.split('\n').filter((l) => !/socket memory/.test(l)).join('\n').trim();
        return {
          tool: 'trafgen',
          packetsSent: s.packets,
          errors: null,
          reportedPps: s.packets !== null && s.seconds ? s.packets / s.seconds : null,
          seconds: s.seconds ?? (Date.now() - started) / 1000,
          command,
          output: kept.slice(-2000),
        } satisfies GeneratorReport;
      })();
      return stopped;
    },
  };
}
