// pktgen driver: the kernel's in-kernel generator through its /proc files, as the kernel's
// samples/pktgen scripts drive it (pgctrl, kpktgend_N, per-device files). pktgen is per
// network namespace, and /proc/<pid>/net/pktgen shows the namespace of <pid>, so the trial
// passes procRoot = /proc/<a lab process>/net/pktgen instead of entering the namespace.
// Knobs are named after the pktgen parameter they set.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../errors.ts';
import type { PktgenOptions } from '../../profile/schema.ts';
import type { GeneratorReport } from '../../types.ts';
import type { RunningGenerator } from './types.ts';

/** One write to a pktgen control file. */
export interface PktgenCommand {
  file: string;
  command: string;
}

/** Reasons pktgen would refuse these options on a tap (see README and platform notes). */
export function pktgenTapProblems(o: PktgenOptions): string[] {
  const out: string[] = [];
  if (o.burst > 1) out.push(`burst ${o.burst}: pktgen rejects burst > 1 on a tap (start_xmit needs IFF_TX_SKB_SHARING-free devices to accept bursts; queue_xmit never bursts)`);
  if (o.clone_skb > 0) out.push(`clone_skb ${o.clone_skb}: tun clears IFF_TX_SKB_SHARING on a tap, so pktgen rejects clone_skb > 0`);
  return out;
}

/**
 * The command sequence, in order: reset, bind one device per thread (dev@N as the samples
 * do for multi-thread runs), configure each device. `count 0` runs until stopped.
 */
export function pktgenCommands(dev: string, o: PktgenOptions): PktgenCommand[] {
  const cmds: PktgenCommand[] = [{ file: 'pgctrl', command: 'reset' }];
  for (let t = 0; t < o.threads; t++) {
    const name = o.threads > 1 ? `${dev}@${t}` : dev;
    cmds.push({ file: `kpktgend_${t}`, command: 'rem_device_all' });
    cmds.push({ file: `kpktgend_${t}`, command: `add_device ${name}` });
    const set = (command: string) => cmds.push({ file: name, command });
    set('flag QUEUE_MAP_CPU');
    set(`count ${o.count}`);
    set(`pkt_size ${o.pkt_size}`);
    set(`burst ${o.burst}`);
    set(`clone_skb ${o.clone_skb}`);
    set(`xmit_mode ${o.xmit_mode}`);
    set(o.rate > 0 ? `ratep ${o.rate}` : 'delay 0');
    set('dst 198.19.0.1');
    set('dst_mac ff:ff:ff:ff:ff:ff');
    set('udp_dst_min 9');
    set('udp_dst_max 9');
  }
  return cmds;
}

export interface PktgenDeviceResult {
  device: string;
  packets: number | null;
  pps: number | null;
  errors: number | null;
  usec: number | null;
  ok: boolean;
  result: string;
}

/**
 * Parse a pktgen device file after a run. The kernel prints (net/core/pktgen.c):
 *   Current:
 *        pkts-sofar: 1000000  errors: 12
 *   ...
 *   Result: OK: 1234567(c1234000+d567) usec, 1000000 (64byte,0frags)
 *     809999pps 414Mb/sec (414719488bps) errors: 12
 */
