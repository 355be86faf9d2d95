// tunbench doctor [--json]: what this machine can do, and what each profile feature needs.
import { parseArgs } from 'node:util';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import { detectCapabilities } from '../doctor/capabilities.ts';
import { formatProfilesHere, profilesHere } from '../doctor/profiles-here.ts';
import type { Availability, Capabilities } from '../types.ts';

function line(name: string, a: Availability & { version?: string | null }): string {
  return `  ${a.available ? 'yes' : 'no '}  ${name.padEnd(18)} ${a.version ? `${a.version}  ` : ''}${a.reason}`;
}

/** What the kernel itself says about a failed attach point: its config and the ftrace file
 * kfunc needs. Both are null when they cannot be read (then bpftrace's own words stand). */
export interface KernelFacts {
  /** The kernel's config text (/proc/config.gz or /boot/config-RELEASE), or null. */
  config: string | null;
  /** The errno code reading available_filter_functions failed with ('' when it was readable), or null when not tried. */
  filterFunctionsError: string | null;
}

const configOff = (cfg: string | null, name: string): boolean => cfg !== null && !new RegExp(`^${name}=[ym]`, 'm').test(cfg);

/** A failed probe backend's reason made precise from the kernel's own facts. */
export function explainBackend(backend: 'tracepoint' | 'kprobe' | 'fentry', a: Availability, k: KernelFacts): Availability {
  if (a.available) return a;
  if (backend === 'kprobe' && configOff(k.config, 'CONFIG_KPROBES')) return { available: false, reason: `CONFIG_KPROBES is not set in this kernel: kprobe:tun_net_xmit cannot attach (the full level uses fentry or the tracepoint instead)` };
  if (backend === 'fentry') {
    if (configOff(k.config, 'CONFIG_FUNCTION_TRACER')) return { available: false, reason: 'CONFIG_FUNCTION_TRACER is not set in this kernel: kfunc/fentry probes cannot attach' };
    if (k.filterFunctionsError) return { available: false, reason: `reading tracefs available_filter_functions failed with ${k.filterFunctionsError}: bpftrace cannot list kfunc attach points here (tracefs itself is mounted; the kernel refuses this file)` };
  }
  return a;
}

export function formatCapabilities(c: Capabilities, k: KernelFacts = { config: null, filterFunctionsError: null }): string {
  const out = [
    `kernel      ${c.kernel.release} (${c.kernel.arch})`,
    `host        ${c.host.hostname}: ${c.host.cpus} CPUs, ${c.host.cpuModel}, ${c.host.memoryMiB} MiB`,
    `tun queue   ${c.tun.queue}${c.tun.queueModeSwitch ? ' or sk_receive_queue (tun.queue_mode)' : ''}  (${c.tun.evidence})`,
    `root        ${c.root ? 'yes' : 'no: tunbench needs root'}`,
    '',
    'lab',
    line('/dev/net/tun', c.devNetTun),
    line('network namespaces', c.netns),
    line('sink consumer', c.sink),
    '',
    'probes',
    line('bpftrace', c.bpftrace),
    line('tracefs', c.tracefs),
    line('BTF', c.btf),
    line('queue sampler', c.sampler ?? { available: false, reason: 'not detected' }),
    line('full: tracepoint', c.probeBackends.tracepoint),
    line('full: kprobe', explainBackend('kprobe', c.probeBackends.kprobe, k)),
    line('full: fentry', explainBackend('fentry', c.probeBackends.fentry, k)),
    `       drop reasons     FULL_RING=${c.dropReasons.FULL_RING ?? 'absent'} (${Object.keys(c.dropReasons).length} reasons read from skb:kfree_skb's format)`,
    '',
    'traffic',
    line('trafgen', c.trafgen),
    line('pktgen', c.pktgen),
    line('iperf3', c.iperf3 ?? { available: false, reason: 'not detected' }),
    line('sockperf', c.sockperf ?? { available: false, reason: 'not detected' }),
    line('wire consumer', c.wire ?? { available: false, reason: 'not detected' }),
    ...Object.entries(c.qdiscs ?? {}).map(([k, a]) => line(`qdisc ${k}`, a)),
    ...(c.netem ? [line('qdisc netem (consumer.rttMs)', c.netem)] : []),
    '',
    'virtualisation',
    line('qemu', c.qemu),
    line('KVM', c.kvm),
    line('vhost-net', c.vhostNet),
  ];
  return out.join('\n');
}

