// What a run checks before it measures, once for the host and for 1..n VMs:
//  - checkRunInput: the profile against this machine (or the VMs' CPUs) and the result folder,
//    before the run lock, capability detection or any traffic (cheap, nothing attached);
//  - chooseBackends (doctor/requirements.ts): the full level's per-packet attach point of each variant;
//  - checkRequirements: each variant against the capabilities of where it runs;
//  - runWarnings: what the result says about how it was measured.
import { PROFILE_HINT, DOCTOR_HINT, UserError } from '../errors.ts';
import { usableCpus } from '../lab/cpus.ts';
import { missingRequirements, profileProblems } from '../doctor/requirements.ts';
import { kernelSpecProblem, vmGroups } from '../kernel/specs.ts';
import { buildPlan } from '../profile/plan.ts';
import type { Profile } from '../profile/schema.ts';
import { checkOutputDir, resultDirFor } from '../result/store.ts';
import type { Capabilities, ProbeBackend, ResolvedVariant } from '../types.ts';

/**
 * Everything about a run that can be refused without the lock, capability detection or any
 * traffic: root (host), the profile against this machine's CPUs or each VM's (the trials run
 * there), the VMs' kernel specs, the result folder. Throws a UserError whose hint matches the cause.
 * kernelFlag: the VMs' kernels came from --kernel (named so in messages) rather than vm.kernel.
 */
export function checkRunInput(profile: Profile, o: { variants?: ResolvedVariant[]; out?: string; now?: Date; kernelFlag?: boolean } = {}): void {
  const variants = o.variants ?? buildPlan(profile).variants;
  if (profile.target === 'vm') {
    const problems = [...new Set(variants.flatMap((v) => profileProblems([v], [...Array((v.vm ?? profile.vm).cpus).keys()])))];
    for (const g of vmGroups(variants, profile.vm)) {
      const p = kernelSpecProblem(g.vm.kernel);
      if (p) problems.push(`${o.kernelFlag ? '--kernel' : 'vm.kernel'} ${g.name}: ${p}`);
    }
    if (problems.length > 0) throw new UserError(`profile '${profile.name}' asks for what the VM or a tap cannot do:\n  - ${problems.join('\n  - ')}`, { hint: PROFILE_HINT });
  } else {
    if (process.getuid?.() !== 0) {
      throw new UserError('not root: tunbench builds network namespaces and tap devices and loads eBPF programs', { hint: 'run it as root (sudo); tunbench doctor shows what else this machine needs' });
    }
    const problems = profileProblems(variants, usableCpus());
    if (problems.length > 0) {
      throw new UserError(`profile '${profile.name}' asks for what this machine or a tap cannot do:\n  - ${problems.join('\n  - ')}`, { hint: PROFILE_HINT });
    }
  }
  checkOutputDir(resultDirFor(profile.name, o.out, o.now).dir);
}

/** Each variant against the capabilities where it runs; one UserError listing every miss. */
export function checkRequirements(profile: Profile, variants: ResolvedVariant[], backends: Map<string, ProbeBackend | null>, where: (variant: string) => { caps: Capabilities; label: string | null }): void {
  const missing = variants.flatMap((v) => {
    const w = where(v.name);
    return missingRequirements(w.caps, [v], backends.get(v.name) ?? null, profile.target).map((m) => (w.label ? `${w.label}: ${m}` : m));
  });
  if (missing.length === 0) return;
  const who = profile.target === 'vm' ? 'the VM kernels' : 'this machine';
  throw new UserError(`${who} cannot run profile '${profile.name}':\n  - ${[...new Set(missing)].join('\n  - ')}`, { hint: DOCTOR_HINT });
}

/** What the result says about how it was measured, from the capabilities where trials ran. */
export function runWarnings(allCaps: Capabilities[], backends: Map<string, ProbeBackend | null>, accel?: { accel: 'kvm' | 'tcg'; reason: string; vms: number }): string[] {
  const out: string[] = [];
  if (accel?.accel === 'tcg') out.push(`the VM${accel.vms > 1 ? 's' : ''} ran under TCG (QEMU's emulator: ${accel.reason}): absolute rates are emulated and far below real hardware; compare variants within this run only`);
  const several = allCaps.length > 1;
  for (const caps of allCaps) {
    const on = several ? ` (kernel ${caps.kernel.release})` : '';
    if ([...backends.values()].includes('tracepoint') && !caps.probeBackends.kprobe.available && !caps.probeBackends.fentry.available) {
      out.push(`the full level's per-packet probe uses the tracepoint net:net_dev_start_xmit (kprobe: ${caps.probeBackends.kprobe.reason})${on}: it sees packets that pass the qdisc only`);
    }
    if (!('FULL_RING' in caps.dropReasons)) out.push(`this kernel has no FULL_RING drop reason${on}: full-queue drops are counted by location (tun_net_xmit) only`);
  }
  return [...new Set(out)];
}
