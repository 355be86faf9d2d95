// The VM's initramfs: busybox-static, a generated /init, and the kernel modules it needs (with
// their dependencies from modules.dep, loaded in order); a flavour may add host binaries with
// their shared libraries (the guest consumer's iperf3). Cached by content hash in .cache/vm/initramfs/.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, mkdtempSync, chmodSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
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
  /** Host files copied in (each at `dest`, mode 0755). Default: none (and then the cache key is
   * exactly what it was before files existed). */
  files?: InitramfsFile[];
}

/** A host file for the initramfs: `src` on the host, `dest` its absolute path inside the archive. */
export interface InitramfsFile { src: string; dest: string }

/**
 * Parse `ldd BINARY`: the path of every shared library it loads (NEEDED, resolved recursively
 * by the dynamic loader itself) and of the loader (PT_INTERP), in ldd's order. The vDSO has no
 * file and is left out. Libraries ldd cannot find are returned in `missing`.
 */
export function parseLdd(text: string): { paths: string[]; missing: string[]; isStatic: boolean } {
  const paths: string[] = [];
  const missing: string[] = [];
  let isStatic = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (/statically linked|not a dynamic executable/.test(line)) { isStatic = true; continue; }
    let m = /^(\S+) => not found/.exec(line);
    if (m) { missing.push(m[1]!); continue; }
    m = /^\S+ => (\/\S+) \(0x[0-9a-f]+\)$/.exec(line) ?? /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    if (m && !paths.includes(m[1]!)) paths.push(m[1]!);
  }
  return { paths, missing, isStatic };
}

/**
 * `binary` (at `dest`) and every shared library and the dynamic loader it needs, each at the
 * path the loader looks for it (ldd's answer; a symlink is copied as the file it points to).
 * Throws a UserError naming what is missing.
 */
export function binaryWithLibraries(binary: string, dest = `/bin/${basename(binary)}`): InitramfsFile[] {
  if (!isAbsolute(binary) || !existsSync(binary)) throw new UserError(`${binary} does not exist`, { hint: 'give the absolute path of an installed program' });
  let text: string;
  try {
    text = execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: string };
    // ldd exits 1 on a static binary ("not a dynamic executable"): that is fine.
    text = `${err.stdout ?? ''}\n${err.stderr ?? ''}`;
    if (err.code === 'ENOENT') throw new UserError('ldd is missing: the shared libraries of a guest binary cannot be resolved', { hint: 'apt-get install libc-bin' });
    if (!/not a dynamic executable|statically linked/.test(text)) throw new UserError(`ldd ${binary} failed: ${text.trim().split('\n')[0] || 'no output'}`, { hint: 'the program must be an ELF binary for this machine' });
  }
  const r = parseLdd(text);
  if (r.missing.length > 0) throw new UserError(`${binary} needs shared libraries that are not installed: ${r.missing.join(', ')}`, { hint: `reinstall its package (dpkg -S ${binary}; apt-get install --reinstall <package>)` });
  if (!r.isStatic && r.paths.length === 0) throw new UserError(`ldd ${binary} listed no libraries and no dynamic loader`, { hint: 'check the binary (file, ldd)' });
  return [{ src: binary, dest }, ...r.paths.map((p) => ({ src: p, dest: p }))];
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
  for (const f of flavour.files ?? []) h.update(`file ${f.dest}`).update(readFileSync(f.src));
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
    for (const f of flavour.files ?? []) {
      const to = join(root, f.dest);
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(f.src, to);
      chmodSync(to, 0o755);
    }
    writeFileSync(join(root, 'init'), init, { mode: 0o755 });
    // busybox's own cpio (busybox-static is needed anyway; Debian's cpio package may be absent),
    // with pipefail: a failing cpio must not leave an empty archive that the kernel cannot unpack.
    const r = await execa('bash', ['-c', `set -o pipefail; cd '${root}' && find . | '${busybox}' cpio -o -H newc | gzip -1 > '${tmp}/out.gz'`], { reject: false, all: true });
    if (r.exitCode !== 0 || statSync(join(tmp, 'out.gz')).size < minArchiveBytes) throw new UserError(`building the VM initramfs failed (exit ${r.exitCode}): ${(r.all ?? '').trim().split('\n').slice(-2).join(' | ')}`, { hint: `check that ${busybox} has the cpio applet (apt-get install busybox-static)` });
    renameSync(join(tmp, 'out.gz'), out);
  } finally { rmSync(tmp, { recursive: true, force: true }); }
  return out;
}
