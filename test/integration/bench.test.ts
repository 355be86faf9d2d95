// End to end on the real kernel: `bench` on the quick profile with real TAP devices, real
// trafgen, real bpftrace; then the contract other tools rely on, interruption, and errors.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import type { Result } from '../../src/types.ts';
import { cli, CLI, labNamespaces, tmp as tmpDir } from '../helpers/cli.ts';


const bench = (args: string[], env: NodeJS.ProcessEnv = {}) => cli(['bench', '--progress', 'plain', ...args], env);

const tmp = () => tmpDir('tunbench-test');

test('bench --profile quick measures a real tap, and probes agree with the kernel counters', async () => {
  const out = tmp();
  const before = await labNamespaces();
  const r = await bench(['--profile', 'quick', '--out', out]);
  assert.equal(r.exitCode, 0, r.all);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Result;

  // The contract other tools rely on.
  assert.equal(result.schemaVersion, 3);
  assert.equal(result.status, 'complete');
  // Which tunbench: the checkout's commit (the tests run from a git clone).
  assert.match(result.tool.commit ?? '', /^[0-9a-f]{12}(\+dirty)?$/);
  assert.ok(result.environment.kernel.release.length > 0);
  assert.ok(['ptr_ring', 'skb_array', 'sk_receive_queue'].includes(result.environment.tun.queue), result.environment.tun.evidence);
  assert.equal(result.variants.length, 1);
  const trials = result.variants[0]!.trials;
  assert.equal(trials.length, 3);
  for (const t of trials) {
    assert.equal(t.status, 'ok', t.error);
    const m = t.metrics;
    for (const k of ['offered_pps', 'xmit_pps', 'rx_pps', 'drop_pps', 'drop_ratio', 'occupancy_mean', 'occupancy_p99'] as const) {
      assert.equal(typeof m[k], 'number', `${k} missing in trial ${t.index}`);
    }
    assert.equal(m.lock_contention_count, null, 'lock contention is opt-in at counters (probes.locks)');
    assert.ok(m.xmit_pps! > 10_000, `a real flood: xmit ${m.xmit_pps}`);
    assert.ok(m.occupancy_mean! >= 0 && m.occupancy_mean! <= 1);
    assert.ok(t.counters && t.counters.tx_packets > 0);
    assert.ok(t.rawProbeFile && existsSync(join(out, t.rawProbeFile)), 'raw probe output kept');

    // Every count against an independent source, exactly: the tap's tx_packets against the
    // reader's count, trafgen's count against tx_packets + tx_dropped (the counters level runs
    // no program per drop: tx_dropped is the drop count, and has no probe count beside it).
    const byName = (s: string) => t.crossCheck.find((c) => c.name.startsWith(s))!;
    // ... and the sent/lost accounts: the qdisc's count of what it was handed against the
    // reader's count + qdisc drops + tx_dropped.
    assert.equal(t.crossCheck.length, 3);
    assert.ok(byName('sent = delivered').ok);
    assert.equal(byName('packets read').probe, t.counters!.tx_packets);
    assert.equal(byName('packets read').counter, t.counters!.consumer_packets);
    // One trafgen CPU: nothing is dropped in the qdisc, so nothing is reported back to trafgen.
    assert.equal(byName('packets sent').probe, t.readings!.generator!.packetsSent);
    assert.equal(byName('drops'), undefined, 'no drops probe at counters');
    assert.equal(t.readings!.probe!.totals.drops, null);
    assert.equal(typeof m.generator_cpu_ns_per_packet, 'number', 'the sender\'s CPU per packet');
    assert.equal(typeof m.consumer_cpu_ns_per_packet, 'number', 'the reader\'s CPU per packet');
    assert.ok(t.crossCheck.every((c) => c.ok), JSON.stringify(t.crossCheck));
    // The counters level runs no per-packet program, reads the queue itself and says what it cost.
    assert.equal(t.probeBackend, null);
    assert.equal(t.readings!.probe!.queuesFound, 1);
    assert.equal(t.readings!.probe!.xmit, null);
    assert.equal(typeof m.probe_cpu_pct, 'number', 'probe_cpu_pct from the BPF run-time statistics');
    assert.ok(t.readings, 'the readings are saved with the trial');
  }
  assert.deepEqual(await labNamespaces(), before, 'no lab namespace left behind');
});

