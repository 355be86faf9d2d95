// --bisect keeps the cause (issue 20): every 125 that bench and gate print carries the same
// message, cause and fix, as the exit 2 without --bisect (the bench's used to keep only the
// first line: "asks for what this machine or a tap cannot do:" and nothing after it).
// Nothing here measures or boots: every case is refused before the run lock, and the lock the
// benches would take (TUNBENCH_LOCK) is held by this test, so a regression is refused there.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { execa } from 'execa';
import { acquireRunLock } from '../../src/process/lock.ts';
import { tmp } from '../helpers/cli.ts';

const dir = tmp('tunbench-bisect');
const lock = join(dir, 'run.lock');
const releaseLock = acquireRunLock(lock);
const cli = (args: string[]) => execa(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { reject: false, timeout: 20_000, env: { ...process.env, TUNBENCH_LOCK: lock } });

const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const bigPackets = file('big-packets.yaml', 'name: big-packets\nworkload:\n  generator: { type: trafgen, packetSize: 2000 }\n');
const unknownKey = file('unknown-key.yaml', 'name: typo\nrepetitons: 3\n');
const notBzImage = file('vmlinuz-not', 'this is not a kernel\n'.repeat(100));
const notATree = join(dir, 'not-a-tree');
mkdirSync(notATree);
const fixture = JSON.parse(readFileSync('test/fixtures/results/fixture-run/result.json', 'utf8'));
delete fixture.variants;
const hollow = file('hollow.json', JSON.stringify(fixture));
const out = join(dir, 'out');

const CASES: Array<[string, string[], RegExp]> = [
  ['a packet size the tap cannot carry', ['bench', '--profile', bigPackets, '--out', out], /packetSize: 2000 is larger than the tap's MTU 1500/],
  ['a profile field the schema does not know', ['bench', '--profile', unknownKey, '--out', out], /repetitons/],
  ['a --kernel file that is not a bzImage', ['bench', '--profile', 'quick', '--kernel', notBzImage, '--out', out], /vmlinuz-not is not an x86 bzImage/],
  ['a --kernel that does not exist (several kernels)', ['bench', '--profile', 'quick', '--kernel', 'a=/nonexistent/bzImage', '--kernel', 'b=debian', '--out', out], /\/nonexistent\/bzImage does not exist/],
  ['a --kernel folder that is not a kernel tree', ['bench', '--profile', 'quick', '--kernel', notATree, '--out', out], /not-a-tree is a folder but not a kernel source tree/],
  ['an --out under /proc', ['bench', '--profile', 'quick', '--out', '/proc/tunbench'], /--out \/proc\/tunbench: under \/proc/],
  ['a hollow --gate baseline', ['bench', '--profile', 'quick', '--gate', hollow, '--out', out], /hollow\.json: not a usable tunbench result: variants: missing/],
  ['the run lock held by another run', ['bench', '--profile', 'quick', '--out', out, '--progress', 'quiet'], /run lock|another tunbench run/i],
  ['gate: a hollow baseline', ['gate', '--baseline', hollow, '--candidate', 'test/fixtures/results/fixture-run', '--no-report'], /hollow\.json: not a usable tunbench result: variants: missing/],
  ['gate: --alpha 0', ['gate', '--baseline', 'test/fixtures/results/fixture-run', '--candidate', 'test/fixtures/results/fixture-run', '--alpha', '0'], /--alpha: must be above 0%/],
];

for (const [label, args, cause] of CASES) {
  test(`--bisect keeps the cause: ${label}`, async () => {
    const plain = await cli(args);
    assert.equal(plain.exitCode, 2, plain.stderr);
    assert.match(plain.stderr, cause);
    const bisect = await cli([...args, '--bisect']);
    assert.equal(bisect.exitCode, 125, bisect.stderr);
    // The same message, every line of it, then the one line that says why 125.
    assert.ok(bisect.stderr.startsWith(plain.stderr.trimEnd()), `the 125 message keeps the exit-2 message\n--- exit 2:\n${plain.stderr}\n--- 125:\n${bisect.stderr}`);
    assert.match(bisect.stderr.slice(plain.stderr.trimEnd().length), /^\n {2}\(--bisect: .*125.*git bisect run skips/);
    assert.doesNotMatch(bisect.stderr, /TypeError|internal error|^ {4}at /m);
  });
}

after(() => {
  releaseLock();
  rmSync(dir, { recursive: true, force: true });
});
