import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatProfilesHere, profileHere, profilesHere } from '../../src/doctor/profiles-here.ts';
import { caps } from '../helpers/caps.ts';
import { tmp } from '../helpers/cli.ts';

test('doctor\'s profiles: each shipped profile checked as bench checks it, with the reason it cannot run', () => {
  const all = profilesHere(caps());
  const by = new Map(all.map((p) => [p.name, p]));
  assert.ok(all.length >= 10, 'every profile in profiles/');
  assert.deepEqual(by.get('default'), { name: 'default', runs: true, reasons: [] });
  // pktgen is absent on this host: the seed profile cannot run, and says why.
  const seed = by.get('seed-pktgen-guest')!;
  assert.equal(seed.runs, false);
  assert.match(seed.reasons.join('\n'), /pktgen .*no pktgen/);
  // A VM profile runs where QEMU is, and not where it is missing.
  assert.equal(by.get('vm-quick')!.runs, true);
  assert.match(by.get('vm-quick')!.reasons[0]!, /in a VM \(kernel debian/);
  const noQemu = profileHere('vm-quick', caps({ qemu: { available: false, reason: 'qemu-system-x86_64 not found: apt-get install qemu-system-x86', version: null } }));
  assert.deepEqual(noQemu, { name: 'vm-quick', runs: false, reasons: ['qemu: qemu-system-x86_64 not found: apt-get install qemu-system-x86'] });
  // Without bpftrace, a probing profile cannot run; one with probes off can.
  const noBpf = profilesHere(caps({ bpftrace: { available: false, reason: 'bpftrace not found: apt-get install bpftrace', version: null } }));
  assert.equal(noBpf.find((p) => p.name === 'default')!.runs, false);
  assert.match(noBpf.find((p) => p.name === 'default')!.reasons.join('\n'), /bpftrace not found/);
  const text = formatProfilesHere(all);
  assert.match(text, new RegExp(`^shipped profiles \\(${all.filter((p) => p.runs).length} of ${all.length} can run here\\)`));
  assert.match(text, /\n {2}no {3}seed-pktgen-guest +pktgen/);
});

test('doctor\'s profiles: a profile that does not load is a "no" with its error, not a crash', () => {
  const file = join(tmp('tunbench-doctor'), 'bad.yaml');
  writeFileSync(file, 'name: bad\nduration: -1\n');
  const p = profileHere(file, caps());
  assert.equal(p.runs, false);
  assert.match(p.reasons[0]!, /^does not load: invalid profile [\s\S]*duration: Too small/);
});
