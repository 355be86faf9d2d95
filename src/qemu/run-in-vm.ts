// Boot a kernel in QEMU on the host's filesystem and run one command inside as root.
// The accelerator is the caller's choice (accel.ts's detectAccel finds one; it boots through
// this module, so this module must not import it back).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { UserError } from '../errors.ts';
import type { VmKernel } from './kernel-fetch.ts';
import { buildInitramfs } from './initramfs.ts';
import { marker } from './init-script.ts';
import { qemuBinary, runQemu } from './qemu.ts';
import { qmpArgs } from './qmp.ts';
import { accelArg, chooseTcgThreading, qemuVersion, type TcgThreading } from './tcg-threading.ts';

export interface RunInVmOptions {
  kernel: VmKernel;
  /** Run inside the guest as root, cwd = `cwd` (the same path as on the host). */
  command: string[];
  cwd: string;
  /** Shared read-write into the guest at the same path. Created if missing. */
  outputDir: string;
  /** Default 1024. */
  memoryMiB?: number;
  /** Default 1. */
  cpus?: number;
  /** KVM or TCG: detectAccel() (accel.ts) says which works. Under TCG with more than one vCPU
   * the threading follows QEMU's version (tcg-threading.ts). */
  accel: 'kvm' | 'tcg';
  timeoutSeconds: number;
  /** Path: the full console is kept there. */
  consoleLog: string;
  /** Loaded at boot from kernel.modulesDir, e.g. pktgen, vhost_net. */
  extraModules?: string[];
  env?: Record<string, string>;
  /** Extra raw QEMU args (-netdev/-device) for later. Default none: loopback only. */
  netdevs?: string[];
  /** Called once the guest has booted (its init is about to run the command), with seconds since QEMU started. */
  onBooted?: (seconds: number) => void;
  /** Every console line printed after the guest booted (the command's output), e.g. to show progress. */
  onOutput?: (line: string) => void;
  /** Warnings about how the VM runs (e.g. single-threaded TCG on an old QEMU). Default: printed to stderr. */
  onWarning?: (message: string) => void;
  /** Inactivity watchdog (see runQemu): kill the VM after this long without a console line. */
  idle?: { seconds: () => number; paused?: () => boolean };
  /** Kill the VM when aborted. */
  signal?: AbortSignal;
  /** Appended to the kernel command line. */
  cmdline?: string;
  /** A QMP socket (qmp.ts) for pausing and resuming the VM. */
  qmpSocket?: string;
}
export interface VmRunResult {
  exitCode: number;
  accel: 'kvm' | 'tcg';
  /** Under TCG: multi- or single-threaded, and why. null under KVM. */
  tcgThreading: TcgThreading | null;
  bootSeconds: number;
  totalSeconds: number;
  consoleLog: string;
}

