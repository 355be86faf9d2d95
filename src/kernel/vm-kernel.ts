// The 'vm' target's kernels: which image a vm.kernel spec stands for (fetched or built here),
// and the modules its guest loads. The VMs themselves run trials through src/run/executors/vm.ts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../errors.ts';
import { buildKernelTree, isKernelTree } from './tree-build.ts';
import type { ResolvedVariant } from '../types.ts';
import type { VmSettings } from '../profile/schema.ts';
import { fetchDebianKernel, kernelFromPath, repoRoot, type VmKernel } from '../qemu/kernel-fetch.ts';

/** vm.kernel: 'debian' (apt package), 'patched' (kernel/build.sh), a kernel source tree (built), or a bzImage path. */
export async function resolveVmKernel(vm: Pick<VmSettings, 'kernel' | 'modulesDir'>, log: (s: string) => void = () => undefined): Promise<VmKernel> {
  if (vm.kernel === 'debian') {
    log("vm: kernel: Debian's linux-image package (fetched once into .cache/vm)");
    return fetchDebianKernel();
  }
  if (vm.kernel === 'patched') {
    log('vm: kernel: the patched tun kernel (kernel/build.sh; a cold build takes about 5 minutes)');
    const r = await execa('bash', [join(repoRoot, 'kernel/build.sh')], { reject: false, all: true });
    const image = r.stdout.trim().split('\n').at(-1) ?? '';
    if (r.exitCode !== 0 || !existsSync(image)) {
      throw new UserError(`kernel/build.sh failed (exit ${r.exitCode}): ${(r.all ?? '').trim().split('\n').slice(-3).join(' | ')}`, { hint: 'run bash kernel/build.sh by hand to see the whole log' });
    }
    return kernelFromPath(image, null);
  }
  if (isKernelTree(vm.kernel)) {
    log(`vm: kernel: the source tree ${vm.kernel} (tunbench kernel build: cached by commit, diff and fragment)`);
    const built = await buildKernelTree(vm.kernel, { log: (l) => log(`vm: kernel build: ${l}`) });
    log(`vm: kernel: ${built.release} ${built.cached ? 'from the cache' : `built in ${built.seconds.toFixed(0)} s`}: ${built.image}`);
    return kernelFromPath(built.image, null);
  }
  return kernelFromPath(vm.kernel, vm.modulesDir ?? null);
}

/** Modules the guest must load at boot for these variants, the plan's (only for kernels with loadable modules). */
export function modulesFor(variants: readonly ResolvedVariant[], kernel: VmKernel): string[] {
  if (!kernel.modulesDir) return [];
  const mods = new Set<string>();
  for (const v of variants) {
    if (v.workload.generator.type === 'pktgen') mods.add('pktgen');
    if (v.workload.consumer.type === 'guest') mods.add('virtio_net');
  }
  return [...mods];
}
