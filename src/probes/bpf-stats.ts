// What the probes cost, from the kernel's own BPF run-time statistics: with
// kernel.bpf_stats_enabled = 1 every program's fdinfo has run_time_ns and run_cnt (time spent
// running it and runs, since load). Summed over the programs bpftrace holds, read at the
// window's edges: probe_cpu_pct = run time / window, percent of one CPU. Keeping the
// statistics costs two clock reads per program run; at the counters level no program runs
// per packet, so that is noise there.
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { onCleanup } from '../process/cleanup.ts';

const SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

export interface BpfRunTime {
  runTimeNs: number;
  runCount: number;
  programs: number;
  /** Per program id (a delta carries names when they could be resolved: what each part costs). */
  byProgram?: Record<string, { name?: string; runTimeNs: number; runCount: number }>;
}

/** Turn the statistics on for the trial; the returned function restores the previous value. */
export function enableBpfStats(path = SYSCTL): () => void {
  let before: string;
  try {
    before = readFileSync(path, 'utf8').trim();
    if (before !== '1') writeFileSync(path, '1');
  } catch {
    return () => undefined; // a kernel without the switch: the probes' cost is then not known
  }
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    forget();
    if (before !== '1') {
      try { writeFileSync(path, before); } catch { /* nothing to restore */ }
    }
  };
  const forget = onCleanup('kernel.bpf_stats_enabled', async () => restore());
  return restore;
}

/** Parse one bpf-prog fdinfo; null when it has no run-time figures (statistics off, old kernel). */
export function parseProgFdinfo(text: string): { id: number; runTimeNs: number; runCount: number } | null {
  const get = (k: string) => {
    const m = new RegExp(`^${k}:\\s*(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
  const id = get('prog_id');
  const t = get('run_time_ns');
  const n = get('run_cnt');
  return id === null || t === null || n === null ? null : { id, runTimeNs: t, runCount: n };
}

/** Run time of every eBPF program process `pid` holds; null when the kernel reports none. */
export function readBpfRunTime(pid: number, proc = '/proc'): BpfRunTime | null {
  const seen = new Map<number, { runTimeNs: number; runCount: number }>();
  let fds: string[];
  try {
    fds = readdirSync(`${proc}/${pid}/fd`);
  } catch {
    return null;
  }
  for (const fd of fds) {
    try {
      if (readlinkSync(`${proc}/${pid}/fd/${fd}`) !== 'anon_inode:bpf-prog') continue;
      const p = parseProgFdinfo(readFileSync(`${proc}/${pid}/fdinfo/${fd}`, 'utf8'));
      if (p) seen.set(p.id, p);
    } catch {
      /* fd closed meanwhile */
    }
  }
  if (seen.size === 0) return null;
  let runTimeNs = 0;
  let runCount = 0;
  for (const p of seen.values()) {
    runTimeNs += p.runTimeNs;
    runCount += p.runCount;
  }
  return { runTimeNs, runCount, programs: seen.size, byProgram: Object.fromEntries([...seen.entries()].map(([id, p]) => [String(id), { runTimeNs: p.runTimeNs, runCount: p.runCount }])) };
}

export function bpfDelta(a: BpfRunTime | null, b: BpfRunTime | null): BpfRunTime | null {
  if (!a || !b) return null;
  const byProgram: NonNullable<BpfRunTime['byProgram']> = {};
  for (const [id, pb] of Object.entries(b.byProgram ?? {})) {
    const pa = a.byProgram?.[id];
    byProgram[id] = { runTimeNs: pb.runTimeNs - (pa?.runTimeNs ?? 0), runCount: pb.runCount - (pa?.runCount ?? 0) };
  }
  return { runTimeNs: b.runTimeNs - a.runTimeNs, runCount: b.runCount - a.runCount, programs: b.programs, byProgram };
}

/** Program names by id (bpftool prog show), read once the window is over; {} without bpftool. */
export async function programNames(ids: string[], bpftool = 'bpftool'): Promise<Record<string, string>> {
  if (ids.length === 0) return {};
  const r = await execa(bpftool, ['--json', 'prog', 'show'], { reject: false, timeout: 10_000, stdin: 'ignore', maxBuffer: 64 * 1024 * 1024 });
  if (r.exitCode !== 0) return {};
  try {
    const all = JSON.parse(r.stdout) as { id: number; name?: string; type?: string }[];
    const want = new Set(ids);
    return Object.fromEntries(all.filter((p) => want.has(String(p.id))).map((p) => [String(p.id), `${p.type ?? 'prog'}:${p.name ?? p.id}`]));
  } catch {
    return {};
  }
}
