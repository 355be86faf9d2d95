// Issue 23 parts 4-5 on this host's kernel (stock tun), through `tunbench bench`: an IPv6
// multicast burst from one iperf 2 sender (a real UDP socket) through a Linux bridge to three
// taps, each with its own sink, tap 2 up but never read during the transfer. Stock tun drops
// at the unread tap's full ring, so the sender finishes within the deadline, the read taps get
// (nearly) the whole burst, the unread tap holds one ring and drops the rest, recovers once its
// reader resumes, and every per-tap account closes exactly with the sender's frames.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa } from 'execa';
import type { Result } from '../../src/types.ts';
import { summariseMcast } from '../../src/trial/mcast-account.ts';
import { iperf2Path } from '../../src/workload/generators/iperf2.ts';

const CLI = ['--import', 'tsx', 'src/cli.ts'];

test('mcast-quick: a multicast burst to 3 taps, one unread: the sender completes, read taps receive, the unread ring fills, drops and recovers; accounts close', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('not root');
  if (!iperf2Path()) return t.skip('iperf 2 is not installed (apt-get install iperf; scripts/setup.sh installs it)');
  const out = mkdtempSync(join(tmpdir(), 'tunbench-mcast-'));
  const r = await execa(process.execPath, [...CLI, 'bench', '--progress', 'plain', '--no-report', '--profile', 'mcast-quick', '--repetitions', '1', '--out', out], { reject: false, all: true, timeout: 120_000 });
  assert.equal(r.exitCode, 0, r.all);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Result;
  assert.equal(result.status, 'complete');
  const BYTES = 8_000_000, LEN = 1200;
  const writes = Math.ceil(BYTES / LEN);
  for (const v of result.variants) {
    const tr = v.trials[0]!;
    assert.equal(tr.status, 'ok', `${v.name}: ${tr.error}`);
    const m = tr.multicast!;
    assert.equal(m.taps.length, 3);
    assert.equal(tr.crossCheck.length, 9);
    for (const c of tr.crossCheck) assert.ok(c.ok, `${v.name}: ${c.name}: ${c.probe} vs ${c.counter}`);
    const s = summariseMcast(m);
    // The sender: every write went out (plus iperf's final datagram), in time, without errors.
    assert.equal(m.sender.report.writes, writes);
    assert.equal(m.sender.report.writeErrors, 0);
    assert.equal(s.senderFrames, writes + 1);
    assert.equal(s.dnf, false);
    assert.equal(s.blocked, false);
    assert.ok(s.senderNs! > 0 && s.senderNs! < 10e9 && s.completionNs! >= s.senderNs!);
    assert.equal(tr.metrics.transfer_dnf, 0);
    for (const a of s.taps) {
      assert.equal(a.handed, s.senderFrames, `${a.name}: the bridge flooded every frame to it`);
      assert.equal(a.delivered + a.tunDrops + a.qdiscDrops, a.handed, `${a.name}: account`);
      if (a.unread) {
        // One ring's worth waited for the reader (tx_queue_len 256), tun dropped the rest at
        // the full ring (stock), and the reader took the 256 once resumed.
        assert.deepEqual(a.queuedAtEnd, { ring: 256, qdisc: 0 });
        assert.equal(a.delivered, 256);
        assert.equal(a.tunDrops, s.senderFrames - 256);
        assert.equal(a.recovered, true);
      } else {
        assert.ok(a.deliveredRatio! >= 0.5, `${a.name}: read tap got ${a.delivered} of ${s.senderFrames}`);
        assert.equal(a.recovered, null);
      }
    }
    if (v.name === 'one-unread') assert.equal(tr.metrics.mcast_unread_recovered, 1);
    else assert.equal(tr.metrics.mcast_unread_recovered, null);
  }
});
