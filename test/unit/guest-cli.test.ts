// The CLI bundled for the guest: built once per change of src/, and it behaves as the CLI
// under tsx does, paths relative to each module's own file included.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { buildGuestCli, sourceKey } from '../../src/qemu/guest-cli.ts';
import { repoRoot } from '../../src/qemu/kernel-fetch.ts';

mkdirSync(join(repoRoot, '.cache'), { recursive: true });

test('the guest CLI bundle: one build per source key, the CLI\'s own answers, profiles and probes found from their modules', { timeout: 60_000 }, async () => {
  // Under the repository, as the real cache: the external packages resolve from node_modules.
  const cache = mkdtempSync(join(repoRoot, '.cache', 'test-guest-cli-'));
  after(() => rmSync(cache, { recursive: true, force: true }));
  const [a, b] = await Promise.all([buildGuestCli(cache), buildGuestCli(cache)]);
  assert.equal(a, b, 'two VMs booting side by side share one build');
  assert.equal(a, join(cache, sourceKey(), 'cli.mjs'));
  const built = statSync(a).mtimeMs;
  assert.equal(await buildGuestCli(cache), a);
  assert.equal(statSync(a).mtimeMs, built, 'the second call reuses the bundle');
  const text = readdirSync(dirname(a)).map((f) => readFileSync(join(dirname(a), f), 'utf8')).join('\n');
  assert.equal(text.split('import.meta.url').length - 1, readdirSync(dirname(a)).length, 'import.meta.url only in each chunk\'s banner (its require): no module resolves its files from the bundle\'s place');
  assert.doesNotMatch(readFileSync(a, 'utf8'), /chartjs-node-canvas/, 'the canvas is loaded by the report\'s chunk only');
  assert.ok(text.includes(JSON.stringify(`file://${join(repoRoot, 'src/probes/render.ts')}`)), 'render.ts keeps its own URL');
  const help = await execa(process.execPath, [a, '--help'], { reject: false });
  assert.equal(help.exitCode, 0);
  assert.match(help.stdout, /^usage: tunbench <command>/);
  // A profile name that is not one: the answer lists profiles/ (found from src/profile/load.ts).
  const bad = await execa(process.execPath, [a, 'bench', '--profile', 'no-such-profile'], { reject: false, cwd: cache });
  assert.equal(bad.exitCode, 2, bad.stderr);
  assert.match(bad.stderr, /default, .*vm-quick/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
});
