// The one-shot handshake that lets the sampler find each queue's struct tun_file: tunbench's
// small C helper (sink/tunbench-handshake) takes a duplicate of each of the reader's tap fds,
// places them at fixed fd numbers and renames itself, which probes/sampler.bt catches on
// task:task_rename (no syscall tracepoint: see the helper's header). Works for any reader
// process (sink, QEMU).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { UserError } from '../errors.ts';

export function handshakeBinaryPath(): string {
  return resolve(fileURLToPath(new URL('../../sink/tunbench-handshake', import.meta.url)));
}

/** Run the handshake against `readerPid`'s queues of tap `dev`; returns the queues it touched. */
export async function runHandshake(readerPid: number, dev: string, binary = handshakeBinaryPath()): Promise<number> {
  if (!existsSync(binary)) throw new UserError(`the probes' handshake helper is missing (${binary})`, { hint: 'bash scripts/setup.sh (it runs make -C sink)' });
  const r = await execa(binary, [String(readerPid), dev], { reject: false, timeout: 10_000, stdin: 'ignore' });
  const m = /^handshake (\d+)$/m.exec(r.stdout);
  if (r.exitCode !== 0 || !m) throw new UserError(`the probes could not find the tap's queues: ${r.stderr.trim() || r.stdout.trim() || `exit ${String(r.exitCode)}`}`, { hint: 'run as root on a kernel with pidfd_getfd (5.6+); or run with --probes off' });
  return Number(m[1]);
}
