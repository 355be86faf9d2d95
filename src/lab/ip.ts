// Thin wrapper around iproute2's `ip`, with errors that say which command failed.
import { execa } from 'execa';
import { UserError } from '../errors.ts';

export async function ip(args: string[], opts: { netns?: string; reject?: boolean } = {}): Promise<string> {
  const full = opts.netns ? ['-n', opts.netns, ...args] : args;
  const r = await execa('ip', full, { reject: false, timeout: 15_000 });
  if (r.exitCode !== 0 && opts.reject !== false) {
    const msg = (r.stderr || r.stdout || String(r.exitCode)).trim().split('\n')[0];
    throw new UserError(`'ip ${full.join(' ')}' failed: ${msg}`, {
      hint: r.failed && (r as { code?: string }).code === 'ENOENT' ? 'install iproute2 (apt-get install iproute2)' : 'run as root on a kernel with network namespaces and tun',
    });
  }
  return r.stdout;
}

export async function listNetns(): Promise<string[]> {
  const out = await ip(['netns', 'list'], { reject: false });
  return out.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean);
}
