// Which accelerator works: /dev/kvm can exist yet hang a stock kernel (nested, paravirt-only), so
// KVM is tried for real: a short boot that must reach the command and return. Cached per process.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import type { VmKernel } from './kernel-fetch.ts';
import { fetchDebianKernel } from './kernel-fetch.ts';

export interface AccelChoice { accel: 'kvm' | 'tcg'; reason: string }
/** Seconds the KVM trial boot may take before KVM is declared unusable. */
export const kvmTrialSeconds = 25;
let cached: Promise<AccelChoice> | null = null;

export function detectAccel(kernel?: VmKernel): Promise<AccelChoice> {
  cached ??= probe(kernel);
  return cached;
}

async function probe(kernel?: VmKernel): Promise<AccelChoice> {
  if (!existsSync('/dev/kvm')) return { accel: 'tcg', reason: '/dev/kvm does not exist' };
  const k = kernel ?? await fetchDebianKernel();
  const { runInVm } = await import('./run-in-vm.ts');
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
