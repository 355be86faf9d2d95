// Two kernels in one run (TCG on the CI machines): Debian's packaged kernel against the patched
// kernel (kernel/, ring mode by default), each in its own VM booted once and paused while the
// other measures; two short trials each plus one warm-up, at the full probe level so that the
// shared per-packet attach point is exercised; `--gate` judges the candidate kernel against
// the base kernel from the same run. Needs the patched kernel (cached, or
// TUNBENCH_KERNEL_BUILD=1 as in CI).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import type { GateOutcome } from '../../src/analysis/types.ts';
import type { Result } from '../../src/types.ts';
import { patchedKernelMissing } from '../helpers/vm.ts';
import { tmp as tmpDir } from '../helpers/cli.ts';

test('debian against patched in one interleaved run: trials alternate, each variant records its kernel, one probe backend, a verdict', { timeout: 20 * 60_000 }, async (t) => {
  const why = patchedKernelMissing();
  if (why) return t.skip(why);
  const tmp = tmpDir('tunbench-vmkernels');
  const profile = join(tmp, 'two-kernels.yaml');
  writeFileSync(profile, [
    'name: two-kernels',
    'target: vm',
    'vm: { cpus: 2, memoryMiB: 1024 }',
    'duration: 1',
    'rampUp: 0.5',
    'repetitions: 2',
    'warmupTrials: 0',
    'probes: { level: full }',
    'workload: { tap: { txQueueLen: 256 }, generator: { type: trafgen, packetSize: 64, qdisc: true }, consumer: { type: sink } }',
    '',
  ].join('\n'));
  const dir = join(tmp, 'out');
  const t0 = Date.now();
  const r = await execa(process.execPath, ['bin/tunbench.js', 'bench', '--profile', profile, '--kernel', 'base=debian', '--kernel', 'cand=patched', '--gate', '--out', dir, '--progress', 'plain'], { reject: false, all: true });
  const out = r.all ?? '';
  const seconds = (Date.now() - t0) / 1000;
  assert.ok(existsSync(join(dir, 'result.json')), out);
  const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Result;
  assert.equal(result.status, 'complete', `${result.statusReason ?? ''}\n${out}`);
  assert.deepEqual(result.variants.map((v) => [v.name, v.baseline]), [['base', true], ['cand', false]]);

  // Interleaved: base cand base cand, by the plan's index (no warm-ups: each full-level trial
  // compiles bpftrace in the TCG guest, about 25 s; warm-ups are ordered in test/unit/plan.test.ts).
  const order = result.variants.flatMap((v) => v.trials).sort((a, b) => a.index - b.index).map((x) => `${x.variant}${x.warmup ? '-w' : x.repetition}`);
  assert.deepEqual(order, ['base0', 'cand0', 'base1', 'cand1']);
  for (const v of result.variants) for (const tr of v.trials) {
    assert.equal(tr.status, 'ok', `trial ${tr.index}: ${tr.error ?? ''}`);
    for (const c of tr.crossCheck) assert.ok(c.ok, `trial ${tr.index} ${tr.variant}: ${c.name}: probe ${c.probe} vs ${c.counter}`);
  }

  // Each variant ran on its own kernel, recorded as such; the same attach point on both sides.
  const [base, cand] = result.variants.map((v) => v.environment!);
  assert.ok(base && cand, 'variants[].environment recorded');
  assert.match(base.kernel.release, /-amd64$/);
  assert.notEqual(cand.kernel.release, base.kernel.release);
  assert.equal(cand.tun.queueModeSwitch, true, 'the candidate VM ran the patched kernel');
  assert.ok(base.probeBackend !== null, 'full level: a per-packet attach point');
  assert.equal(cand.probeBackend, base.probeBackend);
  for (const v of result.variants) for (const tr of v.trials) assert.equal(tr.probeBackend, base.probeBackend);
  assert.equal(result.environment.kernel.release, base.kernel.release, 'the run-level environment is the base kernel');
  assert.ok(base.vm.switches && base.vm.switches.count >= 3, 'the base VM was paused between its trials');

  // A verdict from the same run: with two rounds the paired test cannot reach alpha, so the
  // gate says it cannot judge (exit 2) and how many rounds it needs.
  const gate = JSON.parse(readFileSync(join(dir, 'gate.json'), 'utf8')) as GateOutcome;
  assert.equal(gate.verdict, 'cannot-judge');
  assert.equal(r.exitCode, 2, out);
  assert.match(out, /tunbench gate: CANNOT JUDGE/);
  assert.ok(gate.comparison!.comparisons.every((c) => c.candidate === 'cand' && c.baseline === 'base'));
  assert.match(gate.reasons.join('\n'), /rounds/);
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  assert.match(html, /<section id="kernels">/);
  assert.ok(html.includes(cand.kernel.release) && html.includes(base.kernel.release), 'both kernels in the report');
  assert.doesNotMatch(execFileSync('ps', ['-eo', 'args']).toString(), new RegExp(`qemu-system.*${dir}`), 'no QEMU left');
  console.log(`two kernels: ${base.kernel.release} vs ${cand.kernel.release}, backend ${base.probeBackend}, boot ${base.vm.bootSeconds.toFixed(0)} / ${cand.vm.bootSeconds.toFixed(0)} s, whole run ${seconds.toFixed(0)} s, ${base.vm.switches!.count + cand.vm.switches!.count} pauses (${((base.vm.switches!.seconds + cand.vm.switches!.seconds) * 1000).toFixed(0)} ms in QMP)`);
});
