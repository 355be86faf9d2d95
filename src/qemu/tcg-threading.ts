// Multi-threaded or single-threaded TCG: read QEMU's version once and pick `-accel tcg` (one
// host thread per vCPU, QEMU's default) or `-accel tcg,thread=single` (all vCPUs on one host
// thread, round-robin).
//
// Why: measured on the development machines (2-vCPU TCG guests, Debian's 6.1 kernel, node
// started 16 times per boot importing two project modules through tsx; see "QEMU:
// multi-threaded TCG corrupts guests on Debian 12's QEMU 7.2" in the platform notes):
//   QEMU 7.2 (Debian 12), multi-threaded TCG, 2 vCPUs: 14 of 60 starts died (segfaults, wasm
//     "memory access out of bounds", SyntaxErrors in good files), quiet host and loaded alike;
//   QEMU 7.2, -smp 1: 0 of 12; QEMU 7.2, thread=single with 2 vCPUs: 0 of 12, 1.8x slower;
//   QEMU 10.0 (bookworm-backports), multi-threaded, 2 vCPUs: 0 of 60.
// Nothing was measured between 7.2 and 10.0, and no upstream fix was pinned down, so every
// QEMU before 8.0 is treated as corrupting multi-threaded guests and 8.0 or later as fine.
// If 8.x or 9.x turn out bad, raise `firstGoodMajor`.
import { execFileSync } from 'node:child_process';
import { qemuBinary } from './qemu.ts';

export interface QemuVersion { major: number; minor: number; micro: number; text: string }

/** TCG threading the runner chose, as recorded in the result (environment.vm.tcgThreading). */
export interface TcgThreading {
  /** 'multi': QEMU's default (one host thread per vCPU); 'single': -accel tcg,thread=single. */
  mode: 'multi' | 'single';
  /** The version QEMU reported (e.g. "7.2.22"), or null when it could not be read. */
  qemuVersion: string | null;
  reason: string;
}

/** First QEMU major version whose multi-threaded TCG is trusted (see the header). */
export const firstGoodMajor = 8;

/** "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)" -> 7.2.22; null if no version line. */
export function parseQemuVersion(output: string): QemuVersion | null {
  const m = /QEMU emulator version (\d+)\.(\d+)(?:\.(\d+))?/.exec(output);
  if (!m) return null;
  const [major, minor, micro] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  return { major, minor, micro, text: `${major}.${minor}.${micro}` };
}

const versions = new Map<string, QemuVersion | null>();

/** `qemu-system-x86_64 --version`, read once per binary and process; null if it does not run or says no version. */
export function qemuVersion(binary = qemuBinary): QemuVersion | null {
  if (!versions.has(binary)) {
    let v: QemuVersion | null = null;
    try { v = parseQemuVersion(execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] })); } catch { /* missing: the run itself says so */ }
    versions.set(binary, v);
  }
  return versions.get(binary) ?? null;
}

/** The threading for a TCG guest with `cpus` vCPUs on this QEMU, and a warning when it had to fall back. */
export function chooseTcgThreading(version: QemuVersion | null, cpus: number): TcgThreading & { warning: string | null } {
  const qemuVersion = version?.text ?? null;
  if (cpus <= 1) return { mode: 'multi', qemuVersion, reason: 'one vCPU: nothing runs in parallel (QEMU 7.2 at one vCPU: 0 of 12 node starts failed)', warning: null };
  if (version === null) return { mode: 'multi', qemuVersion, reason: `QEMU's version could not be read (${qemuBinary} --version): its default, multi-threaded TCG`, warning: null };
  if (version.major < firstGoodMajor) {
    return {
      mode: 'single', qemuVersion,
      reason: `QEMU ${version.text} is older than ${firstGoodMajor}.0: multi-threaded TCG corrupted 2-vCPU guests on QEMU 7.2 (14 of 60 node starts died; 0 of 60 on QEMU 10.0), so the ${cpus} vCPUs share one host thread`,
      warning: `QEMU ${version.text} corrupts multi-threaded TCG guests now and then, so the VM ran its ${cpus} vCPUs on one host thread (-accel tcg,thread=single: about 1.8x slower); install QEMU 8 or later (Debian 12: apt-get install -t bookworm-backports qemu-system-x86, which bash scripts/setup.sh --test does)`,
    };
  }
  return { mode: 'multi', qemuVersion, reason: `QEMU ${version.text}: multi-threaded TCG (QEMU 10.0: 0 of 60 node starts failed in 2-vCPU guests)`, warning: null };
}

/** The -accel value: 'kvm', 'tcg' or 'tcg,thread=single'. */
export function accelArg(accel: 'kvm' | 'tcg', threading: Pick<TcgThreading, 'mode'> | null): string {
  return accel === 'tcg' && threading?.mode === 'single' ? 'tcg,thread=single' : accel;
}
