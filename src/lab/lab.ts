// The lab: a private network namespace holding the tap device(s) under test. Traffic is
// only ever driven into a tap that this module created, inside a namespace it created.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { execa } from 'execa';
import { UserError } from '../errors.ts';
import type { Tap } from '../profile/schema.ts';
import { onCleanup } from '../process/cleanup.ts';
import { ip, linkShow } from './ip.ts';
import { isLabName, newLabNames } from './names.ts';
import { deleteNetns } from './reap.ts';

export interface Lab {
  netns: string;
  tap: string;
  queues: number;
  txQueueLen: number;
  mtu: number;
  /** Packets the queue(s) can hold: tx_queue_len x queues. */
  capacity: number;
  /** The tap's qdisc as the kernel reports it (pfifo_fast, mq, noqueue ...). */
  qdisc: string;
  destroy(): Promise<void>;
}

export const QUEUE_MODE_PARAM = '/sys/module/tun/parameters/queue_mode';

/** Set tun's queue_mode (a kernel with tunbench's tun patch); returns the previous value. */
export function setQueueMode(mode: 'ring' | 'skq'): string {
  if (!existsSync(QUEUE_MODE_PARAM)) {
    throw new UserError(`tap.queueMode ${mode} needs a kernel with tunbench's tun patch (${QUEUE_MODE_PARAM} is missing on ${release()})`, { hint: "use target: vm with vm.kernel: patched (kernel/build.sh), or tap.queueMode: default" });
  }
  const before = readFileSync(QUEUE_MODE_PARAM, 'utf8').trim();
  writeFileSync(QUEUE_MODE_PARAM, mode);
  return before;
}

export const BACKPRESSURE_PARAM = '/sys/module/tun/parameters/backpressure';

/** Set tun's backpressure switch (a kernel with tunbench's patch 0002); returns the previous value. */
export function setBackpressure(on: boolean): string {
  if (!existsSync(BACKPRESSURE_PARAM)) {
    throw new UserError(`tap.backpressure ${on} needs a kernel with tunbench's tun backpressure patch (${BACKPRESSURE_PARAM} is missing on ${release()})`, { hint: 'use target: vm with vm.kernel: patched (kernel/build.sh), or leave tap.backpressure out' });
  }
  const before = readFileSync(BACKPRESSURE_PARAM, 'utf8').trim();
  writeFileSync(BACKPRESSURE_PARAM, on ? '1' : '0');
  return before;
}

type LabTap = Pick<Tap, 'txQueueLen' | 'mtu' | 'queues'> & { queueMode?: Tap['queueMode']; backpressure?: Tap['backpressure'] };

/** Build the lab. With tap.queueMode ring|skq, tun's queue_mode is set for the queues attached
 * while the lab exists (the consumer attaches after this) and restored when it is destroyed;
 * likewise tun's backpressure with tap.backpressure true|false. */
export async function createLab(tap: LabTap): Promise<Lab> {
  const { netns, tap: dev } = newLabNames();
  let modeBefore: string | null = null;
  let bpBefore: string | null = null;
  let destroyed = false;
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    forget();
    if (modeBefore !== null) {
      try { writeFileSync(QUEUE_MODE_PARAM, modeBefore); } catch { /* module gone: nothing to restore */ }
    }
    if (bpBefore !== null) {
      // The parameter reads back Y/N; it accepts those as written.
      try { writeFileSync(BACKPRESSURE_PARAM, bpBefore); } catch { /* module gone: nothing to restore */ }
    }
    await deleteNetns(netns);
  };
  // Registered before anything exists, so a signal during set-up still cleans up.
  const forget = onCleanup(`lab ${netns}`, destroy);
  try {
    if (tap.queueMode && tap.queueMode !== 'default') modeBefore = setQueueMode(tap.queueMode);
    if (tap.backpressure !== undefined) bpBefore = setBackpressure(tap.backpressure);
    await ip(['netns', 'add', netns]);
    await ip(['link', 'set', 'lo', 'up'], { netns });
    // No IPv6 autoconfiguration chatter on the tap: only the generator's packets flow.
    await execa('ip', ['netns', 'exec', netns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'], { reject: false });
    const add = ['tuntap', 'add', 'dev', dev, 'mode', 'tap'];
    if (tap.queues > 1) add.push('multi_queue');
    await ip(add, { netns });
    await ip(['link', 'set', 'dev', dev, 'txqueuelen', String(tap.txQueueLen), 'mtu', String(tap.mtu), 'addrgenmode', 'none', 'up'], { netns });
    const info = await linkShow(dev, netns);
    return {
      netns,
      tap: dev,
      queues: tap.queues,
      txQueueLen: tap.txQueueLen,
      mtu: tap.mtu,
      capacity: tap.txQueueLen * tap.queues,
      qdisc: info.qdisc ?? 'unknown',
      destroy,
    };
  } catch (e) {
    await destroy();
    if (e instanceof UserError) throw e;
    throw new UserError(`could not build the lab: ${(e as Error).message}`, { hint: 'run as root on a kernel with network namespaces and /dev/net/tun' });
  }
}

/** Guard used by every traffic source: refuse any namespace the harness did not create. */
export function assertLabNamespace(netns: string): void {
  if (!isLabName(netns)) {
    throw new UserError(`refusing to drive traffic into namespace '${netns}': it was not created by tunbench`);
  }
}