/** How a VM run failed before the command's exit status was known. */
/** qemu-error: QEMU itself refused to start the VM (its own error line, before the guest booted). */
export type VmFailureKind = 'qemu-error' | 'guest-setup' | 'kernel-panic' | 'timeout-boot' | 'timeout-command' | 'timeout-idle' | 'no-exit-status';
/** A failed VM run: a UserError (message names the console log) with the kind of failure, for callers that retry. */
export class VmRunError extends UserError {
  constructor(readonly kind: VmFailureKind, message: string, opts: { hint?: string } = {}) {
    super(message, opts);
  }
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const safePath = (what: string, p: string): string => {
  const a = resolve(p);
  if (/[\s,'"\\]/.test(a)) throw new UserError(`${what} path must not contain spaces, commas, quotes or backslashes: ${a}`);
  return a;
};

/** The guest's job script: environment, cwd, then the command. */
export function jobScript(command: string[], cwd: string, env: Record<string, string>): string {
  const lines = ['export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb'];
  for (const [k, v] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new UserError(`bad environment variable name: ${k}`);
    lines.push(`export ${k}=${q(v)}`);
  }
  lines.push(`cd ${q(cwd)} || exit 126`, `exec ${command.map(q).join(' ')}`);
  return lines.join('\n') + '\n';
}

export function qemuArgs(o: { kernel: string; initrd: string; accel: 'kvm' | 'tcg'; threading?: Pick<TcgThreading, 'mode'> | null; memoryMiB: number; cpus: number; jobDir: string; outputDir: string; extra: string[]; cmdline?: string }): string[] {
  if (o.cmdline && /[\n\r'"\\]/.test(o.cmdline)) throw new UserError(`vm.cmdline must be one line without quotes or backslashes: ${o.cmdline}`);
  const fs9p = (id: string, path: string, ro: boolean): string[] => [
    '-fsdev', `local,id=${id},path=${path},security_model=none,multidevs=remap${ro ? ',readonly=on' : ''}`,
    '-device', `virtio-9p-pci,fsdev=${id},mount_tag=${id}`,
  ];
  return [
    '-accel', accelArg(o.accel, o.threading ?? null), '-cpu', o.accel === 'kvm' ? 'host' : 'max', '-m', String(o.memoryMiB), '-smp', String(o.cpus),
    '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot', '-nic', 'none',
    '-kernel', o.kernel, '-initrd', o.initrd,
    '-append', `console=ttyS0 panic=-1 quiet loglevel=4 rdinit=/init${o.cmdline ? ` ${o.cmdline}` : ''}`,
    ...fs9p('hostroot', '/', true), ...fs9p('tbjob', o.jobDir, false), ...fs9p('tbout', o.outputDir, false),
    ...o.extra,
  ];
}

const panicRe = /Kernel panic|end Kernel panic|VFS: Unable to mount root|Attempted to kill init/;

/** The last line QEMU printed about itself ("qemu-system-x86_64: ...", "qemu: could not load PC BIOS ..."), or null. */
export function qemuErrorLine(consoleLog: string): string | null {
  let text = '';
  try { text = readFileSync(consoleLog, 'latin1'); } catch { return null; }
  const name = basename(qemuBinary);
  return text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith(`${name}: `) || /^qemu(-system-\w+)?: /.test(l)).at(-1)?.slice(0, 300) ?? null;
}

/** The TCG threading for this run (null under KVM), its warning reported once. */
export function tcgThreadingFor(accel: 'kvm' | 'tcg', cpus: number, warn: (message: string) => void): TcgThreading | null {
  if (accel !== 'tcg') return null;
  const { warning, ...choice } = chooseTcgThreading(qemuVersion(), cpus);
  if (warning) warn(warning);
  return choice;
}

export async function runInVm(o: RunInVmOptions): Promise<VmRunResult> {
  if (o.command.length === 0) throw new UserError('runInVm: empty command');
  if (!(o.timeoutSeconds > 0)) throw new UserError('runInVm: timeoutSeconds must be > 0');
  if (!existsSync(o.kernel.image) || !statSync(o.kernel.image).isFile()) throw new UserError(`kernel image not found: ${o.kernel.image}`, { hint: 'fetchDebianKernel() or kernelFromPath(<bzImage>)' });
  const cwd = safePath('cwd', o.cwd);
  if (!existsSync(cwd)) throw new UserError(`cwd does not exist on the host: ${cwd}`);
  const outputDir = safePath('outputDir', o.outputDir);
  mkdirSync(outputDir, { recursive: true });
  const t0 = performance.now();
  const accel = o.accel;
  if (accel !== 'kvm' && accel !== 'tcg') throw new UserError(`runInVm: accel must be kvm or tcg (detectAccel() picks one), not ${String(accel)}`);
  const cpus = o.cpus ?? 1;
  const threading = tcgThreadingFor(accel, cpus, o.onWarning ?? ((m) => process.stderr.write(`tunbench: warning: ${m}\n`)));
  const initrd = await buildInitramfs(o.kernel, o.extraModules ?? []);
  const jobDir = mkdtempSync(join(tmpdir(), 'tbvm-job-'));
  try {
    writeFileSync(join(jobDir, 'run.sh'), jobScript(o.command, cwd, o.env ?? {}));
    writeFileSync(join(jobDir, 'outdir'), outputDir);
    writeFileSync(join(jobDir, 'modules'), o.kernel.modulesDir ? safePath('modulesDir', o.kernel.modulesDir) : '');
    let bootSeconds = NaN;
    let guestError: string | null = null;
    let panic: string | null = null;
    let markerRc: number | null = null;
    const res = await runQemu({
      args: qemuArgs({ kernel: o.kernel.image, initrd, accel, threading, memoryMiB: o.memoryMiB ?? 1024, cpus, jobDir, outputDir, extra: [...(o.qmpSocket ? qmpArgs(o.qmpSocket) : []), ...(o.netdevs ?? [])], ...(o.cmdline ? { cmdline: o.cmdline } : {}) }),
      consoleLog: o.consoleLog,
      timeoutSeconds: o.timeoutSeconds,
      ...(o.idle ? { idle: o.idle } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      onLine: (line, s) => {
        if (line.startsWith(marker.booted)) { bootSeconds = s; o.onBooted?.(s); }
        const m = new RegExp(`^${marker.exit} rc=(\\d+)`).exec(line);
        if (m?.[1]) {
          markerRc = Number(m[1]);
          // The guest powers off next; a kernel without ACPI only halts and QEMU would wait.
          return { stopAfterMs: 3000 };
        }
        if (!Number.isNaN(bootSeconds) && markerRc === null && !line.startsWith(marker.booted)) o.onOutput?.(line);
        if (line.startsWith(marker.error)) { guestError = line.slice(marker.error.length).trim(); return 'stop'; }
        if (panicRe.test(line)) { panic = line.trim(); return 'stop'; }
      },
    });
    const where = `console log: ${o.consoleLog}`;
    if (guestError !== null) throw new VmRunError('guest-setup', `VM setup failed in the guest: ${guestError} (${where})`);
    if (panic !== null) throw new VmRunError('kernel-panic', `VM boot failed: ${panic} (${where})`);
    if (res.idleTimedOut) {
      throw new VmRunError('timeout-idle', `the guest printed nothing for ${res.idleSeconds} s (inactivity watchdog); QEMU killed, its console kept (${where})`, { hint: 'read the console log; under TCG raise vm.slowdown (it scales the watchdog) if the guest was only slow' });
    }
    if (res.timedOut) {
      const booted = !Number.isNaN(bootSeconds);
      throw new VmRunError(booted ? 'timeout-command' : 'timeout-boot', `VM timed out after ${o.timeoutSeconds} s ${booted ? 'while running the command' : 'before the command started (boot hung)'}; QEMU killed (${where})`, { hint: 'raise timeoutSeconds, or check the console log' });
    }
    const exitFile = join(jobDir, 'exit');
    const fileRc = existsSync(exitFile) ? Number(readFileSync(exitFile, 'utf8').trim()) : null;
    const exitCode = fileRc ?? markerRc;
    if (exitCode === null || Number.isNaN(exitCode)) {
      // QEMU's own complaint (e.g. "qemu-system-x86_64: fatal: could not load module ..."), if it never started the guest.
      const qemuSaid = Number.isNaN(bootSeconds) && res.exitCode !== 0 ? qemuErrorLine(o.consoleLog) : null;
      if (qemuSaid) throw new VmRunError('qemu-error', `QEMU could not start the VM (exit ${res.exitCode}): ${qemuSaid} (${where})`, { hint: `check the QEMU installation (${qemuBinary} --version; apt-get install qemu-system-x86)` });
    }
    if (exitCode === null || Number.isNaN(exitCode)) throw new VmRunError('no-exit-status', `VM ended (QEMU exit ${res.exitCode}) without the command's exit status (${where})`);
    return { exitCode, accel, tcgThreading: threading, bootSeconds, totalSeconds: (performance.now() - t0) / 1000, consoleLog: o.consoleLog };
  } finally {
    rmSync(jobDir, { recursive: true, force: true });
  }
}
