// Several kernels in one run: crossing the profile with --kernel, grouping variants into VMs,
// the shared probe backend, the run's own gate, the watchdog, and QMP against a socket that
// speaks the protocol.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gateWithinRun, severalKernels } from '../../src/analysis/run-gate.ts';
import { applyOverrides, main as bench } from '../../src/commands/bench.ts';
import { UserError } from '../../src/errors.ts';
import { crossKernels, kernelLabel, parseKernelArg, vmGroups } from '../../src/kernel/specs.ts';
import { parseProfile } from '../../src/profile/load.ts';
import { buildPlan, resolveVariants, variantVm } from '../../src/profile/plan.ts';
import { ProfileSchema } from '../../src/profile/schema.ts';
import type { VariantEnvironment } from '../../src/types.ts';
import { chooseBackends } from '../../src/doctor/requirements.ts';
import { connectQmp } from '../../src/qemu/qmp.ts';
import { watchdogSeconds } from '../../src/qemu/watchdog.ts';
import { fixtureCaps, fixtureResult } from '../helpers/result-fixture.ts';

const cross = (yaml: string, kernels: string[]) => ProfileSchema.parse(crossKernels(parseProfile(yaml, 'p'), kernels.map(parseKernelArg)));

test('--kernel NAME=SPEC and bare SPEC parse; bad names are refused with the fix', () => {
  assert.deepEqual(parseKernelArg('base=debian'), { name: 'base', spec: 'debian' });
  assert.deepEqual(parseKernelArg('cand=/src/linux=x/'), { name: 'cand', spec: '/src/linux=x/' });
  assert.deepEqual(parseKernelArg('/boot/vmlinuz-6.1'), { name: 'vmlinuz-6.1', spec: '/boot/vmlinuz-6.1' });
  assert.equal(kernelLabel('/home/u/linux/'), 'linux');
  assert.throws(() => parseKernelArg('bad name=debian'), (e: unknown) => e instanceof UserError && /letters, digits/.test(e.message));
  assert.throws(() => parseKernelArg('base='), UserError);
  assert.throws(() => crossKernels(parseProfile('name: x', 'p'), [parseKernelArg('a=debian'), parseKernelArg('a=patched')]), /given twice/);
});

test('a profile of one variant becomes one variant per kernel, named after it, the first the baseline', () => {
  const p = cross('name: x\nworkload: { tap: { txQueueLen: 64 } }\n', ['base=debian', 'cand=patched']);
  assert.equal(p.target, 'vm');
  const vs = resolveVariants(p);
  assert.deepEqual(vs.map((v) => [v.name, v.baseline, v.vm?.kernel, v.vm?.name, v.workload.tap.txQueueLen]), [['base', true, 'debian', 'base', 64], ['cand', false, 'patched', 'cand', 64]]);
  // interleaved across the kernels, warm-ups per kernel
  const plan = buildPlan({ ...p, repetitions: 2, warmupTrials: 1 });
  assert.deepEqual(plan.trials.map((t) => `${t.variant}${t.warmup ? 'w' : t.repetition}`), ['basew', 'candw', 'base0', 'cand0', 'base1', 'cand1']);
});

test('several variants become VARIANT@KERNEL, each compared with its twin on the base kernel', () => {
  const p = cross('name: x\nvariants:\n  - { name: ring, baseline: true }\n  - { name: skq, compareTo: ring, workload: { tap: { queueMode: skq } } }\n  - { name: small, workload: { tap: { txQueueLen: 64 } } }\n', ['base=debian', 'cand=patched']);
  const vs = resolveVariants(p);
  assert.deepEqual(vs.map((v) => [v.name, v.baseline, v.compareTo ?? null, v.vm?.kernel]), [
    ['ring@base', true, null, 'debian'], ['ring@cand', false, 'ring@base', 'patched'],
    ['skq@base', false, 'ring@base', 'debian'], ['skq@cand', false, 'skq@base', 'patched'],
    ['small@base', false, null, 'debian'], ['small@cand', false, 'small@base', 'patched'],
  ]);
  assert.equal(vs.find((v) => v.name === 'skq@cand')!.workload.tap.queueMode, 'skq');
  assert.deepEqual(vmGroups(vs, p.vm).map((g) => [g.name, g.variants.length]), [['base', 3], ['cand', 3]]);
});

