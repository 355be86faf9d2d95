// Hangups of a run that drives QEMU: SIGHUP (a closed terminal, a dropped ssh session) to the
// tunbench process must leave no QEMU behind, like SIGINT and SIGTERM: the VM target's QEMU
// (the guest runs tunbench's worker) and a guest consumer's QEMU (reading the lab's tap). The
// run exits 129 and keeps its result marked incomplete. Boots Debian's kernel under TCG here.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Result } from '../../src/types.ts';
import { vmMissing } from '../helpers/vm.ts';
import { tmp as tmpDir } from '../helpers/cli.ts';

const root = process.cwd();
const tmp = tmpDir('tunbench-vmsig');

/** QEMU processes whose parent is `ppid` and whose command line contains `needle`. */
function qemuChildren(ppid: number, needle: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== ppid) continue;
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (/qemu-system/.test(cmd[0] ?? '') && cmd.join(' ').includes(needle)) out.push(Number(d));
    } catch { /* gone meanwhile */ }
  }
  return out;
}

/** Alive = exists and is not a zombie (a zombie has been killed, only not reaped yet). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch { return false; }
}

async function waitFor<T>(what: string, ms: number, f: () => T | null | undefined | false, child: ChildProcess, output: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (child.exitCode !== null || child.signalCode !== null) assert.fail(`tunbench ended (${child.exitCode ?? child.signalCode}) before ${what}:\n${output()}`);
    if (Date.now() > deadline) assert.fail(`no ${what} within ${ms / 1000} s:\n${output()}`);
    await sleep(250);
  }
}

function startBench(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['bin/tunbench.js', 'bench', '--progress', 'plain', '--no-report', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  return { child, output: () => out, exited };
}

async function hangUp(child: ChildProcess, exited: Promise<number | null>, qemu: number[], output: () => string): Promise<void> {
  child.kill('SIGHUP');
  const code = await Promise.race([exited, sleep(60_000).then(() => 'still running' as const)]);
  if (code === 'still running') { child.kill('SIGKILL'); for (const p of qemu) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  assert.equal(code, 129, `exit after SIGHUP:\n${output()}`);
  const left = qemu.filter(alive);
  for (const p of left) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
  assert.deepEqual(left, [], `QEMU still running after SIGHUP to tunbench:\n${output()}`);
  assert.match(output(), /SIGHUP received/);
}

test('SIGHUP to a VM-target run while the guest runs the worker: exit 129, no QEMU left, result marked interrupted', { timeout: 8 * 60_000 }, async (t) => {
  const why = vmMissing();
  if (why) return t.skip(why);
  const dir = join(tmp, 'vm-target');
  const { child, output, exited } = startBench(['--profile', 'vm-quick', '--out', dir]);
  // The VM's QEMU shares the result folder over 9p: its command line names it.
  const qemu = await waitFor('QEMU for the VM', 5 * 60_000, () => { const q = qemuChildren(child.pid!, `path=${dir}`); return q.length ? q : null; }, child, output);
  // The single VM is named after its kernel (debian): its console is vm/debian/console.log.
  const consoleLog = join(dir, 'vm', 'debian', 'console.log');
  await waitFor('guest running the worker', 5 * 60_000, () => existsSync(consoleLog) && readFileSync(consoleLog, 'latin1').includes('TBVM-BOOTED'), child, output);
  await hangUp(child, exited, qemu, output);
  if (existsSync(join(dir, 'result.json'))) {
    const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Result;
    assert.equal(r.status, 'incomplete');
    assert.match(r.statusReason ?? '', /SIGHUP/);
  }
});

test('SIGHUP to a host run with a guest consumer: exit 129, the consumer\'s QEMU is gone', { timeout: 8 * 60_000 }, async (t) => {
  const why = vmMissing();
  if (why) return t.skip(why);
  const profile = join(tmp, 'guest-hup.yaml');
  writeFileSync(profile, [
    'name: guest-hup',
    'duration: 30',
    'rampUp: 0.5',
    'repetitions: 1',
    'warmupTrials: 0',
    'probes: { level: off }',
    'workload:',
    '  tap: { txQueueLen: 1000 }',
    '  generator: { type: trafgen, packetSize: 64, rate: 2000, cpus: 1, qdisc: true }',
    '  consumer: { type: guest, memoryMiB: 256 }',
    '',
  ].join('\n'));
  const dir = join(tmp, 'guest');
  const { child, output, exited } = startBench(['--profile', profile, '--out', dir]);
  // The consumer's QEMU is backed by the lab's tap tb<pid>x<n>.
  const qemu = await waitFor('QEMU for the guest consumer', 5 * 60_000, () => { const q = qemuChildren(child.pid!, `ifname=tb${child.pid}x`); return q.length ? q : null; }, child, output);
  await sleep(3000);
  await hangUp(child, exited, qemu, output);
});

test('SIGTERM to a run of two kernels during a trial: exit 143, both VMs gone, the trials measured kept, the result marked interrupted', { timeout: 10 * 60_000 }, async (t) => {
  const why = vmMissing();
  if (why) return t.skip(why);
  const dir = join(tmp, 'two-kernels');
  const { child, output, exited } = startBench(['--profile', 'vm-quick', '--kernel', 'a=debian', '--kernel', 'b=debian', '--repetitions', '4', '--warmup-trials', '0', '--out', dir]);
  // Both worker VMs are up once the host has the second one's first response.
  await waitFor('a trial measured in VM b', 8 * 60_000, () => existsSync(join(dir, 'vm', 'b', 'response-0.json')), child, output);
  const qemu = qemuChildren(child.pid!, `path=${dir}`);
  assert.equal(qemu.length, 2, 'one QEMU per kernel, both still up (paused or running)');
  child.kill('SIGTERM');
  const code = await Promise.race([exited, sleep(60_000).then(() => 'still running' as const)]);
  if (code === 'still running') { child.kill('SIGKILL'); for (const p of qemu) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  assert.equal(code, 143, output());
  const left = qemu.filter(alive);
  for (const p of left) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
  assert.deepEqual(left, [], 'no QEMU left');
  const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Result;
  assert.equal(r.status, 'incomplete');
  assert.match(r.statusReason ?? '', /interrupted by SIGTERM/);
  // a's first trial and b's (answered before the signal, possibly not yet taken in by the host:
  // the VM executor's arrived()) are both in the result.
  const kept = r.variants.flatMap((v) => v.trials.map((x) => `${v.name}#${x.repetition}:${x.status}`));
  assert.ok(kept.some((k) => k.startsWith('a#0:')), `a's first trial kept: ${kept.join(', ')}`);
  assert.ok(kept.some((k) => k.startsWith('b#0:')), `b's first trial (its response-0.json was on disk before the signal) kept: ${kept.join(', ')}`);
});
