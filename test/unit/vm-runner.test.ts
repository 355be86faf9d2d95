// The QEMU runner's decisions without booting anything: QEMU version -> TCG threading, crash
// signs in a guest console -> one more boot or not, and the src/qemu import graph.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bootFailure, crashSign, describeCrash, parsesOnHost } from '../../src/qemu/crash.ts';
import { qemuArgs, qemuErrorLine } from '../../src/qemu/run-in-vm.ts';
import { accelArg, chooseTcgThreading, parseQemuVersion } from '../../src/qemu/tcg-threading.ts';
import { guestQemuArgs } from '../../src/workload/consumers/guest.ts';

const v72 = 'QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n';
const v10 = 'QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\nCopyright (c) 2003-2025 Fabrice Bellard and the QEMU Project developers\n';

test('QEMU version lines parse; anything else is null', () => {
  assert.deepEqual(parseQemuVersion(v72), { major: 7, minor: 2, micro: 22, text: '7.2.22' });
  assert.deepEqual(parseQemuVersion(v10), { major: 10, minor: 0, micro: 2, text: '10.0.2' });
  assert.deepEqual(parseQemuVersion('QEMU emulator version 8.1 (self-built)'), { major: 8, minor: 1, micro: 0, text: '8.1.0' });
  assert.equal(parseQemuVersion('qemu-system-x86_64: command not found'), null);
  assert.equal(parseQemuVersion(''), null);
});

test('TCG threading: QEMU 7.2 with 2 vCPUs -> thread=single with a warning; 10.0 -> multi; one vCPU -> unchanged', () => {
  const old = chooseTcgThreading(parseQemuVersion(v72), 2);
  assert.equal(old.mode, 'single');
  assert.equal(old.qemuVersion, '7.2.22');
  assert.match(old.warning ?? '', /QEMU 7\.2\.22 .*thread=single.*bookworm-backports/);
  assert.match(old.reason, /older than 8\.0/);
  assert.equal(accelArg('tcg', old), 'tcg,thread=single');
  const args = qemuArgs({ kernel: '/k', initrd: '/i', accel: 'tcg', threading: old, memoryMiB: 512, cpus: 2, jobDir: '/j', outputDir: '/o', extra: [] });
  assert.equal(args[args.indexOf('-accel') + 1], 'tcg,thread=single');
  assert.equal(args[args.indexOf('-smp') + 1], '2');

  const cur = chooseTcgThreading(parseQemuVersion(v10), 2);
  assert.equal(cur.mode, 'multi');
  assert.equal(cur.warning, null);
  assert.equal(accelArg('tcg', cur), 'tcg');
  const args10 = qemuArgs({ kernel: '/k', initrd: '/i', accel: 'tcg', threading: cur, memoryMiB: 512, cpus: 2, jobDir: '/j', outputDir: '/o', extra: [] });
  assert.equal(args10[args10.indexOf('-accel') + 1], 'tcg');

  for (const v of [v72, v10]) {
    const one = chooseTcgThreading(parseQemuVersion(v), 1);
    assert.equal(one.mode, 'multi', 'one vCPU: QEMU default');
    assert.equal(one.warning, null);
  }
  assert.equal(chooseTcgThreading(parseQemuVersion('QEMU emulator version 7.0.0'), 4).mode, 'single');
  assert.equal(chooseTcgThreading(parseQemuVersion('QEMU emulator version 8.0.0'), 4).mode, 'multi');
  assert.equal(chooseTcgThreading(null, 2).mode, 'multi', 'unknown version: QEMU default, said in the reason');
  // KVM never gets a TCG option.
  assert.equal(accelArg('kvm', old), 'kvm');
});

test('the guest consumer QEMU: one vCPU, so -accel tcg unchanged; a single-threaded choice would be applied', () => {
  const a = guestQemuArgs({ kernel: '/k', initrd: '/i', accel: 'tcg', threading: chooseTcgThreading(parseQemuVersion(v72), 1), memoryMiB: 256, tap: 'tb1x0', vhost: false });
  assert.equal(a[a.indexOf('-accel') + 1], 'tcg');
  assert.equal(a[a.indexOf('-smp') + 1], '1');
  const b = guestQemuArgs({ kernel: '/k', initrd: '/i', accel: 'tcg', threading: { mode: 'single' }, memoryMiB: 256, tap: 'tb1x0', vhost: false });
  assert.equal(b[b.indexOf('-accel') + 1], 'tcg,thread=single');
});

