// Which tunbench made a result: the git commit of the checkout it ran from, "+dirty" when its
// tracked files differ from that commit; null outside a git checkout (an npm package) or without git.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

let cached: string | null | undefined;

export function toolCommit(): string | null {
  if (cached !== undefined) return cached;
  const git = (args: string[]): string => execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  try {
    const head = git(['rev-parse', '--short=12', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
    cached = `${head}${dirty ? '+dirty' : ''}`;
  } catch {
    cached = null;
  }
  return cached;
}
