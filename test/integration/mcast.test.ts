// Issue 23 parts 4-5 on this host's kernel (stock tun), through `tunbench bench`: an IPv6
// multicast burst from one iperf 2 sender (a real UDP socket) through a Linux bridge to three
// taps, each with its own sink, tap 2 up but never read during the transfer. Stock tun drops
// at the unread tap's full ring, so the sender finishes within the deadline, the read taps get
// (nearly) the whole burst, the unread tap holds one ring and drops the rest, recovers once its
// reader resumes, and every per-tap account closes exactly with the sender's frames. The owner
// trace (generator.ownerTrace) sees whose skbs each device got: behind a veth every tap gets
// clones; from the bridge device one tap gets the socket's own skbs.
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
        // the full ring (stock), and the reader took them once resumed. A ring's worth is 256
        // less the slots its reader emptied before (the set-up's MLD reports) that ptr_ring had
        // not yet zeroed: it zeroes them 16 at a time for a 256-slot ring (r->batch), so 241..256.
        assert.equal(a.queuedAtEnd.qdisc, 0);
        assert.ok(a.queuedAtEnd.ring >= 256 - 15 && a.queuedAtEnd.ring <= 256, `${v.name} ${a.name}: ${a.queuedAtEnd.ring} in the ring`);
        assert.equal(a.delivered, a.queuedAtEnd.ring);
        assert.equal(a.tunDrops, s.senderFrames - a.queuedAtEnd.ring);
        assert.equal(a.recovered, true);
      } else {
        assert.ok(a.deliveredRatio! >= 0.5, `${a.name}: read tap got ${a.delivered} of ${s.senderFrames}`);
        assert.equal(a.recovered, null);
      }
    }
    if (v.name === 'all-read') assert.equal(tr.metrics.mcast_unread_recovered, null);
    else assert.equal(tr.metrics.mcast_unread_recovered, 1);

    // Whose skbs each device was handed (generator.ownerTrace, probes/mcast-owner.bt).
    const o = m.owner!;
    assert.ok(o, `${v.name}: the owner trace ran`);
    for (const a of s.taps) {
      const d = o.devices[a.name]!;
      assert.equal(d.charged + d.clones, a.handed, `${v.name} ${a.name}: every skb its qdisc was handed, traced once`);
    }
    const charged = s.taps.filter((a) => o.devices[a.name]!.charged > 0);
    if (v.name === 'bridge-sender') {
      // From the bridge device itself: the flood's last port gets the socket's own skb, every other port a clone.
      assert.equal(o.devices[o.bridge]!.charged, s.senderFrames, 'the bridge device was handed the socket\'s skbs');
      assert.equal(charged.length, 1, `one tap got the sender's own skbs: ${JSON.stringify(o.devices)}`);
      assert.equal(o.devices[charged[0]!.name]!.charged, s.senderFrames);
      assert.deepEqual(s.chargedTaps, [charged[0]!.name]);
      assert.equal(tr.metrics.mcast_unread_charged, charged[0]!.unread ? s.senderFrames : 0);
      t.diagnostic(`bridge sender: tap ${charged[0]!.index} (${charged[0]!.unread ? 'unread' : 'read'}) got the socket's own skbs, the others clones`);
    } else {
      // Behind a bridge port (a veth): the socket's skbs leave through the veth; every tap gets a clone.
      assert.equal(o.devices[o.senderDev]!.charged, s.senderFrames, "the sender's veth was handed the socket's skbs");
      assert.deepEqual(charged, [], `no tap got the sender's own skbs: ${JSON.stringify(o.devices)}`);
      assert.equal(tr.metrics.mcast_unread_charged, v.name === 'all-read' ? null : 0);
    }
  }
});
