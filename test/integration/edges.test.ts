// Nothing crashes, hangs or leaks (issue 14), end to end through the CLI as root:
//  - every bad input ends before any traffic with exit 2 and one message naming the cause and
//    the fix, no stack trace, no hang, no lab namespace left; profile errors point at the
//    field and the schema, not at doctor;
//  - the order of the checks: input and --out first, then the run lock, then capability
//    detection (seen through a stand-in bpftrace on PATH that leaves a mark when run);
//  - two runs started together never both measure;
//  - a generator killed mid-window fails that trial only: the run finishes, exit 2, the
//    result and the progress say which trial failed;
//  - a second SIGINT forces the exit once cleanup has been tried, and no lab is left.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import type { Result } from '../../src/types.ts';
import { CLI, labNamespaces, tmp as tmpDir } from '../helpers/cli.ts';

const tmp = () => tmpDir('tunbench-edges');

function bench(args: string[], env: NodeJS.ProcessEnv = {}) {
  return execa(process.execPath, [...CLI, 'bench', '--progress', 'plain', '--no-report', ...args], {
    reject: false, all: true, env: { ...process.env, ...env }, timeout: 60_000, forceKillAfterDelay: 2000,
  });
}

/** A PATH whose bpftrace only leaves a mark: proves capability detection did (not) run. */
function markingPath(dir: string): { env: NodeJS.ProcessEnv; mark: string } {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const mark = join(dir, 'bpftrace-ran');
  writeFileSync(join(bin, 'bpftrace'), `#!/bin/sh\necho "$@" >> ${mark}\nexit 1\n`);
  chmodSync(join(bin, 'bpftrace'), 0o755);
  return { env: { PATH: `${bin}:${process.env.PATH}` }, mark };
}

