// backpressure-quick on tunbench's patched kernel in the TCG VM: stock tun (tap.backpressure
// false) and tunbench's backpressure (patch 0002, true) on ONE kernel, interleaved in one run,
// under fq_codel and noqueue. Asserts what the mechanism claims and what the accounting must
// show: fq_codel + backpressure: no tun drop, the queue stopped and woken, every account
// exact; noqueue + backpressure: the drops at the stopped queue, none at tun's ring; stock:
// tun's drops, never a stop. Needs the cached patched kernel (.cache/kernel) or
// TUNBENCH_KERNEL_BUILD=1; about 2.5 minutes under TCG.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import type { Result, TrialResult } from '../../src/types.ts';
import { patchedKernelMissing } from '../helpers/vm.ts';
import { tmp } from '../helpers/cli.ts';

test('backpressure-quick: stock vs backpressure tun on the patched kernel, fq_codel and noqueue, drops attributed and accounts exact', { timeout: 20 * 60_000 }, async (t) => {
  const why = patchedKernelMissing();
  if (why) {
    console.log(`skipped: ${why}`);
    return t.skip(why);
  }
  const dir = join(tmp('tunbench-bp'), 'run');
  const t0 = Date.now();
  // One trial a variant (the profile has 2): every assertion is per trial, the four trials still
  // run one after another in the one VM, and CI's time is short.
  const r = await execa(process.execPath, ['bin/tunbench.js', 'bench', '--profile', 'backpressure-quick', '--repetitions', '1', '--out', dir, '--progress', 'plain', '--no-report'], { reject: false, all: true });
  const out = r.all ?? '';
  assert.equal(r.exitCode, 0, out);
  const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Result;
  assert.equal(result.status, 'complete');
  assert.equal(result.environment.tun.backpressureSwitch, true, 'the guest kernel has tun.backpressure');
  assert.deepEqual(result.variants.map((v) => v.name), ['stock-fq_codel', 'bp-fq_codel', 'stock-noqueue', 'bp-noqueue']);
  const m = (tr: TrialResult, k: string): number => {
    const v = (tr.metrics as Record<string, number | null | undefined>)[k];
    assert.ok(typeof v === 'number' && Number.isFinite(v), `trial ${tr.index} ${tr.variant}: ${k} is ${v}`);
    return v;
  };
  const lines: string[] = [];
  for (const v of result.variants) {
    const bp = v.name.startsWith('bp-');
    const qdisc = v.name.split('-')[1];
    assert.equal(v.trials.length, 1);
    for (const tr of v.trials) {
      const where = `trial ${tr.index} ${v.name}`;
      assert.equal(tr.status, 'ok', `${where}: ${tr.error ?? ''}`);
      // The reader's fdinfo says each queue took the switch.
      assert.equal(tr.backpressure, bp, `${where}: fdinfo backpressure`);
      // Every cross-check, the sent/lost accounts among them, closes exactly.
      assert.ok(tr.crossCheck.some((c) => c.name.startsWith('packets sent')), `${where}: the sent/lost account was checked`);
      for (const c of tr.crossCheck) assert.ok(c.ok && c.probe === c.counter, `${where}: ${c.name}: ${c.probe} vs ${c.counter}`);
      // pktgen's own count: every packet it handed over was delivered or dropped at the tap
      // (fq_codel's own drops excepted, which pktgen is not told of).
      const c = tr.counters!;
      const gen = tr.readings!.generator!;
      if (qdisc === 'noqueue') assert.equal((gen.packetsSent ?? NaN) + (gen.errors ?? 0), c.tx_packets + c.tx_dropped, `${where}: pktgen's count`);
      const tun = m(tr, 'tun_drop_pps');
      const stopped = m(tr, 'stopped_queue_drop_pps');
      const frac = m(tr, 'txq_stopped_fraction');
      const stops = m(tr, 'txq_stops');
      if (bp) {
        assert.equal(tun, 0, `${where}: tun dropped nothing at its ring`);
        assert.ok(stops > 0 || frac > 0, `${where}: the queue was seen stopped (stops ${stops}, fraction ${frac})`);
        assert.equal(m(tr, 'txq_hangs'), 0, `${where}: the queue was woken`);
        if (qdisc === 'noqueue') assert.ok(stopped > 0, `${where}: drops at the stopped queue (${stopped} pps)`);
        else {
          assert.equal(stopped, 0, `${where}: fq_codel holds the packets; nothing dropped at the stopped queue`);
          assert.equal(c.tx_dropped, 0, `${where}: tx_dropped`);
        }
      } else {
        assert.ok(tun > 0, `${where}: stock tun drops at its full ring (${tun} pps)`);
        assert.equal(stopped, 0, `${where}: no drop at a stopped queue on stock tun`);
        assert.equal(stops, 0, `${where}: stock tun never stops the queue`);
        assert.equal(frac, 0, `${where}: never stopped`);
      }
      const k = (x: number) => (x / 1000).toFixed(2);
      lines.push(`${v.name} #${tr.index}: offered ${k(m(tr, 'sent_pps'))} Kpps, delivered ${k(m(tr, 'rx_pps'))} Kpps, tun drops ${k(tun)}, stopped-queue drops ${k(stopped)}, qdisc drops ${k(tr.metrics.qdisc_drop_pps ?? 0)} (aqm ${k(tr.metrics.qdisc_aqm_drop_pps ?? 0)}), stopped ${(frac * 100).toFixed(1)}%, stops ${stops}, longest stop ${((tr.metrics.txq_longest_stop_ns ?? 0) / 1e6).toFixed(1)} ms`);
    }
  }
  console.log(`backpressure-quick in ${((Date.now() - t0) / 1000).toFixed(0)} s:\n${lines.join('\n')}`);
  assert.ok(existsSync(join(dir, 'result.json')));
});
