// The guest consumer: a QEMU guest whose virtio-net NIC is backed by the lab's tap, so the
// tap's reader is QEMU (its userspace tap backend reads the tap fd in the QEMU process) or,
// with vhost on, the vhost-<qemu pid> kernel thread (tun_recvmsg). The guest is a kernel plus
// a busybox initramfs that brings eth0 up and prints its receive counters to the serial
// console every 100 ms; the host turns those lines into snapshots.
// For iperf3 flows (`flow: true`) the initramfs also carries the host's iperf3 with its shared
// libraries and the dynamic loader (a separately cached flavour): the guest gives eth0 the
// flow's server address (198.18.0.2/30, the wire's addresses) and runs `iperf3 --server` before
// it reports ready; the host gives the lab tap 198.18.0.1/30 and static neighbour entries on
// both sides, so the client in the lab namespace reaches the server through the tap under test.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../../errors.ts';
import { onCleanup } from '../../process/cleanup.ts';
import { assertLabNamespace } from '../../lab/lab.ts';
import { ip, linkShow, macOf } from '../../lab/ip.ts';
import type { GuestOptions } from '../../profile/schema.ts';
import type { ConsumerReport } from '../../types.ts';
import { detectAccel } from '../../qemu/accel.ts';
import { binaryWithLibraries, buildInitramfs, defaultInitramfsCache, type InitramfsFile } from '../../qemu/initramfs.ts';
import { initPrologue } from '../../qemu/init-script.ts';
import { fetchDebianKernel, kernelFromPath } from '../../qemu/kernel-fetch.ts';
import { qemuBinary, runQemu } from '../../qemu/qemu.ts';
import { tcgThreadingFor } from '../../qemu/run-in-vm.ts';
import { accelArg, type TcgThreading } from '../../qemu/tcg-threading.ts';
import { IPERF3_PORT } from '../generators/iperf3.ts';
import type { RunningSink, SinkSnapshot } from './sink.ts';
import { WIRE_LAB_ADDRESS, WIRE_PEER_ADDRESS, WIRE_PREFIX } from './wire.ts';

export const GUEST_MARK = 'TBGUEST';

/** The guest NIC's MAC (the lab side's static neighbour entry for the guest's address). */
export const GUEST_MAC = '52:54:00:00:7b:01';

/** The flow's server inside the guest: the wire's addresses (RFC 2544 range, lab namespace only). */
export const GUEST_FLOW = { labAddress: WIRE_LAB_ADDRESS, guestAddress: WIRE_PEER_ADDRESS, prefixLen: WIRE_PREFIX, port: IPERF3_PORT } as const;

/** An IPv4 address and port as /proc/net/tcp prints a local address (little-endian hex, as on x86). */
export function procNetTcpAddress(address: string, port: number): string {
  const b = address.split('.').map(Number);
  if (b.length !== 4 || b.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`not an IPv4 address: ${address}`);
  const hex = (n: number, w: number) => n.toString(16).toUpperCase().padStart(w, '0');
  return `${[...b].reverse().map((x) => hex(x, 2)).join('')}:${hex(port, 4)}`;
}

/**
 * The flow part of the guest's /init: loopback up; eth0's MTU (tbmtu= on the kernel command
 * line: the lab tap's) and the server's address; a static ARP entry for the lab side (its MAC
 * in tblabmac=), so no ARP crosses the tap; iperf3 --server in the background (its output in
 * /tmp/iperf3.log, not on the slow serial console); then wait until it listens.
 */
function flowInitPart(): string {
  const f = GUEST_FLOW;
  const listen = `${procNetTcpAddress(f.guestAddress, f.port)} 00000000:0000 0A`;
  return `ip link set lo up
MTU=; LABMAC=
for a in $(cat /proc/cmdline); do case $a in tbmtu=*) MTU=\${a#tbmtu=};; tblabmac=*) LABMAC=\${a#tblabmac=};; esac; done
[ -n "$MTU" ] && ip link set eth0 mtu $MTU
ip addr add ${f.guestAddress}/${f.prefixLen} dev eth0
[ -n "$LABMAC" ] && arp -i eth0 -s ${f.labAddress} $LABMAC
# The entry as the kernel holds it (flags 0x6: complete and permanent), for the console log.
echo "${GUEST_MARK} neighbour $(grep '^${f.labAddress} ' /proc/net/arp)"
mkdir -p /tmp
iperf3 --server --bind ${f.guestAddress} --port ${f.port} > /tmp/iperf3.log 2>&1 &
IPID=$!
n=0
until grep -q '${listen}' /proc/net/tcp; do
  [ -d /proc/$IPID ] || { echo "${GUEST_MARK} error iperf3 --server exited: $(tail -n 3 /tmp/iperf3.log | tr '\\n' ' ')"; poweroff -f; }
  [ $n -lt 300 ] || { echo "${GUEST_MARK} error iperf3 --server not listening after 30 s"; poweroff -f; }
  usleep 100000; n=$((n+1))
done
echo "${GUEST_MARK} iperf3 listening on ${f.guestAddress}:${f.port}"
`;
}

