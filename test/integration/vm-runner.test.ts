// VM lab under TCG: boots Debian's kernel and runs commands inside (each boot ~8 s).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fetchDebianKernel, kernelFromPath, runInVm } from '../../src/qemu/index.ts';
import { UserError } from '../../src/errors.ts';
import { tmp } from '../helpers/cli.ts';

const dir = tmp('tbvm-test');
const missing = process.getuid?.() !== 0 ? 'needs root' : !existsSync('/usr/bin/qemu-system-x86_64') ? 'qemu-system-x86_64 not installed (bash scripts/setup.sh --test)' : !existsSync('/bin/busybox') ? 'busybox not installed (bash scripts/setup.sh --test)' : null;
const out = join(dir, 'out');
const run = async (cmd: string, timeoutSeconds = 120) => runInVm({
  kernel: await fetchDebianKernel(), command: ['sh', '-c', cmd], cwd: process.cwd(), outputDir: out,
  accel: 'tcg', timeoutSeconds, consoleLog: join(dir, `console-${Date.now()}.log`), extraModules: ['pktgen'],
});

test('uname, node writes into outputDir, exit status propagates', { timeout: 150_000 }, async (t) => {
  if (missing) return t.skip(missing);
  const k = await fetchDebianKernel();
  const r = await run(`uname -r > ${out}/uname; node -e "require('fs').writeFileSync('${out}/node', 'ok')"; exit 7`);
  assert.equal(r.exitCode, 7);
  assert.equal(r.accel, 'tcg');
  assert.equal(readFileSync(join(out, 'uname'), 'utf8').trim(), k.release);
  assert.equal(readFileSync(join(out, 'node'), 'utf8'), 'ok');
  console.log(`boot ${r.bootSeconds.toFixed(1)} s, total ${r.totalSeconds.toFixed(1)} s`);
});

test('tap device, bpftrace attach, pktgen', { timeout: 150_000 }, async (t) => {
  if (missing) return t.skip(missing);
  const r = await run(`set -e; ip tuntap add dev tbtap0 mode tap; ip link show tbtap0 > ${out}/tap; ls /proc/net/pktgen > ${out}/pktgen; ` +
    `timeout 60 bpftrace -e 'tracepoint:net:net_dev_xmit { @n = count(); } interval:ms:100 { exit(); }' > ${out}/bpf 2>&1`);
  assert.match(readFileSync(join(out, 'tap'), 'utf8'), /tbtap0/);
  assert.match(readFileSync(join(out, 'pktgen'), 'utf8'), /pgctrl/);
  assert.equal(r.exitCode, 0, `bpftrace: ${readFileSync(join(out, 'bpf'), 'utf8')}`);
});

test('bad kernel path is a UserError', () => {
  assert.throws(() => kernelFromPath('/nonexistent/bzImage'), UserError);
  assert.throws(() => kernelFromPath('/etc/hostname'), /not an x86 bzImage/);
});

test('a hanging command hits the timeout and QEMU is gone', { timeout: 120_000 }, async (t) => {
  if (missing) return t.skip(missing);
  // 20 s: the boot takes about 10 s under TCG here, so the command is running when it fires.
  await assert.rejects(run('sleep 1000', 20), (e: unknown) => e instanceof UserError && /timed out after 20 s while running the command.*console log/.test(e.message));
  assert.equal(existsSync(dir), true);
  const ps = execFileSync('ps', ['-eo', 'args']).toString();
  assert.doesNotMatch(ps, new RegExp(`qemu-system.*${dir}`));
});
