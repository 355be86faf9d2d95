// What the integration tests share: the CLI as a child process, temporary directories and the
// lab namespaces left on the machine.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { TrialResult } from '../../src/types.ts';

/** node's arguments that run tunbench's CLI from the source tree. */
export const CLI = ['--import', 'tsx', 'src/cli.ts'];

/** A new directory under the system's temporary directory, named PREFIX-xxxxxx. */
export const tmp = (prefix = 'tunbench-test'): string => mkdtempSync(join(tmpdir(), `${prefix}-`));

/** `tunbench ARGS` as a child: never rejects, stdout and stderr interleaved in `all`. */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}, options: { timeout?: number; forceKillAfterDelay?: number } = {}) {
  return execa(process.execPath, [...CLI, ...args], { reject: false, all: true, ...options, env: { ...process.env, ...env } });
}

/** The network namespaces on the machine (a lab must leave none of its own behind). */
export async function labNamespaces(): Promise<string[]> {
  const out = (await execa('ip', ['netns', 'list'])).stdout;
  return out.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith('tunbench-'));
}

/** Ethernet (14) + IPv4 (20) + TCP with timestamps (32): a TCP segment's frame beyond its payload. */
export const TCP_FRAME_OVERHEAD = 66;
/** Ethernet (14) + IPv4 (20) + UDP (8). */
export const UDP_FRAME_OVERHEAD = 42;

/** A trial's measured window from the lab tap's counters: seconds, packets and bytes sent. */
export function windowOf(t: TrialResult) {
  const r = t.readings!;
  const span = (r.tap.windowEnd.tNs - r.tap.windowStart.tNs) / 1e9;
  const packets = r.tap.windowEnd.tx_packets - r.tap.windowStart.tx_packets;
  const bytes = r.tap.windowEnd.tx_bytes - r.tap.windowStart.tx_bytes;
  return { span, packets, bytes };
}

/** Why a flow test cannot run here (not root, no iperf3), or null. */
export async function flowsMissing(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'not root';
  const { requireIperf3 } = await import('../../src/workload/generators/iperf3.ts');
  try {
    await requireIperf3();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