export function parsePktgenDevice(device: string, text: string): PktgenDeviceResult {
  const sofar = /pkts-sofar:\s*(\d+)/.exec(text);
  const resLine = /Result:\s*(.*(?:\n\s+\d+pps.*)?)/.exec(text);
  const result = resLine?.[1]?.replace(/\s+/g, ' ').trim() ?? '';
  const ok = /^OK:/.test(result);
  const usec = /OK:\s*(\d+)\(/.exec(result);
  const pkts = /usec,\s*(\d+)\s*\(/.exec(result);
  const pps = /(\d+)pps/.exec(result);
  const errs = /errors:\s*(\d+)/.exec(result) ?? /errors:\s*(\d+)/.exec(text);
  return {
    device,
    packets: pkts ? Number(pkts[1]) : sofar ? Number(sofar[1]) : null,
    pps: pps ? Number(pps[1]) : null,
    errors: errs ? Number(errs[1]) : null,
    usec: usec ? Number(usec[1]) : null,
    ok,
    result,
  };
}

export interface StartPktgenOptions {
  dev: string;
  options: PktgenOptions;
  /** /proc/net/pktgen of the lab namespace, e.g. /proc/<sink pid>/net/pktgen. */
  procRoot: string;
  /** The lab namespace. pgctrl acts on the WRITER's network namespace (pgctrl_write uses
   * current->nsproxy->net_ns, net/core/pktgen.c), so reset/start/stop are written by a
   * process inside it; the per-thread and per-device files act on their own namespace. */
  netns?: string;
  /** Writes a control file (a stand-in in tests). */
  write?: (path: string, text: string) => void;
  read?: (path: string) => string;
  /** pgctrl 'start' blocks in the kernel until stopped; it is written from this function (default: a worker-free async write). */
  startWriter?: (path: string) => Promise<void>;
}

/** How long the blocking 'start' write may take to return after 'stop'. */
const STOP_WAIT_MS = 5000;

function pktgenError(path: string, command: string, e: unknown): UserError {
  return new UserError(`pktgen refused '${command}' in ${path}: ${(e as Error).message}`, { hint: 'check the pktgen parameters against the tap constraints in the README' });
}

export async function startPktgen(o: StartPktgenOptions): Promise<RunningGenerator> {
  const problems = pktgenTapProblems(o.options);
  if (problems.length > 0) throw new UserError(`pktgen cannot drive a tap with these options: ${problems.join('; ')}`);
  const inNetns = (command: string): string[] => ['netns', 'exec', o.netns!, 'sh', '-c', `echo ${command} > /proc/net/pktgen/pgctrl`];
  // Bounded: a write that pktgen keeps waiting on is killed (SIGKILL) after 10 s and fails.
  const write = o.write ?? ((p: string, t: string) => {
    if (o.netns && p.endsWith('/pgctrl')) execFileSync('ip', inNetns(t), { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000, killSignal: 'SIGKILL' });
    else writeFileSync(p, `${t}\n`);
  });
  const read = o.read ?? ((p: string) => readFileSync(p, 'utf8'));
  const cmds = pktgenCommands(o.dev, o.options);
  for (const c of cmds) {
    const path = join(o.procRoot, c.file);
    try {
      write(path, c.command);
    } catch (e) {
      throw pktgenError(path, c.command, e);
    }
  }
  const devices = [...new Set(cmds.filter((c) => !c.file.startsWith('kpktgend_') && c.file !== 'pgctrl').map((c) => c.file))];
  const pgctrl = join(o.procRoot, 'pgctrl');
  const started = Date.now();
  // If 'stop' does not end the blocking 'start' write within STOP_WAIT_MS, execa cancels it
  // (SIGTERM; pktgen's wait is interruptible), then SIGKILLs it after 2 s more.
  const cancel = new AbortController();
  // 'start' does not return until the run is stopped: run it without awaiting.
  const running = (o.startWriter ?? (o.netns ? async () => {
    // Blocks in the kernel until 'stop'; exits non-zero if pktgen refuses to start.
    const r = await execa('ip', inNetns('start'), { reject: false, stdin: 'ignore', cancelSignal: cancel.signal, forceKillAfterDelay: 2000 });
    if (r.exitCode !== 0) throw new Error(r.stderr.trim() || `exit ${r.exitCode}`);
  } : async (p: string) => {
    const { open } = await import('node:fs/promises');
    const fh = await open(p, 'w');
    try {
      await fh.write('start\n');
    } finally {
      await fh.close();
    }
  }))(pgctrl).catch((e: unknown) => e as Error);
  await sleep(50);
  let stopped: Promise<GeneratorReport> | null = null;
  return {
    pids: [],
    exited: running.then(() => undefined),
    stop() {
      stopped ??= (async () => {
        write(pgctrl, 'stop');
        const bound = setTimeout(() => cancel.abort(), STOP_WAIT_MS);
        const err = await running;
        clearTimeout(bound);
        const results = devices.map((d) => parsePktgenDevice(d, read(join(o.procRoot, d))));
        const packets = results.every((r) => r.packets !== null) ? results.reduce((s, r) => s + r.packets!, 0) : null;
        const errors = results.every((r) => r.errors !== null) ? results.reduce((s, r) => s + r.errors!, 0) : null;
        const usec = Math.max(0, ...results.map((r) => r.usec ?? 0));
        return {
          tool: 'pktgen',
          packetsSent: packets,
          errors,
          reportedPps: results.every((r) => r.pps !== null) ? results.reduce((s, r) => s + r.pps!, 0) : null,
          seconds: usec > 0 ? usec / 1e6 : (Date.now() - started) / 1000,
          command: cmds.map((c) => `echo '${c.command}' > ${join(o.procRoot, c.file)}`),
          output: [...results.map((r) => `${r.device}: ${r.result}`), ...(err instanceof Error ? [`start: ${err.message}`] : [])].join('\n'),
        } satisfies GeneratorReport;
      })();
      return stopped;
    },
  };
}