test('variants group by the VM they need; a variant with its own kernel does not inherit the profile kernel\'s modulesDir', () => {
  const p = parseProfile('name: x\ntarget: vm\nvm: { kernel: /k/bzImage, modulesDir: /k/mods }\nvariants:\n  - { name: a }\n  - { name: b, vm: { cpus: 1 } }\n  - { name: c, vm: { kernel: debian } }\n  - { name: d, vm: { kernel: debian } }\n', 'p');
  const vs = resolveVariants(p);
  assert.equal(vs[1]!.vm?.modulesDir, '/k/mods');
  assert.equal(vs[1]!.vm?.cpus, 1);
  assert.equal(vs[2]!.vm?.modulesDir, undefined);
  assert.deepEqual(vmGroups(vs, p.vm).map((g) => [g.name, g.variants]), [['bzImage', ['a']], ['bzImage-2', ['b']], ['debian', ['c', 'd']]]);
  assert.deepEqual(variantVm(p.vm, undefined), p.vm);
  // host target: no VM per variant
  assert.equal(resolveVariants(parseProfile('name: x\nvariants: [{ name: a, vm: { cpus: 1 } }]\n', 'p'))[0]!.vm, undefined);
});

test('backend auto: the best attach point every kernel offers; a pinned one must exist on its own kernel', () => {
  const yes = { available: true, reason: 'y' };
  const no = { available: false, reason: 'no kprobes' };
  const k1 = { probeBackends: { tracepoint: yes, kprobe: yes, fentry: yes } };
  const k2 = { probeBackends: { tracepoint: yes, kprobe: yes, fentry: no } };
  const p = cross('name: x\nprobes: { level: full }\n', ['a=debian', 'b=patched']);
  const vs = resolveVariants(p);
  const caps = (v: string) => (v === 'a' ? k1 : k2);
  assert.deepEqual([...chooseBackends(vs, null, caps, [k1, k2])], [['a', 'kprobe'], ['b', 'kprobe']]);
  const pinned = resolveVariants({ ...p, variants: p.variants.map((v) => ({ ...v, probes: { backend: 'fentry' } })) });
  assert.throws(() => chooseBackends(pinned, null, caps, [k1, k2]), /fentry probe backend is not available/);
  const counters = resolveVariants(cross('name: x\nprobes: { level: counters }\n', ['a=debian', 'b=patched']));
  assert.deepEqual([...chooseBackends(counters, null, caps, [k1, k2])], [['a', null], ['b', null]]);
  // One kernel (the host, or one VM): its own attach points; auto with none at all: null (the requirement check says why).
  assert.deepEqual([...chooseBackends(vs, buildPlan(p, vs), () => k2, [k2])], [['a', 'kprobe'], ['b', 'kprobe']]);
  const none = { probeBackends: { tracepoint: no, kprobe: no, fentry: no } };
  assert.deepEqual([...chooseBackends(vs, buildPlan(p, vs), () => none, [none])], [['a', null], ['b', null]]);
});

test('the inactivity watchdog: boot allowance or one slowed-down trial, whichever is longer', () => {
  const p = parseProfile('name: x\ntarget: vm\nduration: 20\nrampUp: 2\nvm: { slowdown: 4, bootTimeoutSeconds: 60 }\n', 'p');
  assert.equal(watchdogSeconds(p, resolveVariants(p)), (20 + 2 + 10) * 4);
  const q = parseProfile('name: x\ntarget: vm\nduration: 1\nrampUp: 0\nvm: { slowdown: 1, bootTimeoutSeconds: 100 }\n', 'p');
  assert.equal(watchdogSeconds(q, resolveVariants(q)), 100);
});

