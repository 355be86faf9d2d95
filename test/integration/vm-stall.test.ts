// stall-vm-quick on tunbench's patched kernel in the TCG VM: a reader stopped (SIGSTOP) for
// 1 s during a fixed pktgen transfer through fq_codel, stock tun against backpressure, one
// trial each. Asserts what the sender and the queue saw: stock drops at tun's ring and never
// stops; backpressure stops the queue for about the stall, drops nothing at tun, and wakes it
// (no hang); both transfers complete with every account exact. Needs the cached patched
// kernel (.cache/kernel) or TUNBENCH_KERNEL_BUILD=1; about 1.5 minutes under TCG.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import type { Result } from '../../src/types.ts';
import { patchedKernelMissing } from '../helpers/vm.ts';

test('stall-vm-quick: a reader stopped for 1 s, stock vs backpressure tun: drops at tun vs a stopped and woken queue; transfers complete, accounts exact', { timeout: 20 * 60_000 }, async (t) => {
  const why = patchedKernelMissing();
  if (why) {
    console.log(`skipped: ${why}`);
    return t.skip(why);
  }
  const dir = join(mkdtempSync(join(tmpdir(), 'tunbench-stall-')), 'run');
  const t0 = Date.now();
  const r = await execa(process.execPath, ['bin/tunbench.js', 'bench', '--profile', 'stall-vm-quick', '--out', dir, '--progress', 'plain', '--no-report'], { reject: false, all: true });
  assert.equal(r.exitCode, 0, r.all);
  const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as Result;
  assert.equal(result.status, 'complete');
  const lines: string[] = [];
  for (const v of result.variants) {
    const bp = v.name.startsWith('bp-');
    const tr = v.trials[0]!;
    const where = `${v.name}`;
    assert.equal(tr.status, 'ok', `${where}: ${tr.error ?? ''}`);
    assert.equal(tr.backpressure, bp, `${where}: fdinfo backpressure`);
    for (const c of tr.crossCheck) assert.ok(c.ok && c.probe === c.counter, `${where}: ${c.name}: ${c.probe} vs ${c.counter}`);
    const x = tr.readings!.transfer!;
    assert.equal(x.verdict, 'completed', `${where}: ${x.reason ?? ''}`);
    const stalled = (x.stall!.resumedNs! - x.stall!.stoppedNs!) / 1e9;
    assert.ok(stalled >= 0.99 && stalled < 1.5, `${where}: the reader was stopped ${stalled} s`);
    // pktgen sent the whole amount, and the quiet span's accounts hold it all.
    assert.equal(tr.readings!.generator!.packetsSent, 200_000, `${where}: pktgen's count`);
    const m = tr.metrics;
    const c = tr.counters!;
    if (bp) {
      assert.equal(c.tx_dropped, 0, `${where}: no drop at tun or at the stopped queue under fq_codel`);
      assert.ok((m.txq_stops ?? 0) >= 1, `${where}: the queue stopped`);
      assert.ok((m.txq_longest_stop_ns ?? 0) >= 0.5e9, `${where}: the longest stop ${m.txq_longest_stop_ns} ns covers the stall`);
      assert.equal(m.txq_hangs, 0, `${where}: woken after the stall`);
    } else {
      assert.ok(c.tx_dropped > 0, `${where}: tun dropped at its full ring during the stall`);
      assert.equal(m.txq_stops ?? 0, 0, `${where}: stock tun never stops the queue`);
    }
    lines.push(`${v.name}: completion ${(m.completion_ns! / 1e9).toFixed(2)} s, sender ${(m.transfer_sender_ns! / 1e9).toFixed(2)} s, delivered ${c.consumer_packets}, tun/stopped drops ${c.tx_dropped}, qdisc drop ${m.qdisc_drop_pps?.toFixed(0)} pps, stops ${m.txq_stops}, longest stop ${((m.txq_longest_stop_ns ?? 0) / 1e6).toFixed(0)} ms, hangs ${m.txq_hangs}`);
  }
  console.log(`stall-vm-quick in ${((Date.now() - t0) / 1000).toFixed(0)} s:\n  ${lines.join('\n  ')}`);
});
