// Which accelerator works: /dev/kvm can exist yet hang a stock kernel (nested, paravirt-only), so
// KVM is tried for real: a short boot that must reach the command and return. Cached per process.
// It boots through run-in-vm.ts, which takes the accelerator as given and never imports this
// module (no import cycle).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import type { VmKernel } from './kernel-fetch.ts';
import { fetchDebianKernel, repoRoot } from './kernel-fetch.ts';
import { runInVm } from './run-in-vm.ts';

export interface AccelChoice { accel: 'kvm' | 'tcg'; reason: string }
/** Seconds the KVM trial boot may take before KVM is declared unusable. */
export const kvmTrialSeconds = 25;
let cached: Promise<AccelChoice> | null = null;

/** The outcome is also kept on disk for this boot of the host and this kernel image, since a
 * failed KVM trial costs kvmTrialSeconds every time (.cache/vm/accel-<boot id>.json). */
export function detectAccel(kernel?: VmKernel): Promise<AccelChoice> {
  cached ??= (async () => {
    const k = kernel ?? (existsSync('/dev/kvm') ? await fetchDebianKernel() : undefined);
    const file = join(repoRoot, '.cache/vm', `accel-${bootId()}.json`);
    const key = k ? `${k.image}:${statSync(k.image).mtimeMs}` : 'no-kvm';
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, AccelChoice>;
      if (saved[key]) return { ...saved[key], reason: `${saved[key].reason} (found earlier in this boot of the host)` };
    } catch { /* none yet */ }
    const choice = await probe(k);
    try {
      mkdirSync(join(repoRoot, '.cache/vm'), { recursive: true });
      let saved: Record<string, AccelChoice> = {};
      try { saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, AccelChoice>; } catch { /* new file */ }
      writeFileSync(file, JSON.stringify({ ...saved, [key]: choice }));
    } catch { /* the cache is an optimisation only */ }
    return choice;
  })();
  return cached;
}

function bootId(): string {
  try { return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(); } catch { return 'unknown'; }
}

async function probe(kernel?: VmKernel): Promise<AccelChoice> {
  if (!existsSync('/dev/kvm')) return { accel: 'tcg', reason: '/dev/kvm does not exist' };
  const k = kernel ?? await fetchDebianKernel();
  const dir = mkdtempSync(join(tmpdir(), 'tbvm-kvm-'));
  const consoleLog = join(dir, 'console.log');
  try {
    const r = await runInVm({ kernel: k, command: ['true'], cwd: '/', outputDir: join(dir, 'out'), accel: 'kvm', timeoutSeconds: kvmTrialSeconds, consoleLog });
    if (r.exitCode === 0) return { accel: 'kvm', reason: `KVM trial boot of ${k.release} ran a command in ${r.totalSeconds.toFixed(1)} s` };
    return { accel: 'tcg', reason: `KVM trial boot of ${k.release}: command exited ${r.exitCode}` };
  } catch (e) {
    if (e instanceof UserError) return { accel: 'tcg', reason: `KVM trial boot of ${k.release} failed: ${e.message.replace(/ \(console log.*$/, '')}` };
    throw e;
  } finally { rmSync(dir, { recursive: true, force: true }); }
}