// Console excerpts of the failures seen on QEMU 7.2 (multi-threaded TCG) and of broken kernels.
const consoles = {
  segfault: 'TBVM-BOOTED 6.1.0-57-amd64\n/run/tbjob/run.sh: line 4:   312 Segmentation fault      node bin/tunbench.js bench\nTBVM-EXIT rc=139\n',
  wasm: 'TBVM-BOOTED 6.1.0-57-amd64\nRuntimeError: memory access out of bounds\n    at wasm://wasm/00b1c2a6:wasm-function[10]:0x9a8\n    at parse (file:///work/main/node_modules/es-module-lexer/dist/lexer.js:1:1)\nTBVM-EXIT rc=1\n',
  panic: '[    3.2] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b\n[    3.2] ---[ end Kernel panic - not syncing ]---\n',
  oops: '[   12.0] BUG: unable to handle page fault for address: ffff8880deadbeef\n[   12.0] Oops: 0000 [#1] PREEMPT SMP NOPTI\n',
  sigtrap: 'TBVM-BOOTED r\nTrace/breakpoint trap\nTBVM-EXIT rc=133\n',
};

test('crash signs in a guest console: segfault, wasm out of bounds, kernel panic and oops, signals', () => {
  assert.equal(crashSign(consoles.segfault)?.kind, 'segfault');
  assert.match(crashSign(consoles.segfault)!.line, /Segmentation fault/);
  assert.equal(crashSign(consoles.wasm)?.kind, 'wasm-out-of-bounds');
  assert.equal(crashSign(consoles.panic)?.kind, 'kernel-panic');
  assert.equal(crashSign(consoles.oops)?.kind, 'kernel-oops');
  assert.equal(crashSign(consoles.sigtrap)?.kind, 'signal');
  assert.equal(crashSign('TBVM-BOOTED r\nvm| trial 1/3 default ok\nTBVM-EXIT rc=0\n'), null);
  assert.equal(crashSign('tunbench: this machine cannot run profile \'x\':\n  - pktgen: no /proc/net/pktgen\n'), null);
});

test('a SyntaxError in a file that parses on the host is a crash; in a file broken on the host too it is genuine', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tb-crash-'));
  const good = join(dir, 'good.ts');
  const bad = join(dir, 'bad.ts');
  writeFileSync(good, 'export const a: number = 1;\n');
  writeFileSync(bad, 'export const a: number = ;\n');
  assert.equal(await parsesOnHost(good), true);
  assert.equal(await parsesOnHost(bad), false);
  assert.equal(await parsesOnHost(join(dir, 'absent.ts')), null);
  // node's format: the file above the error line.
  const nodeStyle = `file://${good}:1\nexport const a: number = 1;\n                ^\n\nSyntaxError: Unexpected token ':'\n    at compileSourceTextModule (node:internal/modules/esm/utils:346:16)\n`;
  const s1 = crashSign(nodeStyle)!;
  assert.equal(s1.kind, 'syntax-error');
  assert.equal(s1.file, good);
  const d1 = await describeCrash(s1);
  assert.equal(d1.genuine, false);
  assert.match(d1.text, /parses fine on the host/);
  // esbuild's (tsx) format: the file on the error line.
  const esbuildStyle = `Error: Transform failed with 1 error:\n${bad}:1:25: ERROR: Unexpected ";"\n    at failureErrorWithLog (/x/esbuild/lib/main.js:1752:15)\n`;
  const s2 = crashSign(esbuildStyle)!;
  assert.equal(s2.kind, 'syntax-error');
  assert.equal(s2.file, bad);
  const d2 = await describeCrash(s2);
  assert.equal(d2.genuine, true);
  assert.match(d2.text, /does not parse on the host either/);
});

