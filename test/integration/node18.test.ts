// A fresh Debian 12 machine has Debian's Node.js 18 (scripts/setup.sh installs it when there
// is no npm). This runs the project with that very Node: Debian's nodejs/libnode108 packages,
// fetched with apt-get download into .cache/node18 and unpacked with dpkg -x, inside a private
// mount namespace whose /usr/share has the packages' /usr/share/nodejs laid over it (Debian's
// node loads acorn, cjs-module-lexer and undici from there). It runs the unit tests (the same
// ones must pass as under the Node running this test), doctor, a profile error, and a short
// real bench with its report. Skipped, saying why, when the packages cannot be had.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CACHE = join(REPO, '.cache', 'node18');
const ROOT = join(CACHE, 'root');
const PACKAGES = ['nodejs', 'libnode108', 'libc-ares2', 'libuv1', 'libnghttp2-14', 'libbrotli1', 'libicu72', 'node-acorn', 'node-cjs-module-lexer', 'node-undici'];
const LIBS = join(ROOT, 'usr', 'lib', 'x86_64-linux-gnu');

/** Debian's Node 18 unpacked under ROOT, or the reason it cannot be. */
async function debianNode18(): Promise<string | null> {
  if (existsSync(join(ROOT, 'usr', 'bin', 'node'))) return null;
  if (!existsSync('/etc/debian_version')) return 'not a Debian system';
  const cand = await execa('apt-cache', ['policy', 'nodejs'], { reject: false });
  if (!/\s18\.\d+\.\d+/.test(cand.stdout)) return `apt knows no nodejs 18 here: ${cand.stdout.split('\n').slice(0, 3).join(' ')}`;
  mkdirSync(CACHE, { recursive: true });
  const version = /(18\.\d+\.\d+[^\s]*) 500/.exec(cand.stdout)?.[1];
  const pkgs = PACKAGES.map((p) => (version && (p === 'nodejs' || p === 'libnode108') ? `${p}=${version}` : p));
  const dl = await execa('apt-get', ['download', ...pkgs], { cwd: CACHE, reject: false, all: true, timeout: 300_000 });
  if (dl.exitCode !== 0) return `apt-get download failed: ${(dl.all ?? '').split('\n').filter((l) => /^E:/.test(l)).join(' ') || `exit ${dl.exitCode}`}`;
  for (const deb of readdirSync(CACHE).filter((f) => f.endsWith('.deb'))) await execa('dpkg', ['-x', join(CACHE, deb), ROOT]);
  return existsSync(join(ROOT, 'usr', 'bin', 'node')) ? null : 'the nodejs package has no usr/bin/node';
}

/** Run a shell command with Debian's node 18 first on PATH, in a private mount namespace. */
function withNode18(command: string, timeout = 600_000) {
  const bin = join(CACHE, 'bin');
  const script = [
    'set -e',
    `mount -t overlay overlay -o lowerdir=${join(ROOT, 'usr', 'share')}:/usr/share /usr/share`,
    `mkdir -p ${bin}`,
    `printf '#!/bin/sh\\nLD_LIBRARY_PATH=${LIBS} exec ${join(ROOT, 'usr', 'bin', 'node')} "$@"\\n' > ${bin}/node`,
    `chmod +x ${bin}/node`,
    `export PATH=${bin}:$PATH`,
    `cd ${REPO}`,
    command,
  ].join('\n');
  return execa('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { reject: false, all: true, timeout, env: childEnv(), extendEnv: false });
}

/** This process's environment without node:test's marker, so a nested `node --test` prints TAP. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

function failingTests(tap: string): string[] {
  return [...tap.matchAll(/^\s*not ok \d+ - (.+)$/gm)].map((m) => m[1]!.replace(/ # .*$/, '').trim()).sort();
}

test('Debian 12\'s Node 18 runs the project: unit tests, doctor, a profile error, a short bench with its report', async (t) => {
  const why = await debianNode18();
  if (why) {
    t.skip(`Debian's Node 18 is not available: ${why}`);
    return;
  }
  const v = await withNode18('node --version');
  if (v.exitCode !== 0 && /overlay|mount/.test(v.all ?? '')) {
    t.skip(`cannot lay Debian's /usr/share/nodejs over /usr/share here: ${v.all}`);
    return;
  }
  assert.equal(v.exitCode, 0, v.all);
  assert.match(v.all ?? '', /^v18\.(19|[2-9]\d)\./m, 'Debian 12\'s Node 18 (18.19 or later, the engines minimum)');
  const engines = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  assert.equal(engines, '>=18.19');

  // The same unit tests pass under Node 18 as under this Node (others may be mid-change).
  // .ci/run runs them under Debian's Node 18 in its fresh-machine test (every one must pass
  // there) and says so with TUNBENCH_NODE18_UNITS=fresh-machine: not twice in one CI run
  // (about 100 s on 2 cores).
  if (process.env.TUNBENCH_NODE18_UNITS === 'fresh-machine') {
    t.diagnostic('unit tests under Node 18: run by .ci/fresh-machine.sh in this CI run (TUNBENCH_NODE18_UNITS=fresh-machine), not here');
  } else {
    const units = readdirSync(join(REPO, 'test', 'unit')).filter((f) => f.endsWith('.test.ts')).map((f) => `test/unit/${f}`);
    const [u18, uHere] = await Promise.all([
      withNode18(`node --import tsx --test --test-concurrency=1 ${units.join(' ')}`),
      execa(process.execPath, ['--import', 'tsx', '--test', ...units], { cwd: REPO, reject: false, all: true, env: childEnv(), extendEnv: false }),
    ]);
    assert.match(u18.all ?? '', /# pass [1-9]/, u18.all);
    const only18 = failingTests(u18.all ?? '').filter((n) => !failingTests(uHere.all ?? '').includes(n));
    assert.deepEqual(only18, [], `unit tests failing only under Node 18:\n${u18.all}`);
  }

  const doctor = await withNode18('node bin/tunbench.js doctor --json');
  assert.equal(doctor.exitCode, 0, doctor.all);
  const caps = JSON.parse((doctor.all ?? '').slice((doctor.all ?? '').indexOf('{'))) as { kernel: { release: string } };
  assert.ok(caps.kernel.release.length > 0);

  const bad = await withNode18('printf "name: x\\nworkload:\\n  generator: { type: trafgen, packetSize: 9000 }\\n" > /tmp/tunbench-node18-bad.yaml && node --import tsx src/cli.ts bench --profile /tmp/tunbench-node18-bad.yaml');
  assert.equal(bad.exitCode, 2, bad.all);
  assert.match(bad.all ?? '', /packetSize: 9000 is larger than the tap's MTU/);
  assert.doesNotMatch(bad.all ?? '', /\n\s+at /);

  // npm run bench is `tsx src/cli.ts bench`: a short real run, report included (canvas charts).
  const out = `/tmp/tunbench-node18-${process.pid}`;
  const run = await withNode18(`node bin/tunbench.js bench --profile quick --repetitions 1 --warmup-trials 0 --duration 1 --progress plain --out ${out}`);
  assert.equal(run.exitCode, 0, run.all);
  assert.match(run.all ?? '', /report: .*report\.html/);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { status: string };
  assert.equal(result.status, 'complete');
  assert.ok(existsSync(join(out, 'report.html')));
});