/** The consumer guest's /init: eth0 up (with `flow`: its address and the iperf3 server), then its counters every 100 ms, forever. */
export function guestInitScript(moduleFiles: string[], o: { flow?: boolean } = {}): string {
  return `${initPrologue(moduleFiles, 'tbguest')}n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 100 ]; do usleep 100000; n=$((n+1)); done
[ -e /sys/class/net/eth0 ] || { echo "${GUEST_MARK} error no eth0"; poweroff -f; }
ip link set eth0 up
${o.flow ? flowInitPart() : ''}S=/sys/class/net/eth0/statistics
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

/** The first executable NAME on PATH (and the usual system directories), or null. */
export function findProgram(name: string, path = process.env.PATH ?? ''): string | null {
  for (const d of [...path.split(delimiter), '/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    if (d && d.startsWith('/') && existsSync(join(d, name))) return join(d, name);
  }
  return null;
}

/**
 * The files the flow flavour adds to the guest's initramfs: the host's iperf3 with its shared
 * libraries and the dynamic loader. Throws a UserError with the fix when iperf3 is missing or
 * a library cannot be resolved.
 */
export function guestIperf3Files(): InitramfsFile[] {
  const bin = findProgram('iperf3');
  if (!bin) throw new UserError('iperf3 is not installed: the guest consumer copies the host\'s iperf3 into its initramfs', { hint: 'apt-get install iperf3' });
  return binaryWithLibraries(bin, '/bin/iperf3');
}

/** Device properties that keep the guest from negotiating receive segmentation offloads (TSO,
 * ECN, UFO, USO where this QEMU has them): QEMU then sets no TSO on the tap, the host's TCP
 * hands the tap MSS-sized segments as it does through the wire, and the qdisc's packet count
 * (which counts GSO segments) and tun's (which counts skbs) agree. Checksum offload stays on. */
const OFFLOAD_PROPS = ['guest_tso4', 'guest_tso6', 'guest_ecn', 'guest_ufo', 'guest_uso4', 'guest_uso6'];
let offloadPropsOf: Promise<string[]> | null = null;
export function noSegmentationOffloadProps(help: string): string[] {
  return OFFLOAD_PROPS.filter((p) => new RegExp(`^\\s*${p}=`, 'm').test(help)).map((p) => `${p}=off`);
}
async function offloadOffProps(): Promise<string[]> {
  offloadPropsOf ??= execa(qemuBinary, ['-device', 'virtio-net-pci,help'], { reject: false, timeout: 30_000, all: true }).then((r) => noSegmentationOffloadProps(r.all ?? ''));
  const props = await offloadPropsOf;
  // Without them the tap would carry TSO frames and the accounts could not close: refuse.
  if (!props.includes('guest_tso4=off')) throw new UserError(`${qemuBinary} -device virtio-net-pci,help lists no guest_tso4 property: the guest's TCP segmentation offload cannot be turned off`, { hint: 'install a QEMU with virtio-net (apt-get install qemu-system-x86), or set TUNBENCH_QEMU' });
  return props;
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
  /** Run the iperf3 server in the guest (generator iperf3): the flow flavour. */
  flow?: boolean;
}