test('the run gate on a multi-kernel result judges only kernel against base kernel', () => {
  const r = fixtureResult({ variants: ['ring@base', 'ring@cand', 'small@base', 'small@cand'], trials: 12 });
  const env = (vmName: string): VariantEnvironment => ({ vmName, kernel: fixtureCaps.kernel, tun: fixtureCaps.tun, capabilities: fixtureCaps, probeBackend: null, vm: { kernel: { release: 'x', source: 'path', image: '/x', spec: vmName }, accel: 'tcg', accelReason: '', cpus: 2, memoryMiB: 2048, bootSeconds: 1, totalSeconds: 2, consoleLog: '' } });
  for (const v of r.variants) {
    v.environment = env(v.name.split('@')[1]!);
    if (v.name.endsWith('@cand')) v.compareTo = v.name.replace('@cand', '@base');
  }
  assert.equal(severalKernels(r), true);
  const g = gateWithinRun(r, { ...r.profile.gate, metrics: ['rx_pps'] });
  assert.deepEqual([...new Set(g.comparison!.comparisons.map((c) => `${c.candidate} vs ${c.baseline}`))], ['ring@cand vs ring@base', 'small@cand vs small@base']);
  assert.ok(g.tests.length === 2, JSON.stringify(g.reasons));
  // fixture: variant i is 10% x i slower, so each @cand (odd index) is slower than its @base twin
  assert.equal(g.verdict, 'regression');
  const one = fixtureResult({ variants: ['only'], trials: 6 });
  const g1 = gateWithinRun(one, one.profile.gate);
  assert.equal(g1.exitCode, 2);
  assert.match(g1.reasons.join(' '), /nothing to judge it against/);
});

test('bench: several --kernel flags need names; a bad one is refused before any run (exit 2 via UserError)', async () => {
  await assert.rejects(bench(['--kernel', 'debian', '--kernel', 'patched', '--profile', 'quick']), /need a name each/);
  await assert.rejects(bench(['--kernel', 'a=debian', '--kernel', 'a=patched', '--profile', 'quick']), /given twice/);
  // one bare --kernel keeps its old meaning
  assert.equal(applyOverrides(parseProfile('name: x', 'p'), { kernel: 'patched' }).vm.kernel, 'patched');
});

test('QMP: greeting, capabilities, stop and cont over a unix socket; errors and a closed socket reject', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tb-qmp-'));
  const path = join(dir, 'qmp.sock');
  const seen: string[] = [];
  const server = createServer((c) => {
    c.write('{"QMP": {"version": {"qemu": {"major": 10}}, "capabilities": []}}\r\n');
    let buf = '';
    c.on('data', (b) => {
      buf += b.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const cmd = (JSON.parse(buf.slice(0, nl)) as { execute: string }).execute;
        buf = buf.slice(nl + 1);
        seen.push(cmd);
        if (cmd === 'stop') c.write('{"timestamp": {"seconds": 1}, "event": "STOP"}\r\n');
        if (cmd === 'bogus') c.write('{"error": {"class": "CommandNotFound", "desc": "bogus"}}\r\n');
        else if (cmd === 'quit') c.end();
        else c.write('{"return": {}}\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  try {
    const qmp = await connectQmp(path, 5000);
    assert.deepEqual(await qmp.execute('stop'), {});
    assert.deepEqual(await qmp.execute('cont'), {});
    await assert.rejects(qmp.execute('bogus'), /CommandNotFound/);
    await assert.rejects(qmp.execute('quit'), /closed/);
    await assert.rejects(qmp.execute('cont'), /closed/);
    assert.deepEqual(seen, ['qmp_capabilities', 'stop', 'cont', 'bogus', 'quit']);
    qmp.close();
  } finally {
    server.close();
  }
  await assert.rejects(connectQmp(join(dir, 'absent.sock'), 300), /cannot reach QEMU's monitor/);
});

test('bench --bisect: anything that cannot run or judge is 125 (skip), never 2', async () => {
  assert.equal(await bench(['--bisect', '--profile', '/nonexistent/profile.yaml']), 125);
  assert.equal(await bench(['--bisect', '--kernel', 'a=debian', '--kernel', 'a=patched']), 125);
});

test('a kernel spec that is neither debian, patched, a file nor a kernel tree is refused before any boot', async () => {
  const { kernelSpecProblem } = await import('../../src/kernel/specs.ts');
  assert.equal(kernelSpecProblem('debian'), null);
  assert.match(kernelSpecProblem('/nonexistent/bzImage') ?? '', /does not exist/);
  assert.match(kernelSpecProblem(tmpdir()) ?? '', /not a kernel source tree/);
  await assert.rejects(bench(['--profile', 'vm-quick', '--kernel', 'base=debian', '--kernel', `cand=${tmpdir()}`]), (e: unknown) => e instanceof UserError && /--kernel cand: .*not a kernel source tree/.test(e.message));
});
