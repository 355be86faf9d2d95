// Probe backends: found by really attaching a tiny script, never by guessing from config.
import { execa } from 'execa';
import { UserError } from '../errors.ts';
import type { Availability, ProbeBackend } from '../types.ts';
import { bpftraceError } from './start.ts';
import { templatePath } from './render.ts';
import { existsSync } from 'node:fs';

// The exact backends also need tun's private types (struct tun_struct, tun_file) from BTF:
// bpftrace 0.17 resolves them when tun is built in, not from a module's BTF, so the trial
// script reads a ring field through them (compiled and attached, never meaningful).
const TRIAL_SCRIPTS: Record<ProbeBackend, string> = {
  tracepoint: 'tracepoint:net:net_dev_xmit { @n = count(); } interval:ms:1 { exit(); }',
  kprobe: 'kprobe:tun_net_xmit { $f = (struct tun_file *)((struct tun_struct *)arg1)->tfiles[0]; @n = $f->tx_ring.size; } kprobe:tun_do_read { @m = count(); } interval:ms:1 { exit(); }',
  fentry: 'kfunc:tun_net_xmit { $f = (struct tun_file *)((struct tun_struct *)args->dev)->tfiles[0]; @n = $f->tx_ring.size; } kfunc:tun_do_read { @m = count(); } interval:ms:1 { exit(); }',
};

/** Why a trial script failed, in words a user can act on. */
function attachFailure(backend: ProbeBackend, message: string): string {
  if (backend !== 'tracepoint' && /Cannot cast from "none"|does not contain a field|Unknown struct|unknown type/i.test(message)) {
    return `attaches, but bpftrace cannot read tun's types (struct tun_struct/tun_file) from BTF: tun is a module, and this bpftrace does not use module BTF for casts (${message}); use a kernel with CONFIG_TUN=y (vm.kernel: patched)`;
  }
  return `bpftrace: ${message}`;
}

export async function tryAttach(backend: ProbeBackend, bpftrace = 'bpftrace'): Promise<Availability> {
  const r = await execa(bpftrace, ['-e', TRIAL_SCRIPTS[backend]], { reject: false, timeout: 20_000, stdin: 'ignore' });
  if ((r as { code?: string }).code === 'ENOENT') return { available: false, reason: 'bpftrace not installed (apt-get install bpftrace)' };
  if (r.exitCode === 0) {
    if (!existsSync(templatePath(backend))) return { available: false, reason: `attaches, but tunbench has no ${backend} script yet (probes/${backend}.bt)` };
    return { available: true, reason: `bpftrace attached ${TRIAL_SCRIPTS[backend].split(' ')[0]}${backend === 'tracepoint' ? '' : ' and read tun_file.tx_ring through BTF'}` };
  }
  return { available: false, reason: attachFailure(backend, bpftraceError(`${r.stderr}\n${r.stdout}`)) };
}

export async function detectProbeBackends(): Promise<Record<ProbeBackend, Availability>> {
  const [tracepoint, kprobe, fentry] = await Promise.all([tryAttach('tracepoint'), tryAttach('kprobe'), tryAttach('fentry')]);
  return { tracepoint, kprobe, fentry };
}

/** auto: the most exact backend available (fentry > kprobe > tracepoint). */
export function chooseBackend(available: Record<ProbeBackend, Availability>, requested: 'auto' | ProbeBackend): ProbeBackend {
  if (requested !== 'auto') {
    const a = available[requested];
    if (!a.available) throw new UserError(`the ${requested} probe backend is not available on this machine: ${a.reason}`, { hint: 'use --backend auto (or tracepoint), or a kernel with that capability' });
    return requested;
  }
  for (const b of ['fentry', 'kprobe', 'tracepoint'] as const) if (available[b].available) return b;
  throw new UserError(`no probe backend can attach on this machine: tracepoint: ${available.tracepoint.reason}`, { hint: 'run tunbench doctor; or run with --probes off' });
}
