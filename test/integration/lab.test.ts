// The lab on the real kernel: namespace + tap with the profile's settings, cleanup on normal
// end, on SIGINT/SIGTERM, and reaping after SIGKILL; the run lock.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { execa } from 'execa';
import { UserError } from '../../src/errors.ts';
import { listNetns } from '../../src/lab/ip.ts';
import { assertLabNamespace, createLab } from '../../src/lab/lab.ts';
import { acquireRunLock } from '../../src/process/lock.ts';
import { reapStaleLabs } from '../../src/lab/reap.ts';

async function tapExists(netns: string, tap: string): Promise<boolean> {
  return (await execa('ip', ['-n', netns, 'link', 'show', 'dev', tap], { reject: false })).exitCode === 0;
}

function startChild(queues = 1): Promise<{ child: ReturnType<typeof spawn>; netns: string; tap: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/lab-child.ts', String(queues)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n')[0];
      if (buf.includes('\n') && line) resolve({ child, ...(JSON.parse(line) as { netns: string; tap: string }) });
    });
    child.on('exit', (code) => reject(new Error(`lab child exited ${code} before printing`)));
  });
}

test('a lab has a tap with the requested txqueuelen, mtu and queues, and is gone after destroy()', async () => {
  const lab = await createLab({ txQueueLen: 256, mtu: 9000, queues: 2 });
  try {
    assert.ok((await listNetns()).includes(lab.netns));
    const [info] = JSON.parse((await execa('ip', ['-n', lab.netns, '-j', '-d', 'link', 'show', 'dev', lab.tap])).stdout) as { txqlen: number; mtu: number; linkinfo?: { info_kind?: string; info_data?: { type?: string; multi_queue?: boolean } } }[];
    assert.equal(info!.txqlen, 256);
    assert.equal(info!.mtu, 9000);
    assert.equal(info!.linkinfo?.info_kind, 'tun');
    assert.equal(info!.linkinfo?.info_data?.type, 'tap');
    assert.equal(info!.linkinfo?.info_data?.multi_queue, true);
    assert.equal(lab.capacity, 512);
    assert.ok(lab.tap.length <= 15);
  } finally {
    await lab.destroy();
  }
  assert.ok(!(await listNetns()).includes(lab.netns));
});

test('two labs at once get distinct namespaces and tap names', async () => {
  const [a, b] = await Promise.all([createLab({ txQueueLen: 64, mtu: 1500, queues: 1 }), createLab({ txQueueLen: 64, mtu: 1500, queues: 1 })]);
  try {
    assert.notEqual(a.netns, b.netns);
    assert.notEqual(a.tap, b.tap);
  } finally {
    await Promise.all([a.destroy(), b.destroy()]);
  }
});

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  test(`${sig} removes the lab before the process exits`, async () => {
    const { child, netns, tap } = await startChild();
    assert.ok(await tapExists(netns, tap));
    child.kill(sig);
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, sig === 'SIGINT' ? 130 : 143);
    assert.ok(!(await listNetns()).includes(netns), `${netns} left behind`);
  });
}

test('a lab left by a SIGKILLed run is reaped at the next start; live owners are left alone', async () => {
  const killed = await startChild();
  const alive = await startChild();
  try {
    killed.child.kill('SIGKILL');
    await once(killed.child, 'exit');
    assert.ok((await listNetns()).includes(killed.netns), 'SIGKILL cannot clean up');
    const reaped = await reapStaleLabs();
    assert.ok(reaped.includes(killed.netns));
    assert.ok(!reaped.includes(alive.netns));
    assert.ok(!(await listNetns()).includes(killed.netns));
    assert.ok((await listNetns()).includes(alive.netns));
  } finally {
    alive.child.kill('SIGTERM');
    await once(alive.child, 'exit');
  }
});

test('traffic is refused into a namespace tunbench did not create', () => {
  assert.throws(() => assertLabNamespace('my-vm-ns'), UserError);
  assert.doesNotThrow(() => assertLabNamespace('tunbench-123-0'));
});

test('run lock: a second holder is refused while the first is alive; a dead owner\'s lock is taken over', () => {
  const path = `/tmp/tunbench-test-${process.pid}.lock`;
  rmSync(path, { force: true });
  const release = acquireRunLock(path);
  writeFileSync(path, '1\n'); // pid 1 is always alive: someone else holds it
  assert.throws(() => acquireRunLock(path), (e: unknown) => e instanceof UserError && /pid 1/.test(e.message));
  writeFileSync(path, '999999999\n'); // dead owner
  const release2 = acquireRunLock(path);
  assert.ok(existsSync(path));
  release2();
  assert.ok(!existsSync(path));
  release();
});
