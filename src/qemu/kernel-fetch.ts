// Kernels a VM can boot: Debian's packaged kernel (fetched with apt, unpacked into the cache)
// or a bzImage at a path (e.g. a user build, modules optional).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { UserError } from '../errors.ts';

export interface VmKernel { image: string; modulesDir: string | null; release: string; source: 'debian-package' | 'path' }

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** Default cache: <repo>/.cache/vm/kernels/<release>/ (git-ignored). */
export const defaultKernelCache = join(repoRoot, '.cache/vm/kernels');

/** The linux-image-* package that linux-image-amd64 depends on now. */
async function currentKernelPackage(): Promise<string> {
  const r = await execa('apt-cache', ['depends', 'linux-image-amd64'], { reject: false });
  const m = /Depends:\s*(linux-image-[^\s]+)/.exec(r.stdout);
  if (r.exitCode !== 0 || !m?.[1]) throw new UserError('cannot find the Debian kernel package (apt-cache depends linux-image-amd64 failed)', { hint: 'run apt-get update, or pass package explicitly' });
  return m[1];
}

function unpackedKernel(dir: string): VmKernel | null {
  const mods = join(dir, 'lib/modules');
  if (!existsSync(mods)) return null;
  const release = readdirSync(mods)[0];
  if (!release) return null;
  const image = join(dir, 'boot', `vmlinuz-${release}`);
  if (!existsSync(image)) return null;
  return { image, modulesDir: join(mods, release), release, source: 'debian-package' };
}

/** Fetch (apt-get download) and unpack (dpkg -x) a Debian kernel package; cached per package name. */
export async function fetchDebianKernel(opts: { cacheDir?: string; package?: string } = {}): Promise<VmKernel> {
  const cacheDir = opts.cacheDir ?? defaultKernelCache;
  const pkg = opts.package ?? await currentKernelPackage();
  if (!/^linux-image-[\w.+-]+$/.test(pkg)) throw new UserError(`not a kernel image package name: ${pkg}`);
  const ver = pkg.replace(/^linux-image-/, '');
  const dest = join(cacheDir, ver);
  const cached = unpackedKernel(dest);
  if (cached && existsSync(join(cached.modulesDir ?? '', 'modules.dep'))) return cached;
  mkdirSync(cacheDir, { recursive: true });
  const tmp = mkdtempSync(join(cacheDir, '.fetch-'));
  try {
    const dl = await execa('apt-get', ['download', pkg], { cwd: tmp, reject: false, timeout: 300_000 });
    if (dl.exitCode !== 0) throw new UserError(`apt-get download ${pkg} failed: ${dl.stderr.trim().split('\n').pop() ?? ''}`, { hint: 'check apt sources and network (apt-get update), or boot a kernel by path' });
    const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (!deb) throw new UserError(`apt-get download ${pkg} produced no .deb`);
    await execa('dpkg', ['-x', join(tmp, deb), join(tmp, 'x')]);
    rmSync(dest, { recursive: true, force: true });
    renameSync(join(tmp, 'x'), dest);
  } finally { rmSync(tmp, { recursive: true, force: true }); }
  const k = unpackedKernel(dest);
  if (k && !existsSync(join(k.modulesDir ?? '', 'modules.dep'))) await execa('depmod', ['-b', dest, k.release]); // the package ships no modules.dep
  if (!k) throw new UserError(`${pkg} unpacked into ${dest} but has no boot/vmlinuz-* and lib/modules/*`);
  return k;
}

/** Release string from an x86 bzImage's setup header (kernel_version field). Throws UserError if not a bzImage. */
export function bzImageRelease(image: string): string {
  let buf: Buffer;
  try { buf = readFileSync(image); } catch (e) { throw new UserError(`kernel image not readable: ${image} (${(e as Error).message})`, { hint: 'pass the path of a bzImage (arch/x86/boot/bzImage)' }); }
  if (buf.length < 0x300 || buf.toString('latin1', 0x202, 0x206) !== 'HdrS') throw new UserError(`not an x86 bzImage: ${image}`, { hint: 'pass arch/x86/boot/bzImage or /boot/vmlinuz-*' });
  const off = buf.readUInt16LE(0x20e) + 0x200;
  const end = buf.indexOf(0, off);
  const release = buf.toString('latin1', off, end > off ? end : off + 64).split(' ')[0] ?? '';
  if (!release) throw new UserError(`cannot read the kernel version from ${image}`);
  return release;
}

/** A kernel image at a path; modulesDir (lib/modules/<release>) optional for kernels with everything built in. */
export function kernelFromPath(image: string, modulesDir: string | null = null): VmKernel {
  const abs = resolve(image);
  const release = bzImageRelease(abs);
  if (modulesDir !== null && !existsSync(join(modulesDir, 'modules.dep'))) throw new UserError(`no modules.dep in ${modulesDir}`, { hint: 'pass lib/modules/<release> of the kernel, or null' });
  return { image: abs, modulesDir: modulesDir === null ? null : resolve(modulesDir), release, source: 'path' };
}