test('a boot that fails before the worker is ready: every crash exit path is retried once, refusals and genuine syntax errors are not', async () => {
  // The worker exited: killed by a signal (segfault), or with 1 (wasm out of bounds in tsx's lexer).
  const exited = (exitCode: number, consoleText: string) => bootFailure({ kind: 'no-exit-status', message: `the worker exited ${exitCode} (console log: /c)`, exitCode, consoleText });
  const sig = await exited(139, consoles.segfault);
  assert.equal(sig.retry, true);
  assert.match(sig.reason, /died of signal 11.*segmentation fault/);
  const wasm = await exited(1, consoles.wasm);
  assert.equal(wasm.retry, true);
  assert.match(wasm.reason, /exited 1 before it was ready.*memory access out of bounds/);
  // A plain non-zero exit with nothing on the console.
  assert.equal((await exited(1, 'TBVM-EXIT rc=1\n')).retry, true);
  // Guest kernel panic, QEMU gone, the watchdog, timeouts: QEMU's own message, free of the console path.
  for (const kind of ['kernel-panic', 'no-exit-status', 'timeout-boot', 'timeout-command', 'timeout-idle', 'guest-setup'] as const) {
    const f = await bootFailure({ kind, message: `${kind} happened; QEMU killed, its console kept (console log: /c)`, exitCode: null, consoleText: kind === 'kernel-panic' ? consoles.panic : '' });
    assert.equal(f.retry, true, kind);
    assert.equal(f.reason.startsWith(`${kind} happened`), true);
    assert.doesNotMatch(f.reason, /console (log|kept)/, 'the reason is free of the console path (the final error names the logs)');
  }
  // QEMU itself refused to start (a broken installation): the same again on a second boot.
  assert.equal((await bootFailure({ kind: 'qemu-error', message: "QEMU could not start the VM (exit 1): qemu-system-x86_64: fatal: could not load module for type 'tcg-accel-ops'", exitCode: null, consoleText: '' })).retry, false);
  // An oops that left the worker dead.
  assert.match((await exited(137, consoles.oops)).reason, /kernel oopsed/);
  // The guest's tunbench refused (exit 2, its message, no crash): would fail the same again.
  const refused = await exited(2, "TBVM-BOOTED r\ntunbench: vm-worker needs --channel, --profile and --out\nTBVM-EXIT rc=2\n");
  assert.equal(refused.retry, false);
  assert.match(refused.reason, /vm-worker needs/);
  // A SyntaxError in a file broken on the host too.
  const dir = mkdtempSync(join(tmpdir(), 'tb-crash-'));
  writeFileSync(join(dir, 'bad.ts'), 'export const = ;\n');
  assert.equal((await exited(1, `${join(dir, 'bad.ts')}:1:13: ERROR: Expected identifier\n`)).retry, false);
});

test("QEMU's own error line is found in the console log, both of its prefixes", () => {
  const dir = mkdtempSync(join(tmpdir(), 'tb-qemuerr-'));
  const f = join(dir, 'console.log');
  writeFileSync(f, "qemu-system-x86_64: fatal: could not load module for type 'tcg-accel-ops'\n");
  assert.match(qemuErrorLine(f) ?? '', /could not load module/);
  writeFileSync(f, "qemu: could not load PC BIOS 'bios-256k.bin'\n");
  assert.match(qemuErrorLine(f) ?? '', /PC BIOS/);
  writeFileSync(f, '[    0.0] Linux version 6.1\nTBVM-BOOTED 6.1\n');
  assert.equal(qemuErrorLine(f), null);
  assert.equal(qemuErrorLine(join(dir, 'absent.log')), null);
});

test('src/qemu has no import cycle (accel.ts and run-in-vm.ts in particular), dynamic imports included', () => {
  const dir = 'src/qemu';
  const graph = new Map<string, string[]>();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts'))) {
    const src = readFileSync(join(dir, f), 'utf8');
    const deps = [...src.matchAll(/(?:from\s+|import\s*\(\s*)'\.\/([\w.-]+\.ts)'/g)].map((m) => m[1]!);
    graph.set(f, deps);
  }
  assert.ok(graph.get('accel.ts')!.includes('run-in-vm.ts'), 'accel.ts boots through run-in-vm.ts');
  const cycle = (start: string): string[] | null => {
    const walk = (n: string, path: string[]): string[] | null => {
      for (const d of graph.get(n) ?? []) {
        if (d === start) return [...path, d];
        if (!path.includes(d)) { const c = walk(d, [...path, d]); if (c) return c; }
      }
      return null;
    };
    return walk(start, [start]);
  };
  for (const f of graph.keys()) assert.equal(cycle(f), null, `import cycle: ${cycle(f)?.join(' -> ')}`);
});
