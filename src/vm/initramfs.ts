// The VM's initramfs: busybox-static, a generated /init, and the kernel modules it needs (with
// their dependencies from modules.dep, loaded in order). Cached by content hash in .cache/vm/initramfs/.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, mkdtempSync, chmodSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../errors.ts';
import { repoRoot, type VmKernel } from './kernel-fetch.ts';
import { initScript } from './init-script.ts';

export const defaultInitramfsCache = join(repoRoot, '.cache/vm/initramfs');
/** Modules the guest needs to mount its root and run tunbench; absent ones are fine if built in. */
export const baseModules = ['virtio_pci', '9pnet_virtio', '9p', 'overlay', 'tun'];
const busybox = '/bin/busybox';
/** Smaller than any initramfs with busybox in it (about 1 MiB compressed). */
const minArchiveBytes = 64 * 1024;

/** Module files (relative to modulesDir) for `names`, dependencies first, each once. Unknown names throw. */
export function moduleLoadOrder(modulesDep: string, names: string[], optional: Set<string> = new Set()): string[] {
  const deps = new Map<string, string[]>();
  const byName = new Map<string, string>();
  for (const line of modulesDep.split('\n')) {
    const [mod, rest] = line.split(':');
    if (!mod || rest === undefined) continue;
    deps.set(mod, rest.trim() ? rest.trim().split(/\s+/) : []);
    byName.set(basename(mod).replace(/\.ko(\.\w+)?$/, '').replace(/-/g, '_'), mod);
  }
  const order: string[] = [];
  const visit = (mod: string): void => {
    if (order.includes(mod)) return;
    for (const d of deps.get(mod) ?? []) visit(d);
    order.push(mod);
  };
  for (const n of names) {
    const mod = byName.get(n.replace(/-/g, '_'));
    if (mod) visit(mod);
    else if (!optional.has(n)) throw new UserError(`kernel module ${n} not found in modules.dep`, { hint: 'check the name (modinfo), or build it into the kernel' });
  }
  return order;
}

/** Build (or reuse) the initramfs for `kernel` with `extraModules` loaded at boot. Returns its path. */
export interface InitramfsFlavour {
  /** Modules loaded when present (built-in is fine). Default: baseModules. */
  base: string[];
  /** The /init for the module files (in load order). Default: the harness guest's initScript. */
  init: (moduleFiles: string[]) => string;
}

export async function buildInitramfs(kernel: VmKernel, extraModules: string[] = [], cacheDir = defaultInitramfsCache, flavour: InitramfsFlavour = { base: baseModules, init: initScript }): Promise<string> {
  if (!existsSync(busybox)) throw new UserError('busybox is missing', { hint: 'apt-get install busybox-static' });
  let mods: string[] = [];
  if (kernel.modulesDir) {
    const depPath = join(kernel.modulesDir, 'modules.dep');
    if (!existsSync(depPath)) throw new UserError(`no modules.dep in ${kernel.modulesDir}`, { hint: `run depmod -b <root> ${kernel.release}` });
    mods = moduleLoadOrder(readFileSync(depPath, 'utf8'), [...flavour.base, ...extraModules], new Set(flavour.base));
  } else if (extraModules.length) {
    throw new UserError(`extra modules ${extraModules.join(', ')} requested but the kernel has no modules directory`, { hint: 'build them in, or pass modulesDir' });
  }
  const init = flavour.init(mods.map((m) => basename(m)));
  const h = createHash('sha256').update(readFileSync(busybox)).update(init).update(kernel.release);
  for (const m of mods) h.update(m).update(readFileSync(join(kernel.modulesDir ?? '', m)));
  const out = join(cacheDir, `${h.digest('hex').slice(0, 16)}.cpio.gz`);
  // An archive of a few bytes is what an earlier build left when its cpio was missing: rebuild it.
  if (existsSync(out) && statSync(out).size >= minArchiveBytes) return out;
  mkdirSync(cacheDir, { recursive: true });
  const tmp = mkdtempSync(join(cacheDir, '.build-'));
  try {
    const root = join(tmp, 'root');
    for (const d of ['bin', 'modules', 'proc', 'sys', 'dev', 'ro', 'rw', 'newroot']) mkdirSync(join(root, d), { recursive: true });
    copyFileSync(busybox, join(root, 'bin/busybox'));
    chmodSync(join(root, 'bin/busybox'), 0o755);
    for (const m of mods) copyFileSync(join(kernel.modulesDir ?? '', m), join(root, 'modules', basename(m)));
    writeFileSync(join(root, 'init'), init, { mode: 0o755 });
    // busybox's own cpio (busybox-static is needed anyway; Debian's cpio package may be absent),
    // with pipefail: a failing cpio must not leave an empty archive that the kernel cannot unpack.
    const r = await execa('bash', ['-c', `set -o pipefail; cd '${root}' && find . | '${busybox}' cpio -o -H newc | gzip -1 > '${tmp}/out.gz'`], { reject: false, all: true });
    if (r.exitCode !== 0 || statSync(join(tmp, 'out.gz')).size < minArchiveBytes) throw new UserError(`building the VM initramfs failed (exit ${r.exitCode}): ${(r.all ?? '').trim().split('\n').slice(-2).join(' | ')}`, { hint: `check that ${busybox} has the cpio applet (apt-get install busybox-static)` });
    renameSync(join(tmp, 'out.gz'), out);
  } finally { rmSync(tmp, { recursive: true, force: true }); }
  return out;
}
