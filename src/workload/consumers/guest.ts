// The guest consumer: a QEMU guest whose virtio-net NIC is backed by the lab's tap, so the
// tap's reader is QEMU (its userspace tap backend reads the tap fd in the QEMU process) or,
// with vhost on, the vhost-<qemu pid> kernel thread (tun_recvmsg). The guest is a kernel plus
// a busybox initramfs that brings eth0 up and prints its receive counters to the serial
// console every 100 ms; the host turns those lines into snapshots.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../errors.ts';
import { onCleanup } from '../../lab/cleanup.ts';
import { assertLabNamespace } from '../../lab/lab.ts';
import { ip } from '../../lab/ip.ts';
import type { GuestOptions } from '../../profile/schema.ts';
import type { ConsumerReport } from '../../types.ts';
import { detectAccel } from '../../vm/accel.ts';
import { buildInitramfs, defaultInitramfsCache } from '../../vm/initramfs.ts';
import { initPrologue } from '../../vm/init-script.ts';
import { fetchDebianKernel, kernelFromPath } from '../../vm/kernel-fetch.ts';
import { qemuBinary, runQemu } from '../../vm/qemu.ts';
import { tcgThreadingFor } from '../../vm/run-in-vm.ts';
import { accelArg, type TcgThreading } from '../../vm/tcg-threading.ts';
import type { RunningSink, SinkSnapshot } from './sink.ts';

export const GUEST_MARK = 'TBGUEST';

/** The consumer guest's /init: eth0 up, then its counters every 100 ms, forever. */
export function guestInitScript(moduleFiles: string[]): string {
  return `${initPrologue(moduleFiles, 'tbguest')}n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 100 ]; do usleep 100000; n=$((n+1)); done
[ -e /sys/class/net/eth0 ] || { echo "${GUEST_MARK} error no eth0"; poweroff -f; }
ip link set eth0 up
S=/sys/class/net/eth0/statistics
echo "${GUEST_MARK} ready"
# Shell builtins only (read, echo): a fork per reading costs the TCG guest CPU time it
# would otherwise spend receiving.
while true; do
  read p < $S/rx_packets; read b < $S/rx_bytes; read d < $S/rx_dropped
  echo "${GUEST_MARK} rx_packets=$p rx_bytes=$b rx_dropped=$d"
  usleep 100000
done
`;
}

export interface StartGuestOptions {
  netns: string;
  dev: string;
  queues: number;
  options: GuestOptions;
  /** CPU for QEMU (all its threads), or null for no pinning. */
  cpu: number | null;
  /** Where the guest's console is kept (a trial keeps it beside the raw probe output). */
  consoleLog: string;
  /** Boot + attach limit, seconds. */
  readySeconds?: number;
}

interface Reading { tNs: number; packets: number; bytes: number; dropped: number }

export function parseGuestLine(line: string): Reading | 'ready' | { error: string } | null {
  const i = line.indexOf(GUEST_MARK);
  if (i < 0) return null;
  const rest = line.slice(i + GUEST_MARK.length).trim();
  if (rest === 'ready') return 'ready';
  if (rest.startsWith('error')) return { error: rest.slice(5).trim() };
  const m = /rx_packets=(\d+) rx_bytes=(\d+) rx_dropped=(\d+)/.exec(rest);
  if (!m) return null;
  return { tNs: Number(process.hrtime.bigint()), packets: Number(m[1]), bytes: Number(m[2]), dropped: Number(m[3]) };
}

/** vCPUs of the consumer guest: one (its reader loop is single-threaded; under TCG one vCPU also
 * keeps it clear of the multi-threaded TCG corruption of old QEMUs, see vm/tcg-threading.ts). */
export const guestCpus = 1;

export function guestQemuArgs(o: { kernel: string; initrd: string; accel: 'kvm' | 'tcg'; threading?: Pick<TcgThreading, 'mode'> | null; memoryMiB: number; tap: string; vhost: boolean }): string[] {
  return [
    '-accel', accelArg(o.accel, o.threading ?? null), '-cpu', o.accel === 'kvm' ? 'host' : 'max', '-m', String(o.memoryMiB), '-smp', String(guestCpus),
    '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
    '-kernel', o.kernel, '-initrd', o.initrd,
    '-append', 'console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init ipv6.disable=1',
    '-netdev', `tap,id=n0,ifname=${o.tap},script=no,downscript=no,vhost=${o.vhost ? 'on' : 'off'}`,
    '-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:00:7b:01',
  ];
}