test('SIGINT in the middle of a run keeps the trials measured, marks the result incomplete, leaves nothing', async () => {
  const out = tmp();
  const before = await labNamespaces();
  const child = spawn(process.execPath, [...CLI, 'bench', '--profile', 'quick', '--repetitions', '6', '--out', out, '--progress', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let trialsEnded = 0;
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    trialsEnded = (err.match(/"event":"trial-end"/g) ?? []).length;
    if (trialsEnded >= 1 && (err.match(/"event":"trial-start"/g) ?? []).length >= 2 && !child.killed) {
      setTimeout(() => child.kill('SIGINT'), 700); // inside the second trial
    }
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 130, err);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Result;
  assert.equal(result.status, 'incomplete');
  assert.match(result.statusReason ?? '', /SIGINT/);
  const ok = result.variants[0]!.trials.filter((t) => t.status === 'ok');
  assert.ok(ok.length >= 1, 'the first trial was kept');
  assert.deepEqual(await labNamespaces(), before, 'no lab namespace left behind after SIGINT');
  const taps = (await execa('ip', ['-o', 'link', 'show'])).stdout;
  assert.ok(!/ tb\d+x\d+[:@]/.test(taps), 'no tap left in the root namespace');
});

test('a malformed profile exits 2 with the file and field, and no stack trace', async () => {
  const dir = tmp();
  const p = join(dir, 'bad.yaml');
  writeFileSync(p, 'name: bad\nworkload:\n  tap: { txQueueLen: "big" }\n');
  const r = await bench(['--profile', p]);
  assert.equal(r.exitCode, 2);
  assert.match(r.all ?? '', /bad\.yaml: workload\.tap\.txQueueLen: expected number/);
  assert.doesNotMatch(r.all ?? '', /\n\s+at /, 'no stack trace');
});

test('an unavailable per-packet attach point is refused before any traffic, exit 2', async (t) => {
  const caps = JSON.parse((await execa(process.execPath, [...CLI, 'doctor', '--json'])).stdout) as { probeBackends: { kprobe: { available: boolean } } };
  if (caps.probeBackends.kprobe.available) {
    t.skip('this kernel has kprobes; the refusal path needs a kernel without them');
    return;
  }
  const r = await bench(['--profile', 'quick', '--probes', 'full', '--backend', 'kprobe']);
  assert.equal(r.exitCode, 2);
  assert.match(r.all ?? '', /kprobe/);
  assert.doesNotMatch(r.all ?? '', /\n\s+at /);
});

test('not root: exit 2 saying root is needed', async () => {
  // An unprivileged user namespace: uid 65534 and no capabilities on the machine, yet the
  // files stay readable (their owner is still us), so the repository may sit anywhere, even
  // in a mode-0700 temporary folder as CI's clone does.
  const r = await execa('unshare', ['--user', process.execPath, ...CLI, 'bench', '--profile', 'quick'], {
    reject: false, all: true, env: { ...process.env, HOME: '/tmp', TUNBENCH_LOCK: '/tmp/tunbench-nonroot.lock' },
  });
  assert.equal(r.exitCode, 2, r.all);
  assert.match(r.all ?? '', /root/);
  assert.doesNotMatch(r.all ?? '', /\n\s+at /);
});

test('an unknown flag exits 2 with a usage hint, no stack trace', async () => {
  const r = await bench(['--profile', 'quick', '--no-such-flag']);
  assert.equal(r.exitCode, 2);
  assert.match(r.all ?? '', /Unknown option '--no-such-flag'/);
  assert.match(r.all ?? '', /--help/);
  assert.doesNotMatch(r.all ?? '', /\n\s+at /);
});
