// Render a probe script template for one trial. Every value is validated before it is
// substituted, so nothing from a profile or the machine can inject bpftrace code.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.ts';
import type { ProbeBackend } from '../types.ts';

export const PROBES_DIR = fileURLToPath(new URL('../../probes/', import.meta.url));

export interface RenderParams {
  tap: string;
  readerPid: number;
  generator: 'trafgen' | 'pktgen';
  sampleMs: number;
  /** Queue capacity in packets (tx_queue_len x queues): the occupancy histogram's range. */
  capacity: number;
  level: 'counters' | 'full';
  /** Queues of the tap (exact backends pick the queue's tun_file by skb->queue_mapping). */
  queues?: number;
  /** The kernel's struct tun_file has tunbench's `bool skq` (keeps the //@skq lines). */
  skqField?: boolean;
}

const TAP_RE = /^[A-Za-z0-9_.-]{1,15}$/;

/** How the xmit-side context is recognised: trafgen's processes or pktgen's kernel threads. */
export function generatorFilter(g: RenderParams['generator']): { filter: string; desc: string } {
  return g === 'trafgen'
    ? { filter: 'comm == "trafgen"', desc: 'processes named trafgen' }
    : { filter: 'strncmp(comm, "kpktgend_", 9) == 0', desc: 'kernel threads kpktgend_N' };
}

/** Occupancy histogram buckets: about 64 linear buckets over 0..capacity (one past it catches "full"). */
export function occupancyBuckets(capacity: number): { max: number; step: number } {
  const step = Math.max(1, Math.ceil(capacity / 64));
  return { max: capacity + step, step };
}

/** bpftrace cannot index tfiles[] with a variable: one branch per extra queue. */
export function tfileSelect(queues: number): string {
  if (!Number.isInteger(queues) || queues < 1 || queues > 256) throw new UserError(`invalid queue count for a probe: ${String(queues)}`);
  const lines: string[] = [];
  for (let i = 1; i < queues; i++) lines.push(`\tif ($q == ${i}) { $tf = (struct tun_file *)$tun->tfiles[${i}]; }`);
  return lines.join('\n');
}

export function renderScript(template: string, p: RenderParams): string {
  if (!TAP_RE.test(p.tap)) throw new UserError(`invalid tap name for a probe: ${JSON.stringify(p.tap)}`);
  for (const [k, v] of Object.entries({ readerPid: p.readerPid, sampleMs: p.sampleMs, capacity: p.capacity })) {
    if (!Number.isInteger(v) || v <= 0) throw new UserError(`invalid ${k} for a probe: ${String(v)}`);
  }
  const g = generatorFilter(p.generator);
  const occ = occupancyBuckets(p.capacity);
  const values: Record<string, string> = {
    TAP: p.tap,
    READER_PID: String(p.readerPid),
    GENERATOR_FILTER: g.filter,
    GENERATOR_DESC: g.desc,
    SAMPLE_MS: String(p.sampleMs),
    OCC_MAX: String(occ.max),
    OCC_STEP: String(occ.step),
    TFILE_SELECT: tfileSelect(p.queues ?? 1),
  };
  const lines = template.split('\n').map((line) => {
    const full = /^\/\/@full ?(.*)$/.exec(line);
    if (full) return p.level === 'full' ? full[1]! : null;
    const skq = /^\/\/@skq ?(.*)$/.exec(line);
    if (skq) return p.skqField ? skq[1]! : null;
    return line;
  });
  const out = lines.filter((l): l is string => l !== null).join('\n').replace(/\{\{([A-Z_]+)\}\}/g, (_, k: string) => {
    const v = values[k];
    if (v === undefined) throw new Error(`probe template has an unknown placeholder {{${k}}}`);
    return v;
  });
  return out;
}

export function templatePath(backend: ProbeBackend): string {
  return `${PROBES_DIR}${backend}.bt`;
}

export function loadTemplate(backend: ProbeBackend): string {
  try {
    return readFileSync(templatePath(backend), 'utf8');
  } catch {
    throw new UserError(`no probe script for the ${backend} backend (${templatePath(backend)})`, { hint: 'use --backend tracepoint' });
  }
}
