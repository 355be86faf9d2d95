// Which shipped profiles this machine can run, and why not: doctor's last section. Each
// profile is planned and checked as `bench` would check it, against the capabilities already
// detected; VM profiles need QEMU here (what their guest kernel offers is known once it boots:
// `tunbench doctor --target vm`).
import { UserError } from '../errors.ts';
import { loadProfile, listProfiles } from '../profile/load.ts';
import { buildPlan, resolveVariants } from '../profile/plan.ts';
import type { Capabilities } from '../types.ts';
import { chooseBackends, missingRequirements, profileProblems } from './requirements.ts';

export interface ProfileHere {
  name: string;
  runs: boolean;
  /** Why not (each requirement missed), or where it runs. */
  reasons: string[];
}

/** One profile against CAPS: runs here, runs in a VM, or cannot, with the reasons. */
export function profileHere(nameOrPath: string, caps: Capabilities): ProfileHere {
  let name = nameOrPath;
  try {
    const { profile } = loadProfile(nameOrPath);
    name = profile.name;
    const variants = resolveVariants(profile);
    const problems = profileProblems(variants, null);
    if (problems.length > 0) return { name, runs: false, reasons: problems };
    if (profile.target === 'vm') {
      const kernels = [...new Set(variants.map((v) => v.vm?.kernel ?? profile.vm.kernel))];
      const missing = [
        ...(caps.root ? [] : ['root: tunbench boots its VMs with a tap on the host; run it as root (sudo)']),
        ...(caps.qemu.available ? [] : [`qemu: ${caps.qemu.reason}`]),
      ];
      const built = kernels.includes('patched') ? '; patched: built by kernel/build.sh on first use, about 5 minutes cold' : '';
      return missing.length > 0 ? { name, runs: false, reasons: missing } : { name, runs: true, reasons: [`in a VM (kernel ${kernels.join(', ')}; ${caps.kvm.available ? 'KVM if the kernel boots under it, else TCG' : 'TCG: emulated, slow'}${built})`] };
    }
    const backends = chooseBackends(variants, buildPlan(profile, variants), () => caps, [caps]);
    const missing = variants.flatMap((v) => missingRequirements(caps, [v], backends.get(v.name) ?? null, 'host'));
    return { name, runs: missing.length === 0, reasons: [...new Set(missing)] };
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return { name, runs: false, reasons: [`does not load: ${e.message}`] };
  }
}

/** Every profile in profiles/ against CAPS, in name order. */
export function profilesHere(caps: Capabilities, names: string[] = listProfiles()): ProfileHere[] {
  return names.map((n) => profileHere(n, caps));
}

/** doctor's text: "yes  NAME  where" or "no   NAME  first reason (+ n more)". */
export function formatProfilesHere(list: ProfileHere[]): string {
  const width = Math.max(18, ...list.map((p) => p.name.length));
  const lines = list.map((p) => {
    const [first, ...rest] = p.reasons;
    const more = rest.length > 0 ? `\n${rest.map((r) => `  ${' '.repeat(5 + width + 1)}${r}`).join('\n')}` : '';
    return `  ${p.runs ? 'yes' : 'no '}  ${p.name.padEnd(width)} ${first ?? 'on this host'}${more}`;
  });
  const n = list.filter((p) => p.runs).length;
  return [`shipped profiles (${n} of ${list.length} can run here)`, ...lines].join('\n');
}