/** The guest consumer; `flowServer` is where the iperf3 client connects (flow flavour only). */
export interface RunningGuest extends RunningSink {
  flowServer: { address: string; port: number } | null;
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

/** The flow flavour's extra QEMU settings: eth0's MTU and the lab tap's MAC (kernel command
 * line, read by the guest's /init), and the virtio-net properties that turn offloads off. */
export interface GuestFlowArgs { mtu: number; labMac: string; deviceProps: string[] }

export function guestQemuArgs(o: { kernel: string; initrd: string; accel: 'kvm' | 'tcg'; threading?: Pick<TcgThreading, 'mode'> | null; memoryMiB: number; tap: string; vhost: boolean; flow?: GuestFlowArgs }): string[] {
  const f = o.flow;
  return [
    '-accel', accelArg(o.accel, o.threading ?? null), '-cpu', o.accel === 'kvm' ? 'host' : 'max', '-m', String(o.memoryMiB), '-smp', String(guestCpus),
    '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
    '-kernel', o.kernel, '-initrd', o.initrd,
    '-append', `console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init ipv6.disable=1${f ? ` tbmtu=${f.mtu} tblabmac=${f.labMac}` : ''}`,
    '-netdev', `tap,id=n0,ifname=${o.tap},script=no,downscript=no,vhost=${o.vhost ? 'on' : 'off'}`,
    '-device', ['virtio-net-pci,netdev=n0', `mac=${GUEST_MAC}`, ...(f?.deviceProps ?? [])].join(','),
  ];
}

export async function startGuestConsumer(o: StartGuestOptions): Promise<RunningGuest> {
  assertLabNamespace(o.netns);
  if (o.queues > 1) throw new UserError('consumer type guest reads a single-queue tap only (tap.queues: 1)', { hint: 'set workload.tap.queues: 1 for guest variants' });
  const hasVhost = existsSync('/dev/vhost-net');
  if (o.options.vhost === 'on' && !hasVhost) throw new UserError('consumer.vhost: on, but /dev/vhost-net does not exist', { hint: 'modprobe vhost_net, or vhost: auto' });
  const vhost = o.options.vhost === 'on' || (o.options.vhost === 'auto' && hasVhost);
  const kernel = o.options.kernel ? kernelFromPath(o.options.kernel) : await fetchDebianKernel();
  const accel = await detectAccel(kernel);
  // The plain flavour is the one it always was (same /init, same cache); the flow flavour adds
  // iperf3 and its libraries and is cached beside it.
  const initrd = o.flow
    ? await buildInitramfs(kernel, [], join(defaultInitramfsCache, 'guest-iperf3'), {
      base: ['virtio_pci', 'virtio_net'],
      init: (mods) => guestInitScript(mods, { flow: true }),
      files: guestIperf3Files(),
    })
    : await buildInitramfs(kernel, [], join(defaultInitramfsCache, 'guest'), {
      base: ['virtio_pci', 'virtio_net'],
      init: guestInitScript,
    });
  let flow: GuestFlowArgs | undefined;
  if (o.flow) {
    const link = await linkShow(o.dev, o.netns);
    flow = { mtu: link.mtu ?? 1500, labMac: macOf(link, o.dev, o.netns), deviceProps: await offloadOffProps() };
  }
  // The same TCG threading rule as the VM target's (a warning only if it ever had to fall back).
  const threading = tcgThreadingFor(accel.accel, guestCpus, (m) => process.stderr.write(`tunbench: warning: guest consumer: ${m}\n`));
  const args = guestQemuArgs({ kernel: kernel.image, initrd, accel: accel.accel, threading, memoryMiB: o.options.memoryMiB, tap: o.dev, vhost, ...(flow ? { flow } : {}) });
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
    const info = await linkShow(o.dev, o.netns);
    if (!info.flags?.includes('LOWER_UP')) throw new UserError(`the guest's QEMU did not attach the tap ${o.dev} (no carrier) (console: ${o.consoleLog})`);
    if (o.flow) {
      // The client's side of the /30 on the lab tap, and a permanent neighbour entry for the
      // guest (the guest has one for the lab side): no ARP in the tap's counters.
      const f = GUEST_FLOW;
      await ip(['addr', 'replace', `${f.labAddress}/${f.prefixLen}`, 'dev', o.dev], { netns: o.netns });
      await ip(['neigh', 'replace', f.guestAddress, 'lladdr', GUEST_MAC, 'dev', o.dev, 'nud', 'permanent'], { netns: o.netns });
    }
  } catch (e) {
    forget();
    await kill();
    throw e;
  }

  const snap = (r: Reading): SinkSnapshot => ({ tNs: r.tNs, packets: r.packets - first!.packets, bytes: r.bytes - first!.bytes, perQueue: [r.packets - first!.packets] });
  let stopping: Promise<ConsumerReport> | null = null;
  return {
    flowServer: o.flow ? { address: GUEST_FLOW.guestAddress, port: GUEST_FLOW.port } : null,
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
