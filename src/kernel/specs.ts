// Several kernels in one run: `--kernel NAME=SPEC` (repeatable) crosses the profile's variants
// with the kernels, and variants whose VMs differ are grouped into one VM each.
//
// Crossing: a profile of one variant (or none) becomes one variant per kernel, named after the
// kernel, the first one the baseline. A profile of several variants becomes VARIANT@KERNEL for
// each pair; each is compared with its twin on the first (base) kernel, and the variants on the
// base kernel keep the profile's own comparisons (baseline, compareTo).
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { isKernelTree } from './tree-build.ts';
import { UserError } from '../errors.ts';
import type { ResolvedVariant } from '../types.ts';
import { expandSweep } from '../profile/plan.ts';
import type { Profile, VmSettings } from '../profile/schema.ts';

export interface KernelArg {
  name: string;
  /** debian, patched, a bzImage path or a kernel source tree. */
  spec: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

/** A short name for a kernel spec: debian, patched, or the file or folder name. */
export function kernelLabel(spec: string): string {
  if (spec === 'debian' || spec === 'patched') return spec;
  const b = basename(spec.replace(/\/+$/, '')).replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return (b || 'kernel').slice(0, 32);
}

/** `NAME=SPEC`, or a bare SPEC (named by kernelLabel). */
export function parseKernelArg(text: string): KernelArg {
  const t = text.trim();
  if (t === '') throw new UserError('--kernel: empty value', { hint: '--kernel NAME=SPEC, SPEC being debian, patched, a bzImage path or a kernel source tree' });
  const eq = t.indexOf('=');
  const name = eq > 0 ? t.slice(0, eq) : kernelLabel(t);
  const spec = eq > 0 ? t.slice(eq + 1) : t;
  if (!NAME.test(name)) throw new UserError(`--kernel ${text}: the name '${name}' must be letters, digits, . _ - (at most 32, starting with a letter or digit)`, { hint: 'e.g. --kernel base=debian --kernel cand=/path/to/linux' });
  if (spec === '') throw new UserError(`--kernel ${text}: no kernel after '='`, { hint: 'SPEC is debian, patched, a bzImage path or a kernel source tree' });
  return { name, spec };
}

/** The profile with its variants crossed with the kernels (target vm). */
export function crossKernels(input: Profile, kernels: KernelArg[]): Profile {
  if (kernels.length === 0) return input;
  // A sweep's variants are crossed like written-out ones (tcp-streams-8@stock, tcp-streams-8@bp).
  const profile = expandSweep(input);
  const names = kernels.map((k) => k.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new UserError(`--kernel: the name '${dup}' is given twice; each kernel needs its own name`, { hint: 'e.g. --kernel base=debian --kernel cand=patched (the same kernel twice under two names is an A/A run)' });
  const vmOf = (k: KernelArg, own: Profile['variants'][number]['vm']) => ({ ...(own ?? {}), kernel: k.spec, name: k.name });
  const base = kernels[0]!;
  let variants: Profile['variants'];
  if (profile.variants.length <= 1) {
    const v = profile.variants[0];
    variants = kernels.map((k, i) => ({
      name: k.name,
      baseline: i === 0,
      description: `${v?.description ?? v?.name ?? profile.name} on kernel ${k.spec}`,
      workload: v?.workload ?? {},
      ...(v?.probes ? { probes: v.probes } : {}),
      vm: vmOf(k, v?.vm),
    }));
  } else {
    const anyBaseline = profile.variants.some((v) => v.baseline);
    variants = [];
    for (const v of profile.variants) {
      const isBaseline = anyBaseline ? v.baseline : v === profile.variants[0];
      for (const k of kernels) {
        const onBase = k === base;
        const compareTo = onBase ? (v.compareTo !== undefined ? `${v.compareTo}@${base.name}` : undefined) : `${v.name}@${base.name}`;
        variants.push({
          name: `${v.name}@${k.name}`,
          baseline: isBaseline && onBase,
          ...(compareTo !== undefined ? { compareTo } : {}),
          description: `${v.description ?? v.name} on kernel ${k.spec}`,
          workload: v.workload,
          ...(v.probes ? { probes: v.probes } : {}),
          vm: vmOf(k, v.vm),
        });
      }
    }
  }
  return { ...profile, target: 'vm', variants };
}

/** One VM of a run: the variants that run in it. */
export interface VmGroup {
  name: string;
  vm: VmSettings;
  variants: string[];
}

const vmKey = (vm: VmSettings): string => JSON.stringify([vm.kernel, vm.modulesDir ?? null, vm.cpus, vm.memoryMiB, vm.cmdline, vm.name ?? null]);

/** Variants grouped by the VM they need, in first-use order, each VM named (unique). */
export function vmGroups(variants: ResolvedVariant[], fallback: VmSettings): VmGroup[] {
  const groups: VmGroup[] = [];
  const byKey = new Map<string, VmGroup>();
  for (const v of variants) {
    const vm = v.vm ?? fallback;
    const key = vmKey(vm);
    let g = byKey.get(key);
    if (!g) {
      let name = vm.name ?? kernelLabel(vm.kernel);
      for (let i = 2; groups.some((x) => x.name === name); i++) name = `${vm.name ?? kernelLabel(vm.kernel)}-${i}`;
      g = { name, vm, variants: [] };
      byKey.set(key, g);
      groups.push(g);
    }
    g.variants.push(v.name);
  }
  return groups;
}

/** What is wrong with a kernel spec, before anything is booted or built (null: fine). */
export function kernelSpecProblem(spec: string): string | null {
  if (spec === 'debian' || spec === 'patched') return null;
  if (!existsSync(spec)) return `${spec} does not exist: give debian, patched, a bzImage path or a kernel source tree`;
  if (statSync(spec).isDirectory()) return isKernelTree(spec) ? null : `${spec} is a folder but not a kernel source tree (no top Makefile, Kconfig and arch/x86): give the tree's top folder, or a bzImage`;
  return isBzImage(spec);
}

/** null for an x86 bzImage (the setup header's 'HdrS' at 0x202), else what the file is not. */
function isBzImage(path: string): string | null {
  const head = Buffer.alloc(0x300);
  let n = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      n = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    return `${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): give a readable bzImage`;
  }
  if (n < 0x300 || head.toString('latin1', 0x202, 0x206) !== 'HdrS') return `${path} is not an x86 bzImage (no setup header): give arch/x86/boot/bzImage or /boot/vmlinuz-*, a kernel source tree, debian or patched`;
  return null;
}