const HELP = `usage: tunbench doctor [--json] [--target host|vm] [--kernel debian|patched|PATH] [--modules-dir DIR]

Prints the capability record: kernel, tun queue implementation (from BTF), probe backends
(found by attaching), generators, virtualisation.
  --target vm   boots the kernel a 'vm' target would use (default: Debian's package; 'patched':
                kernel/build.sh; or a bzImage path) and reports what the harness can do inside it.`;

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      target: { type: 'string', default: 'host' },
      kernel: { type: 'string', default: 'debian' },
      'modules-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.target === 'vm') return doctorVm(values.kernel, values['modules-dir'], values.json);
  if (values.target !== 'host') throw new UserError(`--target: expected host or vm, found '${values.target}'`);
  const caps = await detectCapabilities();
  console.log(values.json ? JSON.stringify(caps, null, 2) : `${formatCapabilities(caps, kernelFacts(caps))}\n\n${formatProfilesHere(profilesHere(caps))}`);
  return 0;
}

/** Read-only facts of the running kernel for doctor's reasons. */
export function kernelFacts(c: Capabilities): KernelFacts {
  let config: string | null = null;
  try {
    config = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  } catch {
    try {
      config = readFileSync(`/boot/config-${c.kernel.release}`, 'utf8');
    } catch {
      config = null;
    }
  }
  let filterFunctionsError: string | null = null;
  const path = c.tracefs.path ? `${c.tracefs.path}/available_filter_functions` : null;
  if (path) {
    try {
      const fd = openSync(path, 'r');
      try {
        readSync(fd, Buffer.alloc(64), 0, 64, null);
        filterFunctionsError = '';
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      filterFunctionsError = (e as NodeJS.ErrnoException).code ?? 'an error';
    }
  }
  return { config, filterFunctionsError };
}

/** Boot the VM target's kernel and run doctor --json inside it. */
async function doctorVm(kernelSpec: string, modulesDir: string | undefined, json: boolean): Promise<number> {
  const { resolveVmKernel } = await import('../kernel/vm-kernel.ts');
  const { runInVm, detectAccel } = await import('../qemu/index.ts');
  const { repoRoot } = await import('../qemu/kernel-fetch.ts');
  const log = (l: string) => { if (!json) console.log(l); };
  const kernel = await resolveVmKernel({ kernel: kernelSpec, ...(modulesDir ? { modulesDir } : {}) }, log);
  const accel = await detectAccel(kernel);
  // Removed after success; kept (with the console log) when something fails.
  const dir = mkdtempSync(join(tmpdir(), 'tunbench-doctor-'));
  const { guestCliCommand } = await import('../qemu/guest-cli.ts');
  const cli = await guestCliCommand((m) => process.stderr.write(`tunbench: warning: ${m}\n`));
  log(`vm: booting ${kernel.release} (${accel.accel}: ${accel.reason})`);
  const run = await runInVm({
    kernel, accel: accel.accel, cpus: 2, memoryMiB: 2048, cwd: repoRoot, outputDir: dir, timeoutSeconds: 300,
    consoleLog: join(dir, 'console.log'),
    extraModules: kernel.modulesDir ? ['pktgen'] : [],
    command: ['sh', '-c', `${cli.join(' ')} doctor --json > ${dir}/doctor.json`],
  });
  if (run.exitCode !== 0 || !existsSync(join(dir, 'doctor.json'))) throw new UserError(`doctor inside the VM failed (exit ${run.exitCode}); console log kept in ${dir}`);
  const caps = JSON.parse(readFileSync(join(dir, 'doctor.json'), 'utf8')) as Capabilities;
  const vm = { kernel: { release: kernel.release, source: kernel.source, image: kernel.image, spec: kernelSpec }, accel: accel.accel, accelReason: accel.reason, tcgThreading: run.tcgThreading, bootSeconds: run.bootSeconds, totalSeconds: run.totalSeconds };
  if (json) console.log(JSON.stringify({ target: 'vm', vm, capabilities: caps }, null, 2));
  else {
    console.log(`target      vm: ${kernelSpec} kernel ${kernel.release}, ${accel.accel}${accel.accel === 'tcg' ? ' (emulated: rates are not real)' : ''}, ${run.tcgThreading ? ` (TCG ${run.tcgThreading.mode}-threaded: ${run.tcgThreading.reason})` : ''}, boot ${run.bootSeconds.toFixed(1)} s, doctor done in ${run.totalSeconds.toFixed(1)} s`);
    console.log(formatCapabilities(caps));
  }
  rmSync(dir, { recursive: true, force: true });
  return 0;
}