function profile(dir: string, name: string, text: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const aliasBomb = ['name: bomb', 'a: &a ["x","x","x","x","x","x","x","x","x"]']
  .concat(['b', 'c', 'd', 'e', 'f', 'g', 'h'].map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`))
  .join('\n');

interface Case {
  name: string;
  args: (dir: string) => string[];
  message: RegExp;
  /** The hint must point here (profile errors: the schema, not doctor). */
  hint?: RegExp;
  notHint?: RegExp;
}

const PROFILE_FIX = /fix: .*profiles\/profile\.schema\.json/;
const cases: Case[] = [
  { name: '--out naming an existing file', args: (d) => ['--profile', 'quick', '--out', profile(d, 'a-file', 'x')], message: /--out .*a-file: exists and is a file, not a folder/ },
  { name: '--out under a file', args: (d) => ['--profile', 'quick', '--out', join(profile(d, 'a-file2', 'x'), 'sub')], message: /a-file2 is a file, not a folder/ },
  { name: '--out under /proc (Node\'s recursive mkdir spins there)', args: () => ['--profile', 'quick', '--out', '/proc/tunbench-test/x'], message: /--out \/proc\/tunbench-test\/x: under \/proc \(a kernel pseudo file system\)/ },
  { name: '--out under /sys', args: () => ['--profile', 'quick', '--out', '/sys/kernel/tunbench'], message: /under \/sys/ },
  { name: '--out empty', args: () => ['--profile', 'quick', '--out='], message: /--out : an empty path/ },
  { name: 'a YAML alias bomb', args: (d) => ['--profile', profile(d, 'bomb.yaml', aliasBomb)], message: /bomb\.yaml: its aliases expand without bound/ },
  { name: 'a profile nested 100000 deep', args: (d) => ['--profile', profile(d, 'deep.yaml', `name: deep\ndescription: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`)], message: /deep\.yaml: nested too deeply/ },
  { name: 'a binary profile', args: (d) => ['--profile', profile(d, 'bin.yaml', Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256)))], message: /bin\.yaml: not a text file/ },
  { name: 'a huge profile', args: (d) => ['--profile', profile(d, 'huge.yaml', `name: huge\ndescription: "${'x'.repeat(3 * 1024 * 1024)}"\n`)], message: /huge\.yaml is larger than 1024 KiB/ },
  { name: 'two YAML documents', args: (d) => ['--profile', profile(d, 'multi.yaml', 'name: a\n---\nname: b\n')], message: /multi\.yaml: holds more than one YAML document/ },
  { name: 'a list instead of a mapping', args: (d) => ['--profile', profile(d, 'list.yaml', '- a\n- b\n')], message: /list\.yaml: a profile must be a YAML mapping; found a list of 2/ },
  { name: 'an empty profile', args: (d) => ['--profile', profile(d, 'empty.yaml', '')], message: /empty\.yaml: a profile must be a YAML mapping; found null/ },
  { name: 'a field of the wrong type', args: (d) => ['--profile', profile(d, 'type.yaml', 'name: t\nduration: soon\n')], message: /type\.yaml: duration: expected number.*found the string "soon"/, hint: PROFILE_FIX, notHint: /doctor/ },
  { name: 'a field out of range', args: (d) => ['--profile', profile(d, 'range.yaml', 'name: r\nworkload:\n  tap: { txQueueLen: 0 }\n')], message: /range\.yaml: workload\.tap\.txQueueLen: Too small/, hint: PROFILE_FIX },
  { name: 'an unknown field', args: (d) => ['--profile', profile(d, 'unknown.yaml', 'name: u\nduraton: 3\n')], message: /unknown\.yaml: duraton: unknown field/, hint: PROFILE_FIX },
  { name: 'a 5000-character name', args: (d) => ['--profile', profile(d, 'longname.yaml', `name: ${'n'.repeat(5000)}\n`)], message: /longname\.yaml: name: Too big/, hint: PROFILE_FIX },
  { name: 'consumer.cpu this machine lacks', args: (d) => ['--profile', profile(d, 'cpu.yaml', 'name: cpu\nworkload:\n  consumer: { type: sink, cpu: 4095 }\n')], message: /workload\.consumer\.cpu: CPU 4095 does not exist here \(this machine has CPUs? [0-9,-]+\)/, hint: PROFILE_FIX, notHint: /doctor/ },
  { name: 'more generator CPUs than the machine has', args: (d) => ['--profile', profile(d, 'gcpu.yaml', 'name: gcpu\nworkload:\n  generator: { type: trafgen, cpus: 64 }\n')], message: /workload\.generator\.cpus: 64 asks for CPUs 0-63 .* but this machine has CPUs? [0-9,-]+; set cpus to at most \d+/, hint: PROFILE_FIX },
  { name: 'a packet larger than the MTU (a profile error, not a capability)', args: (d) => ['--profile', profile(d, 'mtu.yaml', 'name: mtu\nworkload:\n  generator: { type: trafgen, packetSize: 9000 }\n')], message: /workload\.generator\.packetSize: 9000 is larger than the tap's MTU 1500/, hint: PROFILE_FIX, notHint: /doctor/ },
  { name: 'pktgen burst a tap refuses', args: (d) => ['--profile', profile(d, 'burst.yaml', 'name: burst\nworkload:\n  generator: { type: pktgen, burst: 32 }\n')], message: /workload\.generator\.burst: 32 > 1 is rejected on a tap/, hint: PROFILE_FIX },
  { name: 'an unknown flag', args: () => ['--profile', 'quick', '--no-such-flag'], message: /Unknown option '--no-such-flag'/, hint: /fix: see 'tunbench bench --help'/ },
  { name: 'a flag given twice with different values', args: () => ['--profile', 'quick', '--duration', '1', '--duration', '2'], message: /--duration is given twice/, hint: /--help/ },
  { name: 'conflicting flags --kernel and --target host', args: () => ['--profile', 'quick', '--kernel', 'debian', '--target', 'host'], message: /--kernel debian boots a VM, but --target host/ },
  { name: 'conflicting flags --probes off and --backend', args: () => ['--profile', 'quick', '--probes', 'off', '--backend', 'kprobe'], message: /--probes off attaches no probes/ },
  { name: 'a stray argument', args: () => ['--profile', 'quick', 'quick'], message: /Unexpected argument 'quick'/ },
  { name: 'a flag value out of range', args: () => ['--profile', 'quick', '--repetitions', '0'], message: /repetitions \(--repetitions\): Too small/ },
  { name: 'a flag value that is not a number', args: () => ['--profile', 'quick', '--duration', 'abc'], message: /--duration: expected a number, found 'abc'/ },
  { name: 'an empty --variants list', args: () => ['--profile', 'quick', '--variants', ','], message: /--variants: expected a comma-separated list/ },
  { name: 'a gate baseline that does not exist (refused before the run)', args: (d) => ['--profile', 'quick', '--gate', join(d, 'no-such-result')], message: /no-such-result: no such file: looked for a tunbench result/ },
  { name: 'a profile that does not exist', args: () => ['--profile', 'no-such-profile'], message: /profile 'no-such-profile' not found/ },
];

test('bad input: exit 2 before any traffic, one message with the cause and a matching fix, no stack trace, no hang, no lab left', async () => {
  const dir = tmp();
  const { env, mark } = markingPath(dir);
  const before = await labNamespaces();
  for (const c of cases) {
    const t0 = Date.now();
    const r = await bench(c.args(dir), env);
    const out = r.all ?? '';
    assert.equal(r.timedOut, false, `${c.name}: hung`);
    assert.equal(r.exitCode, 2, `${c.name}: exit ${r.exitCode}\n${out}`);
    assert.match(out, c.message, c.name);
    assert.match(out, /fix: /, `${c.name}: a fix is given`);
    if (c.hint) assert.match(out, c.hint, `${c.name}: the fix points at the right place`);
    if (c.notHint) assert.doesNotMatch(out, c.notHint, `${c.name}: the fix does not point at doctor`);
    assert.doesNotMatch(out, /\n\s+at /, `${c.name}: no stack trace`);
    assert.doesNotMatch(out, /internal error/, `${c.name}: not an internal error`);
    assert.ok(!existsSync(mark), `${c.name}: refused before capability detection (no bpftrace was run)`);
    assert.ok(Date.now() - t0 < 30_000, `${c.name}: took ${Date.now() - t0} ms`);
  }
  assert.deepEqual(await labNamespaces(), before, 'no lab namespace left behind');
  rmSync(dir, { recursive: true, force: true });
});

test('--out in a read-only folder: exit 2 before any traffic', async (t) => {
  const dir = tmp();
  const ro = join(dir, 'ro');
  mkdirSync(ro);
  const m = await execa('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro], { reject: false });
  if (m.exitCode !== 0) {
    t.skip(`cannot mount a read-only tmpfs here: ${m.stderr}`);
    return;
  }
  try {
    const { env, mark } = markingPath(dir);
    for (const out of [ro, join(ro, 'new', 'sub')]) {
      const r = await bench(['--profile', 'quick', '--out', out], env);
      assert.equal(r.exitCode, 2, r.all);
      assert.match(r.all ?? '', /read-only file system/);
      assert.doesNotMatch(r.all ?? '', /\n\s+at /);
      assert.ok(!existsSync(mark), 'refused before capability detection');
    }
  } finally {
    await execa('umount', [ro], { reject: false });
    rmSync(dir, { recursive: true, force: true });
  }
});

test('order: --out is checked before the run lock; the lock is taken before capability detection', async () => {
  const dir = tmp();
  const { env, mark } = markingPath(dir);
  const lock = join(dir, 'run.lock');
  writeFileSync(lock, '1\n'); // held by a live process (pid 1)
  const lockEnv = { ...env, TUNBENCH_LOCK: lock };
  const bad = await bench(['--profile', 'quick', '--out', '/proc/x'], lockEnv);
  assert.equal(bad.exitCode, 2);
  assert.match(bad.all ?? '', /--out \/proc\/x/, 'the --out error, not the lock, is reported first');
  const held = await bench(['--profile', 'quick', '--out', join(dir, 'r')], lockEnv);
  assert.equal(held.exitCode, 2, held.all);
  assert.match(held.all ?? '', /another tunbench run \(pid 1\) is measuring/);
  assert.ok(!existsSync(mark), 'capability detection (which attaches bpftrace programs) did not run while another run holds the lock');
  assert.ok(!existsSync(join(dir, 'r')), 'no result folder made by a refused run');
  assert.equal(readFileSync(lock, 'utf8'), '1\n', 'the live owner\'s lock is untouched');
  rmSync(dir, { recursive: true, force: true });
});

test('two runs started together never both measure', async () => {
  const dir = tmp();
  const before = await labNamespaces();
  const args = (n: number) => ['--profile', 'quick', '--repetitions', '1', '--warmup-trials', '0', '--duration', '1', '--out', join(dir, `run${n}`)];
  const [a, b] = await Promise.all([bench(args(1)), bench(args(2))]);
  const codes = [a.exitCode, b.exitCode].sort();
  assert.deepEqual(codes, [0, 2], `one measures, the other is refused:\n--- 1 ---\n${a.all}\n--- 2 ---\n${b.all}`);
  const refused = a.exitCode === 2 ? a : b;
  const ran = refused === a ? 2 : 1;
  assert.match(refused.all ?? '', /another tunbench run \(pid \d+\) is measuring on this machine/);
  assert.doesNotMatch(refused.all ?? '', /\n\s+at /);
  assert.ok(!existsSync(join(dir, `run${3 - ran}`, 'result.json')), 'the refused run measured nothing');
  const result = JSON.parse(readFileSync(join(dir, `run${ran}`, 'result.json'), 'utf8')) as Result;
  assert.equal(result.status, 'complete');
  assert.deepEqual(await labNamespaces(), before, 'no lab namespace left behind');
  rmSync(dir, { recursive: true, force: true });
});

/** pids of the processes named `comm` inside the namespaces of this bench child. */
async function labProcesses(ownerPid: number, comm: string): Promise<number[]> {
  const out: number[] = [];
  for (const ns of (await labNamespaces()).filter((n) => n.startsWith(`tunbench-${ownerPid}-`))) {
    const pids = (await execa('ip', ['netns', 'pids', ns], { reject: false })).stdout.split('\n').map(Number).filter((n) => n > 0);
    for (const p of pids) {
      try {
        if (readFileSync(`/proc/${p}/comm`, 'utf8').trim() === comm) out.push(p);
      } catch {
        /* gone */
      }
    }
  }
  return out;
}

async function killedMidWindow(comm: string, find: (ownerPid: number) => Promise<number[]>, reason: RegExp): Promise<void> {
  const dir = tmp();
  const out = join(dir, 'run');
  const before = await labNamespaces();
  const child = spawn(process.execPath, [...CLI, 'bench', '--profile', 'quick', '--repetitions', '3', '--warmup-trials', '0', '--duration', '2', '--out', out, '--progress', 'json', '--no-report'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let killed: number[] = [];
  let killing = false;
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    // In the second trial's window: its first live report comes 1 s into the 2 s window.
    const second = err.split('"event":"trial-start"')[2];
    if (!killing && second !== undefined && second.includes('"event":"live"')) {
      killing = true;
      void (async () => {
        killed = await find(child.pid!);
        for (const p of killed) process.kill(p, 'SIGKILL');
      })();
    }
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.ok(killed.length > 0, `${comm} was found and killed in the second trial\n${err}`);
  assert.equal(code, 2, `exit 2: some trials failed\n${err}`);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Result;
  const trials = result.variants[0]!.trials;
  assert.equal(trials.length, 3, 'the run went on after the failed trial');
  const failed = trials.filter((t) => t.status === 'failed');
  assert.equal(failed.length, 1, JSON.stringify(trials.map((t) => [t.index, t.status, t.error])));
  assert.equal(failed[0]!.index, 1);
  assert.match(failed[0]!.error ?? '', reason, `the reason names ${comm}`);
  assert.ok(trials.filter((t) => t.status === 'ok').length === 2, 'the other trials were measured');
  assert.equal(result.status, 'incomplete');
  assert.match(result.statusReason ?? '', /1 of 3 trials failed/);
  assert.match(err, /"event":"run-end".*"failedTrials":1/, 'the progress says a trial failed');
  assert.deepEqual(await labNamespaces(), before, 'no lab namespace left behind');
  // No generator outlives its lab (one was once found still flooding a deleted namespace).
  const left = (await execa('ps', ['-eo', 'pid,args'])).stdout.split('\n').filter((l) => l.includes(`--dev tb${child.pid}x`));
  assert.deepEqual(left, [], 'no process of this run left behind');
  rmSync(dir, { recursive: true, force: true });
}

test('a generator killed mid-window fails that trial only; the run finishes, exit 2, result and progress say so', async () => {
  await killedMidWindow('trafgen', (owner) => labProcesses(owner, 'trafgen'), /generator/);
});

test('the probes killed mid-window fail that trial only (its probe figures are missing); exit 2', async () => {
  await killedMidWindow('bpftrace', async (owner) => childrenNamed(owner, 'bpftrace'), /probes \(bpftrace\) exited during the window/);
});

/** pids of the descendants of `pid` named `comm` (bpftrace runs beside the lab, not inside it). */
function childrenNamed(pid: number, comm: string): number[] {
  const out: number[] = [];
  const walk = (p: number) => {
    let kids: number[] = [];
    try {
      kids = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return;
    }
    for (const k of kids) {
      try {
        if (readFileSync(`/proc/${k}/comm`, 'utf8').trim() === comm) out.push(k);
      } catch {
        /* gone */
      }
      walk(k);
    }
  };
  walk(pid);
  return out;
}

test('a second SIGINT forces the exit once cleanup has been tried; nothing is left', async () => {
  const dir = tmp();
  const before = await labNamespaces();
  const child = spawn(process.execPath, [...CLI, 'bench', '--profile', 'quick', '--out', join(dir, 'run'), '--progress', 'json', '--no-report'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let sent = false;
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    if (!sent && /"event":"trial-start"/.test(err)) {
      sent = true;
      setTimeout(() => {
        child.kill('SIGINT');
        setTimeout(() => child.kill('SIGINT'), 10);
      }, 1500);
    }
  });
  const t0 = Date.now();
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 130, err);
  // The second signal lands while the first one's cleanup runs (it takes longer than 10 ms).
  assert.match(err, /SIGINT again: forcing the exit/, err);
  assert.ok(Date.now() - t0 < 20_000);
  // A forced exit may leave a namespace the cleanup did not finish; the next start reaps it
  // (owner dead). Either way none may outlive that: reap as a next run would, then compare.
  const { reapStaleLabs } = await import('../../src/lab/reap.ts');
  await reapStaleLabs();
  assert.deepEqual(await labNamespaces(), before, 'no lab namespace left behind');
  const taps = (await execa('ip', ['-o', 'link', 'show'])).stdout;
  assert.ok(!new RegExp(` tb${child.pid}x\\d+[:@]`).test(taps), 'no tap left in the root namespace');
  rmSync(dir, { recursive: true, force: true });
});
