// The layout's one rule (README "Layout"): src/'s folders import downwards only, in this order,
// dynamic imports included; the top-level modules (types, errors, metrics ...) import from the
// folders for types only.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';

const ORDER = ['process', 'profile', 'qemu', 'kernel', 'lab', 'probes', 'workload', 'trial', 'analysis', 'result', 'doctor', 'run', 'report', 'commands'];

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

interface Edge { from: string; to: string; typeOnly: boolean }

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const f of tsFiles('src')) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(import\s+type\s+[^;]*?from\s*|(?:from|import)\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      out.push({ from: f, to: normalize(join(dirname(f), m[2]!)), typeOnly: m[1]!.startsWith('import type') || /^import\(/.test(m[0]) && /\)\./.test(text.slice(m.index! + m[0].length, m.index! + m[0].length + 2)) });
    }
  }
  return out;
}

const folderOf = (p: string): string | null => {
  const parts = relative('src', p).split('/');
  return parts.length > 1 ? parts[0]! : null;
};

test('src/ folders import downwards only, in the README\'s order; every folder is placed', () => {
  const folders = readdirSync('src').filter((f) => statSync(join('src', f)).isDirectory());
  assert.deepEqual(folders.filter((f) => !ORDER.includes(f)), [], 'a folder the order does not place');
  const up = edges().filter((e) => {
    const a = folderOf(e.from);
    const b = folderOf(e.to);
    return a !== null && b !== null && a !== b && ORDER.indexOf(b) > ORDER.indexOf(a);
  });
  assert.deepEqual(up.map((e) => `${e.from} -> ${e.to}`), []);
});

test('top-level modules take only types from the folders (cli.ts excepted: it dispatches the commands)', () => {
  const values = edges().filter((e) => folderOf(e.from) === null && folderOf(e.to) !== null && !e.typeOnly && !e.from.endsWith('cli.ts'));
  assert.deepEqual(values.map((e) => `${e.from} -> ${e.to}`), []);
});
