// Run a probe script with bpftrace for one trial: render, start, wait until attached, and
// on stop cut the measurement window out of its output. The rendered script and bpftrace's
// raw output are kept beside the result.
import { createWriteStream, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { UserError } from '../errors.ts';
import type { ProbeBackend } from '../types.ts';
import { parseProbeOutput } from './parse.ts';
import { loadTemplate, renderScript } from './render.ts';
import { cutWindow, type WindowedProbes } from './window.ts';

export interface ProbeTarget {
  tapName: string;
  /** The reader process (its reads are tun_do_read's copies). */
  consumerPid: number;
  generator: 'trafgen' | 'pktgen';
  capacity: number;
  queues: number;
  /** The kernel has tunbench's tun queue_mode patch (struct tun_file.skq). */
  skqField?: boolean;
}

export interface StartProbesOptions {
  backend: ProbeBackend;
  level: 'counters' | 'full';
  target: ProbeTarget;
  sampleIntervalMs: number;
  dropReasons: Record<string, number>;
  /** bpftrace's raw output goes here; the rendered script beside it (.bt). */
  rawFile: string;
  bpftrace?: string;
}

export interface RunningProbes {
  pid: number;
  markWindowStart(): Promise<void>;
  markWindowEnd(): Promise<void>;
  /** Stops bpftrace and returns the window's samples and the totals since attach. */
  stop(): Promise<WindowedProbes>;
}

const monotonicNs = () => Number(process.hrtime.bigint());

/** First meaningful error line of bpftrace's stderr. */
export function bpftraceError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/RLIMIT_MEMLOCK/.test(l));
  return lines.find((l) => /ERROR|error/.test(l)) ?? lines[0] ?? 'no output';
}

export async function startProbes(o: StartProbesOptions): Promise<RunningProbes> {
  const script = renderScript(loadTemplate(o.backend), {
    tap: o.target.tapName,
    readerPid: o.target.consumerPid,
    generator: o.target.generator,
    sampleMs: o.sampleIntervalMs,
    capacity: o.target.capacity,
    level: o.level,
    queues: o.target.queues,
    skqField: o.target.skqField ?? false,
  });
  const scriptFile = o.rawFile.replace(/\.jsonl$/, '') + '.bt';
  writeFileSync(scriptFile, script);
  const raw = createWriteStream(o.rawFile);
  const keys = Math.max(4096, o.target.capacity * 2 + 1024);
  const proc = execa(o.bpftrace ?? 'bpftrace', ['-f', 'json', scriptFile], {
    reject: false,
    stdin: 'ignore',
    buffer: false,
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
  const exited = proc.then((r) => r);

  // Attached once the BEGIN probe has printed (bpftrace has attached every probe by then).
  const deadline = Date.now() + 30_000;
  while (!stdout.includes('tunbench-attached')) {
    if (proc.exitCode !== null || (await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 25))]))) {
      raw.end();
      throw new UserError(`bpftrace could not attach the ${o.backend} probes: ${bpftraceError(stderr)}`, {
        hint: `see ${scriptFile}; run tunbench doctor; or run with --probes off`,
      });
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      raw.end();
      throw new UserError('bpftrace did not attach within 30 s', { hint: 'the machine may be overloaded; or run with --probes off' });
    }
  }
  let start: number | null = null;
  let end: number | null = null;
  let stopping: Promise<WindowedProbes> | null = null;
  return {
    pid: proc.pid!,
    async markWindowStart() {
      start = monotonicNs();
    },
    async markWindowEnd() {
      end = monotonicNs();
    },
    stop() {
      stopping ??= (async () => {
        if (proc.exitCode === null) proc.kill('SIGINT');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
        await new Promise((r) => raw.end(r));
        if (start === null || end === null) throw new Error('probes stopped before the window was marked');
        if (stderr.trim()) writeFileSync(`${o.rawFile}.stderr`, stderr);
        return cutWindow(parseProbeOutput(stdout), {
          backend: o.backend,
          level: o.level,
          capacity: o.target.capacity,
          sampleMs: o.sampleIntervalMs,
          start,
          end,
          dropReasons: o.dropReasons,
        });
      })();
      return stopping;
    },
  };
}
