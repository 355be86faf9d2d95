// A reliability check run by hand (not part of npm test): boot a TCG guest with the VM runner
// (its TCG threading rule included) and start node N times in a loop inside it, each run
// importing two project modules through tsx, as the bench in a VM does; count the failures.
// This is how multi-threaded TCG on QEMU 7.2 was caught corrupting guests (platform notes).
//   flock /tmp/tunbench-measure.lock npx tsx test/manual/vm-node-starts.ts [BOOTS] [STARTS] [CPUS]
//   TUNBENCH_QEMU=/path/to/qemu-system-x86_64 ... : another QEMU (e.g. Debian 12's 7.2, unpacked with dpkg -x)
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchDebianKernel } from '../../src/qemu/kernel-fetch.ts';
import { qemuBinary } from '../../src/qemu/qemu.ts';
import { runInVm } from '../../src/qemu/run-in-vm.ts';
import { qemuVersion } from '../../src/qemu/tcg-threading.ts';

const [boots, starts, cpus] = [Number(process.argv[2] ?? 1), Number(process.argv[3] ?? 16), Number(process.argv[4] ?? 2)];
const kernel = await fetchDebianKernel();
const dir = mkdtempSync(join(tmpdir(), 'tb-node-starts-'));
const script = `i=0; while [ $i -lt ${starts} ]; do i=$((i+1)); ` +
  `${process.execPath} --import tsx -e "await import('./src/profile/plan.ts'); await import('./src/profile/load.ts'); console.log('ok')" > /tmp/o 2>&1; rc=$?; ` +
  `grep -q '^ok$' /tmp/o || rc="$rc-no-ok"; echo "NODESTART $i rc=$rc"; [ "$rc" = 0 ] || head -c 600 /tmp/o; done`;
console.log(`QEMU ${qemuBinary} ${qemuVersion()?.text ?? '?'}, kernel ${kernel.release}, ${cpus} vCPUs under TCG, ${boots} boot(s) x ${starts} node starts`);
let failed = 0;
let total = 0;
for (let b = 1; b <= boots; b++) {
  const consoleLog = join(dir, `console-${b}.log`);
  const r = await runInVm({ kernel, accel: 'tcg', cpus, memoryMiB: 2048, command: ['sh', '-c', script], cwd: process.cwd(), outputDir: join(dir, 'out'), timeoutSeconds: 1800, consoleLog, onWarning: (m) => console.log(`warning: ${m}`) });
  const lines = readFileSync(consoleLog, 'latin1').split('\n').filter((l) => l.startsWith('NODESTART'));
  const bad = lines.filter((l) => !/rc=0\r?$/.test(l));
  failed += bad.length + (starts - lines.length);
  total += starts;
  console.log(`boot ${b}: threading ${r.tcgThreading?.mode} (${r.tcgThreading?.reason}); booted in ${r.bootSeconds.toFixed(1)} s, ${lines.length} starts reported, ${bad.length} failed, VM ${r.totalSeconds.toFixed(0)} s (${((r.totalSeconds - r.bootSeconds) / starts).toFixed(1)} s per start)${bad.length ? `\n  ${bad.join('\n  ')}\n  console: ${consoleLog}` : ''}`);
}
console.log(`failed node starts: ${failed} of ${total}`);
