// The VM executor's one retry, through the real run: a VM that fails before its worker is
// ready, so before any trial was measured (here: a watchdog too short to outlast boot and
// capability detection, as a hung guest would), boots once more, says so with the reason, and
// a second failure ends with exit 2 naming both console logs. The crash classification itself
// is unit-tested (test/unit/vm-runner.test.ts).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import { vmMissing } from '../helpers/vm.ts';
import { tmp as tmpDir } from '../helpers/cli.ts';

test('a VM run that fails before measuring is booted once more; failing again ends with exit 2 naming both console logs', { timeout: 10 * 60_000 }, async (t) => {
  const why = vmMissing();
  if (why) return t.skip(why);
  const tmp = tmpDir('tunbench-vmretry');
  const profile = join(tmp, 'too-short.yaml');
  // The inactivity watchdog at its smallest: max(10 s boot allowance, (1 + 0.5 + 10) s x 1) = 12 s
  // of silence, which boot plus capability detection under TCG outlast before the first trial.
  writeFileSync(profile, [
    'name: too-short',
    'target: vm',
    'vm: { kernel: debian, cpus: 2, memoryMiB: 1024, bootTimeoutSeconds: 10, slowdown: 1 }',
    'duration: 1',
    'rampUp: 0.5',
    'repetitions: 1',
    'warmupTrials: 0',
    'probes: { level: off }',
    'workload: { generator: { type: trafgen }, consumer: { type: sink } }',
    '',
  ].join('\n'));
  const dir = join(tmp, 'out');
  const r = await execa(process.execPath, ['bin/tunbench.js', 'bench', '--profile', profile, '--out', dir, '--progress', 'plain', '--no-report'], { reject: false, all: true });
  const out = r.all ?? '';
  assert.equal(r.exitCode, 2, out);
  assert.match(out, /the debian VM failed before any trial was measured: the guest printed nothing for 12 s \(inactivity watchdog\); it was booted once more/);
  assert.match(out, /failed twice before any trial was measured: first the guest printed nothing for 12 s.*then the guest printed nothing for 12 s/);
  // The single VM is named after its kernel (debian); its files live in vm/debian/.
  const vmDir = join(dir, 'vm', 'debian');
  assert.ok(out.includes(join(vmDir, 'console-attempt-1.log')) && out.includes(join(vmDir, 'console.log')), 'both console logs named');
  assert.ok(existsSync(join(vmDir, 'console-attempt-1.log')), 'first console kept');
  assert.ok(existsSync(join(vmDir, 'console.log')), 'second console kept');
  assert.doesNotMatch(out, /\n\s+at /, 'no stack trace');
  assert.doesNotMatch(execFileSync('ps', ['-eo', 'args']).toString(), new RegExp(`qemu-system.*${dir}`), 'no QEMU left');
});
