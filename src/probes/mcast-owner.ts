// Run probes/mcast-owner.bt over one multicast burst: per device of the multicast lab, how many
// skbs it was handed were the sender socket's own (charged to its send buffer) and how many
// clones. See the script's header for why and what it costs.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../errors.ts';
import { PROBES_DIR } from './render.ts';
import { bpftraceError, waitAttached } from './start.ts';

export interface OwnerCounts {
  /** Per device name: skbs handed to it (net:net_dev_queue) with skb->sk set (charged) and without (clones). */
  devices: Record<string, { charged: number; clones: number }>;
}

export interface RunningOwnerTrace {
  /** Stops bpftrace (SIGINT: it prints its maps) and returns the counts. */
  stop(): Promise<OwnerCounts>;
}

const DEVICE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** The script for these device names (checked: they are written into it as string literals);
 * with sk_buff.sk's offset (BTF), skb->sk is a raw load. */
export function renderOwnerScript(devices: string[], skbSk: number | null = null): string {
  if (devices.length === 0) throw new Error('no device to trace');
  for (const d of devices) if (!DEVICE_NAME.test(d)) throw new Error(`not a device name: ${JSON.stringify(d)}`);
  if (skbSk !== null && (!Number.isInteger(skbSk) || skbSk < 0)) throw new Error(`bad BTF offset ${String(skbSk)}`);
  const predicate = devices.map((d) => `str(args->name) == "${d}"`).join(' || ');
  const sk = skbSk === null ? '((struct sk_buff *)args->skbaddr)->sk' : `*(uint64 *)((uint64)args->skbaddr + ${skbSk})`;
  return readFileSync(join(PROBES_DIR, 'mcast-owner.bt'), 'utf8').replace('/ {{DEVICES}} /', `/ ${predicate} /`).replace('{{SKB_SK}}', sk);
}

/** The counts from bpftrace's JSON lines; every device named gets an entry (0 and 0 when it saw nothing). */
export function parseOwnerOutput(text: string, devices: string[]): OwnerCounts {
  const out: OwnerCounts = { devices: Object.fromEntries(devices.map((d) => [d, { charged: 0, clones: 0 }])) };
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let rec: { type?: string; data?: Record<string, Record<string, number>> };
    try { rec = JSON.parse(line) as typeof rec; } catch { continue; }
    if (rec.type !== 'map' || !rec.data) continue;
    for (const [map, kind] of [['@charged', 'charged'], ['@clones', 'clones']] as const) {
      for (const [dev, n] of Object.entries(rec.data[map] ?? {})) {
        const e = (out.devices[dev] ??= { charged: 0, clones: 0 });
        e[kind] = n;
      }
    }
  }
  return out;
}

/** Starts the trace and waits until it has attached; the rendered script and the raw output go to `rawFile` (.bt beside it). */
export async function startOwnerTrace(o: { devices: string[]; rawFile?: string; bpftrace?: string; skbSk?: number | null }): Promise<RunningOwnerTrace> {
  const script = renderOwnerScript(o.devices, o.skbSk ?? null);
  const scriptFile = `${o.rawFile ?? `/tmp/tunbench-mcast-owner-${process.pid}`}.bt`;
  writeFileSync(scriptFile, script);
  const proc = execa(o.bpftrace ?? 'bpftrace', ['-f', 'json', scriptFile], { reject: false, stdin: 'ignore', buffer: false, killSignal: 'SIGINT', forceKillAfterDelay: 10_000 });
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  let exited = false;
  const done = proc.then((r) => { exited = true; return r; });
  const attach = await waitAttached(() => stdout, () => exited);
  if (!attach.ok) {
    if (!exited) proc.kill('SIGKILL');
    await done;
    throw new UserError(attach.exited ? `bpftrace could not attach the multicast owner trace: ${bpftraceError(stderr)}` : `bpftrace did not attach the multicast owner trace within ${attach.seconds} s`, { hint: `see ${scriptFile}; run tunbench doctor; or leave generator.ownerTrace out` });
  }
  return {
    stop: async () => {
      if (!exited) proc.kill('SIGINT');
      await done;
      if (o.rawFile) writeFileSync(o.rawFile, stdout);
      return parseOwnerOutput(stdout, o.devices);
    },
  };
}
