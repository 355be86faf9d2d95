// A two-commit kernel series on the supported tree, as a git repository under the kernel
// cache (.cache/kernel/series-fixture/linux), for the series test and bench/series-build.ts:
//   base: Debian's linux-source-6.1 with tunbench's patches (kernel/patches/*.patch, in order);
//   tip:  a one-line change on top: DRV_DESCRIPTION in drivers/net/tun.c (the guest prints it
//         when tun registers: "tun: Universal TUN/TAP device driver (series tip), 1.6").
// The commits are made with fixed names and dates, so the same tarball and patches give the
// same commit ids every time: a repository made again maps to the same cached builds.
// Made once (tar -xJf, patch, git add: about 2 minutes on 2 CPUs) and reused while the
// tarball's version and the patches are unchanged.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

export const TARBALL = '/usr/src/linux-source-6.1.tar.xz';
const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const PATCHES = join(ROOT, 'kernel/patches');
export const TIP_LINE = 'Universal TUN/TAP device driver (series tip)';

const ENV = {
  LC_ALL: 'C', GIT_AUTHOR_NAME: 'tunbench', GIT_AUTHOR_EMAIL: 'tunbench@localhost', GIT_COMMITTER_NAME: 'tunbench', GIT_COMMITTER_EMAIL: 'tunbench@localhost',
  GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z', GIT_CONFIG_NOSYSTEM: '1', HOME: '/nonexistent',
};

export interface SeriesRepo {
  repo: string;
  base: string;
  tip: string;
  /** seconds spent making it now (0: reused) */
  seconds: number;
}

/** The fixture's identity: the tarball's version and every patch. */
async function stamp(): Promise<string> {
  const v = await execa('dpkg-query', ['-W', '-f', '${Version}', 'linux-source-6.1'], { reject: false });
  const h = createHash('sha256').update(`${v.stdout}\n`);
  for (const p of readdirSync(PATCHES).filter((f) => f.endsWith('.patch')).sort()) h.update(`${p}\n`).update(readFileSync(join(PATCHES, p)));
  return h.digest('hex').slice(0, 16);
}

/** null when the tarball is not installed (apt-get install linux-source-6.1). */
export async function kernelSeriesRepo(cacheDir = join(ROOT, '.cache/kernel'), log: (l: string) => void = () => undefined): Promise<SeriesRepo | null> {
  if (!existsSync(TARBALL)) return null;
  const top = join(cacheDir, 'series-fixture');
  const repo = join(top, 'linux');
  const mark = join(top, 'made');
  const id = await stamp();
  const git = (args: string[], o: { input?: string } = {}) => execa('git', ['-C', repo, '-c', 'core.compression=1', '-c', 'commit.gpgsign=false', '-c', 'gc.auto=0', ...args], { env: ENV, extendEnv: true, ...o });
  if (existsSync(mark) && readFileSync(mark, 'utf8').trim() === id) {
    const base = (await git(['rev-parse', 'refs/heads/base'])).stdout.trim();
    const tip = (await git(['rev-parse', 'refs/heads/tip'])).stdout.trim();
    return { repo, base, tip, seconds: 0 };
  }
  const t0 = Date.now();
  rmSync(top, { recursive: true, force: true });
  mkdirSync(repo, { recursive: true });
  log(`series fixture: unpacking ${TARBALL} into ${repo}`);
  await execa('tar', ['-xJf', TARBALL, '-C', repo, '--strip-components=1']);
  for (const p of readdirSync(PATCHES).filter((f) => f.endsWith('.patch')).sort()) {
    await execa('patch', ['-d', repo, '-p1', '-s', '--no-backup-if-mismatch', '-i', join(PATCHES, p)]);
  }
  log('series fixture: git add (about 80,000 files)');
  await git(['init', '-q', '-b', 'base']);
  await git(['add', '-A', '-f']);
  await git(['commit', '-q', '-m', 'base: linux-source-6.1 with tunbench kernel/patches']);
  const tun = join(repo, 'drivers/net/tun.c');
  const text = readFileSync(tun, 'utf8');
  const line = /^#define DRV_DESCRIPTION\t"Universal TUN\/TAP device driver"$/m;
  if (!line.test(text)) throw new Error(`${tun}: no DRV_DESCRIPTION line to change`);
  writeFileSync(tun, text.replace(line, `#define DRV_DESCRIPTION\t"${TIP_LINE}"`));
  await git(['checkout', '-q', '-b', 'tip']);
  await git(['commit', '-q', '-am', 'tun: a one-line change (DRV_DESCRIPTION)']);
  const base = (await git(['rev-parse', 'refs/heads/base'])).stdout.trim();
  const tip = (await git(['rev-parse', 'refs/heads/tip'])).stdout.trim();
  writeFileSync(mark, `${id}\n`);
  return { repo, base, tip, seconds: (Date.now() - t0) / 1000 };
}
