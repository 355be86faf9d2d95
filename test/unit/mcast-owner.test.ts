// probes/mcast-owner.bt's script and output (src/probes/mcast-owner.ts), and what the multicast
// account makes of the counts. The trace itself runs in test/integration/mcast.test.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseOwnerOutput, renderOwnerScript } from '../../src/probes/mcast-owner.ts';
import { summariseMcast, type McastReadings } from '../../src/trial/mcast-account.ts';
import { mcastMetrics } from '../../src/trial/mcast-trial.ts';

test('the owner script names exactly the lab devices, and refuses anything that is not a device name', () => {
  const s = renderOwnerScript(['tb1x0br', 'tb1x0t0', 'tb1x0t1']);
  assert.match(s, /\/ str\(args->name\) == "tb1x0br" \|\| str\(args->name\) == "tb1x0t0" \|\| str\(args->name\) == "tb1x0t1" \//);
  assert.doesNotMatch(s, /\/ \{\{DEVICES\}\} \//);
  assert.match(s, /^ \* KERNELS:/m);
  assert.match(s, /^ \* COST:/m);
  assert.throws(() => renderOwnerScript(['a" || 1 || "b']), /not a device name/);
  assert.throws(() => renderOwnerScript(['sixteen-chars-xx']), /not a device name/);
  assert.throws(() => renderOwnerScript([]), /no device/);
  // skb->sk typed without the offset, a raw load with it (no kernel type named in the code).
  assert.match(s, /if \(\(\(struct sk_buff \*\)args->skbaddr\)->sk != 0\) \{/);
  const raw = renderOwnerScript(['tb1x0br'], 24);
  assert.match(raw, /if \(\*\(uint64 \*\)\(\(uint64\)args->skbaddr \+ 24\) != 0\) \{/);
  assert.doesNotMatch(raw.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, ''), /struct |\{\{/);
  assert.throws(() => renderOwnerScript(['tb1x0br'], -1), /bad BTF offset/);
});

test('bpftrace JSON output: the charged and clone maps per device; a device that saw nothing is 0 and 0', () => {
  const out = [
    '{"type": "attached_probes", "data": {"probes": 2}}',
    '{"type": "printf", "data": "tunbench-attached\\n"}',
    '',
    '{"type": "map", "data": {"@charged": {"tb1x0br": 2001, "tb1x0t0": 2001}}}',
    '{"type": "map", "data": {"@clones": {"tb1x0t1": 2001, "tb1x0t2": 1999}}}',
    'not json {',
  ].join('\n');
  assert.deepEqual(parseOwnerOutput(out, ['tb1x0br', 'tb1x0t0', 'tb1x0t1', 'tb1x0t2', 'tb1x0vs']).devices, {
    tb1x0br: { charged: 2001, clones: 0 }, tb1x0t0: { charged: 2001, clones: 0 }, tb1x0t1: { charged: 0, clones: 2001 }, tb1x0t2: { charged: 0, clones: 1999 }, tb1x0vs: { charged: 0, clones: 0 },
  });
});

test('the account: the unread taps\' charged skbs become mcast_unread_charged; the charged taps are named; no trace, no figure', () => {
  const r = JSON.parse(readFileSync(new URL('../fixtures/mcast-readings.json', import.meta.url), 'utf8')) as McastReadings;
  assert.equal(mcastMetrics(r).mcast_unread_charged, null, 'no trace');
  assert.equal(summariseMcast(r).chargedTaps, null);
  const names = r.taps.map((t) => t.name);
  const unread = r.taps.find((t) => t.unread)!.name;
  const devices = Object.fromEntries(names.map((n) => [n, { charged: n === unread ? 6669 : 0, clones: n === unread ? 0 : 6669 }]));
  const traced: McastReadings = { ...r, owner: { devices, bridge: 'br', senderDev: 'br', senderPort: null, rawFile: 'raw/x.jsonl' } };
  assert.equal(mcastMetrics(traced).mcast_unread_charged, 6669);
  assert.deepEqual(summariseMcast(traced).chargedTaps, [unread]);
  const clones = { ...traced, owner: { ...traced.owner!, devices: Object.fromEntries(names.map((n) => [n, { charged: 0, clones: 6669 }])) } };
  assert.equal(mcastMetrics(clones).mcast_unread_charged, 0);
  assert.deepEqual(summariseMcast(clones).chargedTaps, []);
});