export async function startGuestConsumer(o: StartGuestOptions): Promise<RunningSink> {
  assertLabNamespace(o.netns);
  if (o.queues > 1) throw new UserError('consumer type guest reads a single-queue tap only (tap.queues: 1)', { hint: 'set workload.tap.queues: 1 for guest variants' });
  const hasVhost = existsSync('/dev/vhost-net');
  if (o.options.vhost === 'on' && !hasVhost) throw new UserError('consumer.vhost: on, but /dev/vhost-net does not exist', { hint: 'modprobe vhost_net, or vhost: auto' });
  const vhost = o.options.vhost === 'on' || (o.options.vhost === 'auto' && hasVhost);
  const kernel = o.options.kernel ? kernelFromPath(o.options.kernel) : await fetchDebianKernel();
  const accel = await detectAccel(kernel);
  const initrd = await buildInitramfs(kernel, [], join(defaultInitramfsCache, 'guest'), {
    base: ['virtio_pci', 'virtio_net'],
    init: guestInitScript,
  });
  // The same TCG threading rule as the VM target's (a warning only if it ever had to fall back).
  const threading = tcgThreadingFor(accel.accel, guestCpus, (m) => process.stderr.write(`tunbench: warning: guest consumer: ${m}\n`));
  const args = guestQemuArgs({ kernel: kernel.image, initrd, accel: accel.accel, threading, memoryMiB: o.options.memoryMiB, tap: o.dev, vhost });
  const prefix = ['ip', 'netns', 'exec', o.netns, ...(o.cpu !== null ? ['taskset', '-c', String(o.cpu)] : [])];
  const command = [...prefix, qemuBinary, ...args];

  let pid = 0;
  let ready = false;
  let guestError: string | null = null;
  let first: Reading | null = null;
  let last: Reading | null = null;
  let stopRequested = false;
  let afterStop: Reading | null = null;
  const waiters: Array<() => void> = [];
  const wake = () => { for (const w of waiters.splice(0)) w(); };
  const started = process.hrtime.bigint();
  const qemu = runQemu({
    args,
    prefix,
    consoleLog: o.consoleLog,
    // Bounded like every QEMU run; a trial stops the guest long before this.
    timeoutSeconds: 6 * 3600,
    onSpawn: (p) => { pid = p; },
    onLine: (line) => {
      const r = parseGuestLine(line);
      if (r === null) return;
      if (r === 'ready') ready = true;
      else if ('error' in r) guestError = r.error;
      else {
        first ??= r;
        last = r;
        if (stopRequested && !afterStop) afterStop = r;
      }
      wake();
    },
  });
  let exited = false;
  const done = qemu.then(() => { exited = true; wake(); }, () => { exited = true; wake(); });
  // SIGTERM (QEMU closes the tap and exits at once), SIGKILL if it is still there after 2 s.
  const kill = async () => {
    if (pid > 0 && !exited) {
      try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
      const t = setTimeout(() => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }, 2000);
      await done;
      clearTimeout(t);
    }
    await done;
  };
  const forget = onCleanup(`guest consumer (qemu pid ${pid})`, kill);
  const until = async (cond: () => boolean, ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (exited || Date.now() > deadline) return cond();
      await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 100); });
    }
    return true;
  };

  try {
    const readyMs = (o.readySeconds ?? 120) * 1000;
    const ok = await until(() => (ready && first !== null) || guestError !== null, readyMs);
    if (guestError !== null) throw new UserError(`the guest consumer failed: ${guestError} (console: ${o.consoleLog})`);
    if (!ok) throw new UserError(`the guest consumer did not come up within ${readyMs / 1000} s${exited ? ' (QEMU exited)' : ''} (console: ${o.consoleLog})`, { hint: `check that ${qemuBinary} can open the tap: the console log has QEMU's message` });
    // QEMU attached the tap once its carrier is up.
    const info = JSON.parse(await ip(['-j', 'link', 'show', 'dev', o.dev], { netns: o.netns })) as { flags?: string[] }[];
    if (!info[0]?.flags?.includes('LOWER_UP')) throw new UserError(`the guest's QEMU did not attach the tap ${o.dev} (no carrier) (console: ${o.consoleLog})`);
  } catch (e) {
    forget();
    await kill();
    throw e;
  }

  const snap = (r: Reading): SinkSnapshot => ({ tNs: r.tNs, packets: r.packets - first!.packets, bytes: r.bytes - first!.bytes, perQueue: [r.packets - first!.packets] });
  let stopping: Promise<ConsumerReport> | null = null;
  return {
    // The probes' read-side filter uses this pid: with QEMU's userspace tap backend (vhost=off)
    // the tap is read by the QEMU process itself. With vhost on, the reads happen in the
    // vhost-<pid> worker instead: a separate kernel thread (its own pid, not matched) before
    // Linux 6.4; since 6.4 a vhost_task thread inside QEMU's thread group (same tgid). Untested
    // here (no /dev/vhost-net).
    pid,
    exited: done,
    async snapshot() {
      // The guest reports every 100 ms: wait for a fresh line so the time and count belong together.
      const before = last;
      await until(() => last !== before, 1000);
      return snap(last!);
    },
    stop() {
      stopping ??= (async () => {
        stopRequested = true;
        await until(() => afterStop !== null, 2000);
        const final = afterStop ?? last!;
        forget();
        await kill();
        return {
          tool: 'guest',
          packets: final.packets - first!.packets,
          bytes: final.bytes - first!.bytes,
          perQueue: [final.packets - first!.packets],
          seconds: Number(process.hrtime.bigint() - started) / 1e9,
          command,
        } satisfies ConsumerReport;
      })();
      return stopping;
    },
  };
}
