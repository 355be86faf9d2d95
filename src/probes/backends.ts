// Probe backends: found by really attaching a tiny script, never by guessing from config.
import { execa } from 'execa';
import { UserError } from '../errors.ts';
import type { Availability, ProbeBackend } from '../types.ts';
import { bpftraceError } from './start.ts';
import { insideVm } from '../in-vm.ts';

// The per-packet part (probes/per-packet.bt, 'full' level) attaches at the xmit side with one
// of these; it reads tun's structures and the skb through BTF offsets, not bpftrace casts, so
// it works where tun is a module too, and the trial here needs no cast either: a typed cast
// makes bpftrace build kernel types from BTF (3.6 s of CPU against 0.6 s in a TCG guest, for
// the tracepoint). fentry's trial reads args->skb as the trial script does (kfunc args are typed).
const TRIAL_SCRIPTS: Record<ProbeBackend, string> = {
  tracepoint: 'tracepoint:net:net_dev_start_xmit { @n = count(); } interval:ms:1 { exit(); }',
  kprobe: 'kprobe:tun_net_xmit { @n = count(); } interval:ms:1 { exit(); }',
  fentry: 'kfunc:tun_net_xmit { @n = args->skb->len; } interval:ms:1 { exit(); }',
};

export async function tryAttach(backend: ProbeBackend, bpftrace = 'bpftrace'): Promise<Availability> {
  // Inside an emulated (TCG) guest bpftrace's start alone can take tens of seconds.
  const timeout = insideVm() ? 90_000 : 20_000;
  const r = await execa(bpftrace, ['-e', TRIAL_SCRIPTS[backend]], { reject: false, timeout, stdin: 'ignore' });
  if (r.timedOut) return { available: false, reason: `bpftrace did not attach ${TRIAL_SCRIPTS[backend].split(' ')[0]} within ${timeout / 1000} s` };
  if ((r as { code?: string }).code === 'ENOENT') return { available: false, reason: 'bpftrace not installed (apt-get install bpftrace)' };
  if (r.exitCode === 0) return { available: true, reason: `bpftrace attached ${TRIAL_SCRIPTS[backend].split(' ')[0]}` };
  return { available: false, reason: `bpftrace: ${bpftraceError(`${r.stderr}\n${r.stdout}`)}` };
}

export async function detectProbeBackends(): Promise<Record<ProbeBackend, Availability>> {
  const [tracepoint, kprobe, fentry] = await Promise.all([tryAttach('tracepoint'), tryAttach('kprobe'), tryAttach('fentry')]);
  return { tracepoint, kprobe, fentry };
}

/** The 'full' level's xmit attach point. auto: the cheapest exact one available (fentry > kprobe > tracepoint). */
export function chooseBackend(available: Record<ProbeBackend, Availability>, requested: 'auto' | ProbeBackend): ProbeBackend {
  if (requested !== 'auto') {
    const a = available[requested];
    if (!a.available) throw new UserError(`the ${requested} probe backend is not available on this machine: ${a.reason}`, { hint: 'use --backend auto (or tracepoint), or a kernel with that capability' });
    return requested;
  }
  for (const b of ['fentry', 'kprobe', 'tracepoint'] as const) if (available[b].available) return b;
  throw new UserError(`no probe backend can attach on this machine: tracepoint: ${available.tracepoint.reason}`, { hint: 'run tunbench doctor; or run with --probes off' });
}
