// tunbench doctor [--json]: what this machine can do, and what each profile feature needs.
import { parseArgs } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import { detectCapabilities } from '../lab/capabilities.ts';
import type { Availability, Capabilities } from '../types.ts';

function line(name: string, a: Availability & { version?: string | null }): string {
  return `  ${a.available ? 'yes' : 'no '}  ${name.padEnd(18)} ${a.version ? `${a.version}  ` : ''}${a.reason}`;
}

export function formatCapabilities(c: Capabilities): string {
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
    line('full: kprobe', c.probeBackends.kprobe),
    line('full: fentry', c.probeBackends.fentry),
    `       drop reasons     FULL_RING=${c.dropReasons.FULL_RING ?? 'absent'} (${Object.keys(c.dropReasons).length} reasons read from skb:kfree_skb's format)`,
    '',
    'traffic',
    line('trafgen', c.trafgen),
    line('pktgen', c.pktgen),
    line('iperf3', c.iperf3 ?? { available: false, reason: 'not detected' }),
    line('wire consumer', c.wire ?? { available: false, reason: 'not detected' }),
    ...Object.entries(c.qdiscs ?? {}).map(([k, a]) => line(`qdisc ${k}`, a)),
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
  console.log(values.json ? JSON.stringify(caps, null, 2) : formatCapabilities(caps));
  return 0;
}

/** Boot the VM target's kernel and run doctor --json inside it. */
async function doctorVm(kernelSpec: string, modulesDir: string | undefined, json: boolean): Promise<number> {
  const { resolveVmKernel } = await import('../vm/target.ts');
  const { runInVm, detectAccel } = await import('../vm/index.ts');
  const { repoRoot } = await import('../vm/kernel-fetch.ts');
  const log = (l: string) => { if (!json) console.log(l); };
  const kernel = await resolveVmKernel({ kernel: kernelSpec, ...(modulesDir ? { modulesDir } : {}) }, log);
  const accel = await detectAccel(kernel);
  // Removed after success; kept (with the console log) when something fails.
  const dir = mkdtempSync(join(tmpdir(), 'tunbench-doctor-'));
  log(`vm: booting ${kernel.release} (${accel.accel}: ${accel.reason})`);
  const run = await runInVm({
    kernel, accel: accel.accel, cpus: 2, memoryMiB: 2048, cwd: repoRoot, outputDir: dir, timeoutSeconds: 300,
    consoleLog: join(dir, 'console.log'),
    extraModules: kernel.modulesDir ? ['pktgen'] : [],
    command: ['sh', '-c', `${process.execPath} ${join(repoRoot, 'bin/tunbench.js')} doctor --json > ${dir}/doctor.json`],
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
