// Signs of a crashed guest in its console: what a corrupting QEMU (multi-threaded TCG on QEMU
// 7.2, see tcg-threading.ts) or a broken guest kernel leaves behind. The VM target reads them
// when a run failed before any trial was measured, to decide on one more boot and to say why.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';

export type CrashKind = 'kernel-panic' | 'kernel-oops' | 'segfault' | 'signal' | 'wasm-out-of-bounds' | 'syntax-error';
export interface CrashSign {
  kind: CrashKind;
  /** The console line that shows it (trimmed, at most 200 characters). */
  line: string;
  /** syntax-error: the file the error names, when the console shows one. */
  file?: string;
}

// Most specific first: a guest kernel's own report beats what a dying process printed.
const patterns: Array<[CrashKind, RegExp]> = [
  ['kernel-panic', /Kernel panic - not syncing|Attempted to kill init/],
  ['kernel-oops', /\bOops: |BUG: unable to handle|BUG: kernel NULL pointer|general protection fault|invalid opcode: \d+ \[#\d+\]|Unable to handle kernel/],
  ['wasm-out-of-bounds', /memory access out of bounds/],
  ['segfault', /Segmentation fault|\bsegfault at [0-9a-f]+/],
  ['signal', /\bIllegal instruction\b|\bBus error\b|Trace\/breakpoint trap|# Fatal error in |FATAL ERROR: /],
  ['syntax-error', /\bSyntaxError\b|Transform failed with \d+ error|\.[cm]?[jt]sx?:\d+:\d+: ERROR: /],
];

// A source file named in an error: node prints "file:///x.mjs:1" or "/x.ts:12" above a
// SyntaxError; esbuild (tsx) prints "/x.ts:1:25: ERROR: ...".
const fileRe = /(?:file:\/\/)?(\/[^\s:'"()]+\.(?:[cm]?[jt]sx?|json)):\d+/;

/** The first crash sign in a guest console (by kind, most specific first), or null. */
export function crashSign(consoleText: string): CrashSign | null {
  const lines = consoleText.split('\n').map((l) => l.replace(/\r/g, ''));
  for (const [kind, re] of patterns) {
    const i = lines.findIndex((l) => re.test(l));
    if (i < 0) continue;
    const sign: CrashSign = { kind, line: lines[i]!.trim().slice(0, 200) };
    if (kind === 'syntax-error') {
      // The file is named on the error line or the next (esbuild) or a few lines above it (node).
      for (const j of [i, i + 1, i - 1, i - 2, i - 3, i - 4, i - 5, i - 6].filter((x) => x >= 0 && x < lines.length)) {
        const m = fileRe.exec(lines[j]!);
        if (m?.[1]) { sign.file = m[1]; break; }
      }
    }
    return sign;
  }
  return null;
}

/** Does `file` parse on the host? true/false, or null when it cannot be checked (unreadable, no parser). */
export async function parsesOnHost(file: string): Promise<boolean | null> {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch { return null; }
  const ext = extname(file);
  if (ext === '.json') {
    try { JSON.parse(text); return true; } catch { return false; }
  }
  try {
    // esbuild comes with tsx (the project's runtime).
    const { transform } = await import('esbuild');
    const loader = /\.[cm]?tsx?$/.test(ext) ? (ext.endsWith('x') ? 'tsx' : 'ts') : (ext.endsWith('x') ? 'jsx' : 'js');
    await transform(text, { loader, format: 'esm', logLevel: 'silent' });
    return true;
  } catch (e) {
    if ((e as { errors?: unknown[] }).errors?.length) return false;
    return null;
  }
}

/** Words for a crash sign in a warning or an error, with the host's verdict on a SyntaxError's file. */
export async function describeCrash(sign: CrashSign): Promise<{ text: string; genuine: boolean }> {
  const what: Record<CrashKind, string> = {
    'kernel-panic': 'the guest kernel panicked',
    'kernel-oops': 'the guest kernel oopsed',
    'segfault': 'a process in the guest died of a segmentation fault',
    'signal': 'a process in the guest died of a fatal signal or a V8 fatal error',
    'wasm-out-of-bounds': 'WebAssembly in the guest hit "memory access out of bounds"',
    'syntax-error': 'the guest saw a syntax error',
  };
  let text = `${what[sign.kind]} ("${sign.line}")`;
  if (sign.kind !== 'syntax-error') return { text, genuine: false };
  if (!sign.file) return { text: `${text}, in no file named on the console`, genuine: false };
  const ok = await parsesOnHost(sign.file);
  if (ok === false) return { text: `${text}: ${sign.file} does not parse on the host either`, genuine: true };
  text += ok ? `, in ${sign.file}, which parses fine on the host` : `, in ${sign.file} (not checkable on the host)`;
  return { text, genuine: false };
}

/** The last message the guest's tunbench printed as a user error ("tunbench: ..."), if any. */
function guestUserError(consoleText: string): string | null {
  const lines = consoleText.split('\n').map((l) => l.replace(/\r/g, '').trim()).filter((l) => /^tunbench: /.test(l) && !/received: saving/.test(l));
  return lines.at(-1)?.replace(/^tunbench: /, '') ?? null;
}

/**
 * A VM that failed before its worker was ready: the reason in words (free of the console
 * log's path: the final error names the logs), and whether one more boot is worth it. Every
 * way a crash ends a boot counts (the worker killed by a signal or exiting, a guest kernel
 * panic or oops, a segfault, wasm "memory access out of bounds", a SyntaxError in a file that
 * parses on the host, QEMU dying, a watchdog or a timeout): old QEMUs corrupt guests at random
 * under multi-threaded TCG (platform notes). Not retried, as they would fail the same way
 * again: a SyntaxError in a file broken on the host too, QEMU refusing to start (kind
 * 'qemu-error'), and the guest's tunbench refusing (exit 2 with its message, no crash sign).
 */
export async function bootFailure(o: { kind: string; message: string; exitCode: number | null; consoleText: string }): Promise<{ reason: string; retry: boolean }> {
  const sign = crashSign(o.consoleText);
  const crash = sign ? await describeCrash(sign) : null;
  const rc = o.exitCode;
  const what = rc === null
    ? o.message.replace(/(; QEMU killed, its console kept)? \(console log: [^)]*\)$/, '')
    : rc > 128 ? `the worker in the VM died of signal ${rc - 128} (exit ${rc})` : `the worker in the VM exited ${rc} before it was ready`;
  const reason = crash ? `${what}; ${crash.text}` : what;
  if (crash?.genuine || o.kind === 'qemu-error') return { reason, retry: false };
  const refusal = rc === 2 && !sign ? guestUserError(o.consoleText) : null;
  if (refusal) return { reason: `${what}: ${refusal}`, retry: false };
  return { reason, retry: true };
}
