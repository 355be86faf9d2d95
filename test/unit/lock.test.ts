// The run lock under contention: processes racing for it never hold it at the same time,
// a dead owner's lock and a dead claimer's takeover claim are taken over, a live owner's
// lock is never removed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UserError } from '../../src/errors.ts';
import { acquireRunLock } from '../../src/process/lock.ts';

const WORKER = join(import.meta.url.replace('file://', '').replace(/\/unit\/lock\.test\.ts$/, ''), 'helpers', 'lock-worker.ts');

function worker(lock: string, log: string, rounds: number, env: NodeJS.ProcessEnv = {}, holdMs = 1) {
  return spawn(process.execPath, ['--import', 'tsx', WORKER, lock, log, String(rounds), String(holdMs)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
}

async function finish(c: ReturnType<typeof worker>): Promise<{ held: number; refused: number }> {
  let out = '';
  let err = '';
  c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(c, 'exit')) as [number | null];
  assert.equal(code, 0, err);
  return JSON.parse(out) as { held: number; refused: number };
}

/** Replays start/end lines: never two holders at once. */
function assertExclusive(log: string): number {
  let holder: string | null = null;
  let holds = 0;
  for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
    const [what, pid] = line.split(' ');
    if (what === 'start') {
      assert.equal(holder, null, `pid ${pid} took the lock while pid ${holder} held it`);
      holder = pid!;
      holds++;
    } else {
      assert.equal(holder, pid, `end by ${pid} while ${holder} held it`);
      holder = null;
    }
  }
  return holds;
}

test('run lock: 6 processes racing 150 times each, starting from a stale lock and a stale claim, never hold it together', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunbench-lock-'));
  const lock = join(dir, 'run.lock');
  const log = join(dir, 'log');
  writeFileSync(log, '');
  writeFileSync(lock, '999999999 1\n'); // a dead owner
  mkdirSync(`${lock}.claim`);
  writeFileSync(join(`${lock}.claim`, '999999998-1'), ''); // a claimer that died mid-takeover
  const outcomes = await Promise.all(Array.from({ length: 6 }, () => finish(worker(lock, log, 150))));
  const holds = assertExclusive(log);
  assert.equal(holds, outcomes.reduce((s, o) => s + o.held, 0));
  assert.ok(holds >= 6, `the lock was taken ${holds} times`);
  assert.ok(outcomes.some((o) => o.refused > 0), 'some attempts met a live holder and were refused');
  // (The previous open('wx')-then-write lock failed here: a contender read the lock between
  // its creation and the pid's write, or after its release, and crashed or took it over.)
  assert.ok(!existsSync(lock), 'released at the end');
  rmSync(dir, { recursive: true, force: true });
});

test('run lock: an owner killed while holding it is taken over; a live owner is refused by pid', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunbench-lock-'));
  const lock = join(dir, 'run.lock');
  const log = join(dir, 'log');
  writeFileSync(log, '');
  const holder = worker(lock, log, 1, { HOLD_FOREVER: '1' });
  for (let i = 0; i < 200 && !readFileSync(log, 'utf8').includes('end'); i++) await new Promise((r) => setTimeout(r, 25));
  assert.match(readFileSync(log, 'utf8'), /end/, 'the holder took the lock');
  assert.throws(() => acquireRunLock(lock), (e: unknown) => e instanceof UserError && e.message.includes(`pid ${holder.pid}`));
  assert.ok(existsSync(lock), 'a live owner\'s lock is left alone');
  holder.kill('SIGKILL');
  await once(holder, 'exit');
  const release = acquireRunLock(lock);
  assert.match(readFileSync(lock, 'utf8'), new RegExp(`^${process.pid} `));
  release();
  release(); // idempotent
  assert.ok(!existsSync(lock));
  rmSync(dir, { recursive: true, force: true });
});

test('run lock: a pid that is alive but started at another time (reused) is not the owner', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunbench-lock-'));
  const lock = join(dir, 'run.lock');
  writeFileSync(lock, '1 1234567890123\n'); // pid 1 is alive, but did not start then
  const release = acquireRunLock(lock);
  release();
  writeFileSync(lock, '1\n'); // no start time recorded: pid 1 alive means held
  assert.throws(() => acquireRunLock(lock), /pid 1/);
  rmSync(dir, { recursive: true, force: true });
});
