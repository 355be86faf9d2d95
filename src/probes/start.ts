// Run the probes of one trial with bpftrace: render the script, start it, wait until it has
// attached, find the queues (the handshake), mark the window, and on stop cut the window out
// of its output. The rendered script and bpftrace's raw output are kept beside the result.
import { createWriteStream, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { UserError, userErrorFromErrno } from '../errors.ts';
import type { ProbeBackend, ProbeSamples } from '../types.ts';
import { bpfDelta, enableBpfStats, programNames, readBpfRunTime, type BpfRunTime } from './bpf-stats.ts';
import type { TunOffsets } from './btf-offsets.ts';
import { runHandshake } from './handshake.ts';
import { tunNetXmitRanges } from './kallsyms.ts';
import { parseProbeOutput } from './parse.ts';
import { renderScript } from './render.ts';
import { cutWindow } from './window.ts';
import { insideVm } from '../in-vm.ts';

export interface ProbeTarget {
  tapName: string;
  /** The reader process: it holds the queues' fds (the handshake), its threads are the read side. */
  consumerPid: number;
  capacity: number;
  queues: number;
}

export interface StartProbesOptions {
  level: 'counters' | 'full';
  /** The per-packet part's xmit attach point ('full' only). */
  backend: ProbeBackend | null;
  target: ProbeTarget;
  sampleIntervalMs: number;
  /** Attach the queue-lock contention tracepoints (probes.locks; default: at full only). */
  locks: boolean;
  dropReasons: Record<string, number>;
  offsets: TunOffsets;
  /** bpftrace's raw output goes here; the rendered script beside it (.bt). */
  rawFile: string;
  bpftrace?: string;
}

export interface RunningProbes {
  pid: number;
  /** Settles when bpftrace exits, for whatever reason (a trial whose probes die mid-window fails). */
  exited: Promise<unknown>;
  markWindowStart(): Promise<void>;
  markWindowEnd(): Promise<void>;
  /** Stops bpftrace and returns the window's samples (with the totals since attach). */
  stop(): Promise<ProbeSamples>;
}

const monotonicNs = () => Number(process.hrtime.bigint());

/** First meaningful error line of bpftrace's stderr. */
export function bpftraceError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/RLIMIT_MEMLOCK/.test(l));
  return lines.find((l) => /ERROR|error/.test(l)) ?? lines[0] ?? 'no output';
}

/** Wait until a bpftrace script's BEGIN probe has printed `tunbench-attached` (bpftrace has
 * attached every probe by then); under emulation (a TCG guest) its compile and attach alone
 * can take tens of seconds, hence the longer bound inside a VM. */
export async function waitAttached(stdout: () => string, exited: () => boolean): Promise<{ ok: true } | { ok: false; exited: boolean; seconds: number }> {
  const seconds = insideVm() ? 120 : 30;
  const deadline = Date.now() + seconds * 1000;
  while (!stdout().includes('tunbench-attached')) {
    if (exited()) return { ok: false, exited: true, seconds };
    if (Date.now() > deadline) return { ok: false, exited: false, seconds };
    await sleep(25);
  }
  return { ok: true };
}

