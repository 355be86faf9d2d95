// What the VM tests need from the machine; null when it has it, else the reason to skip.
import { existsSync, readdirSync } from 'node:fs';

export function vmMissing(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (tap devices, namespaces, bpftrace)';
  if (!existsSync('/usr/bin/qemu-system-x86_64')) return 'qemu-system-x86_64 not installed (bash scripts/setup.sh --test)';
  if (!existsSync('/bin/busybox')) return 'busybox not installed (bash scripts/setup.sh --test)';
  return null;
}

/** The patched kernel: cached in .cache/kernel, or TUNBENCH_KERNEL_BUILD=1 to build it. */
export function patchedKernelMissing(): string | null {
  const cached = existsSync('.cache/kernel') && readdirSync('.cache/kernel').some((d) => d.startsWith('build-') && existsSync(`.cache/kernel/${d}/bzImage`));
  if (!cached && process.env.TUNBENCH_KERNEL_BUILD !== '1') return 'no cached patched kernel in .cache/kernel; run kernel/build.sh or set TUNBENCH_KERNEL_BUILD=1 (cold build: several minutes)';
  return vmMissing();
}