export async function startProbes(o: StartProbesOptions): Promise<RunningProbes> {
  // Drops by location (skb:kfree_skb in tun_net_xmit) are a 'full'-level probe only.
  const ranges = o.level === 'full' ? tunNetXmitRanges() : [];
  if (typeof ranges === 'string') throw new UserError(`the probes cannot locate tun_net_xmit: ${ranges}`, { hint: 'run tunbench doctor; or run with --probes counters' });
  const script = renderScript({
    readerPid: o.target.consumerPid,
    sampleMs: o.sampleIntervalMs,
    capacity: o.target.capacity,
    queues: o.target.queues,
    level: o.level,
    backend: o.level === 'full' ? o.backend : null,
    locks: o.locks,
    offsets: o.offsets,
    xmitRanges: ranges,
  });
  const scriptFile = o.rawFile.replace(/\.jsonl$/, '') + '.bt';
  writeFileSync(scriptFile, script);
  const raw = createWriteStream(o.rawFile);
  // A failed write of the raw output (the disk filled) must not be an unhandled 'error' event:
  // that ended the process at once with bpftrace, the generator and the reader still running.
  // It is kept and thrown by stop(), once bpftrace is stopped, so the trial tears down in order.
  let rawError: Error | null = null;
  raw.on('error', (e) => {
    rawError ??= e;
  });
  const closeRaw = (): Promise<void> => new Promise((r) => {
    if (raw.destroyed) return r();
    raw.once('error', () => r());
    raw.end(() => r());
  });
  const keys = Math.max(4096, o.target.capacity * 2 + 1024);
  const restoreStats = enableBpfStats();
  const proc = execa(o.bpftrace ?? 'bpftrace', ['-f', 'json', scriptFile], {
    reject: false,
    stdin: 'ignore',
    buffer: false,
    killSignal: 'SIGINT',
    forceKillAfterDelay: 10_000,
    env: { BPFTRACE_MAP_KEYS_MAX: String(keys), BPFTRACE_PERF_RB_PAGES: '256' },
  });
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    raw.write(d);
  });
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let exited = false;
  const done = proc.then((r) => {
    exited = true;
    return r;
  });
  const fail = async (e: UserError): Promise<never> => {
    if (!exited) proc.kill('SIGKILL');
    await done;
    await closeRaw();
    restoreStats();
    throw e;
  };

  const attach = await waitAttached(() => stdout, () => exited);
  if (!attach.ok && attach.exited) return fail(new UserError(`bpftrace could not attach the probes: ${bpftraceError(stderr)}`, { hint: `see ${scriptFile}; run tunbench doctor; or run with --probes off` }));
  if (!attach.ok) return fail(new UserError(`bpftrace did not attach within ${attach.seconds} s`, { hint: 'the machine may be overloaded; or run with --probes off' }));
  // The handshake: the helper's task rename, which the sampler turns into each queue's tun_file.
  try {
    const touched = await runHandshake(o.target.consumerPid, o.target.tapName);
    const until = Date.now() + 5_000;
    while ((stdout.match(/handshake \d+ \d+/g) ?? []).length < o.target.queues) {
      if (exited || Date.now() > until) {
        return fail(new UserError(`the probes found ${(stdout.match(/handshake \d+ \d+/g) ?? []).length} of the tap's ${o.target.queues} queue(s) (the handshake touched ${touched})`, { hint: 'see the raw probe output under raw/; run tunbench doctor; or run with --probes off' }));
      }
      await sleep(10);
    }
  } catch (e) {
    if (e instanceof UserError) return fail(e);
    throw e;
  }

  let start: number | null = null;
  let end: number | null = null;
  let bpf0: BpfRunTime | null = null;
  let bpf1: BpfRunTime | null = null;
  let stopping: Promise<ProbeSamples> | null = null;
  return {
    pid: proc.pid!,
    exited: done,
    async markWindowStart() {
      bpf0 = readBpfRunTime(proc.pid!);
      start = monotonicNs();
    },
    async markWindowEnd() {
      end = monotonicNs();
      bpf1 = readBpfRunTime(proc.pid!);
    },
    stop() {
      stopping ??= (async () => {
        // What each program cost: names from bpftool while bpftrace still holds them.
        const bpf = bpfDelta(bpf0, bpf1);
        if (bpf?.byProgram && !exited) {
          const names = await programNames(Object.keys(bpf.byProgram));
          for (const [id, p] of Object.entries(bpf.byProgram)) if (names[id]) p.name = names[id];
        }
        if (!exited) proc.kill();
        await done;
        await closeRaw();
        restoreStats();
        if (rawError) throw userErrorFromErrno(rawError) ?? rawError;
        if (start === null || end === null) throw new Error('probes stopped before the window was marked');
        if (stderr.trim()) writeFileSync(`${o.rawFile}.stderr`, stderr);
        return cutWindow(parseProbeOutput(stdout), {
          backend: o.backend,
          level: o.level,
          sampleMs: o.sampleIntervalMs,
          locks: o.locks,
          start,
          end,
          dropReasons: o.dropReasons,
          bpf,
        });
      })();
      return stopping;
    },
  };
}
