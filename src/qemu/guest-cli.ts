// The CLI as one JavaScript file, for the guest. Under TCG, tsx's start of the CLI (register,
// then transform and load about 200 TypeScript modules, each read through 9p) took 19 s of
// every VM's start, and every `doctor --target vm`: measured in a Debian-kernel guest, the
// capability probe's process took 49.4 s through tsx and 31.5-37.7 s from this bundle, the
// probe itself 27-34 s of both. esbuild (the transformer tsx runs on) bundles src/ once per
// change of its files, in about 0.4 s; packages with native code stay external (resolved from
// node_modules at run time as before) and, split into chunks, are loaded only by the commands
// that import them (the report's canvas, never in a guest). Cached in .cache/vm/guest-cli/KEY/,
// keyed by src/'s files: under the repository, where node_modules is found.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './kernel-fetch.ts';

export const guestCliCache = join(repoRoot, '.cache/vm/guest-cli');

// Spelt in parts: this module is bundled too, and the plugin below rewrites the whole token.
const META_URL = ['import', 'meta', 'url'].join('.');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out.sort();
}

/** The key of src/'s TypeScript files (path and content) and the package versions. */
export function sourceKey(root = repoRoot): string {
  const h = createHash('sha256');
  for (const f of sourceFiles(join(root, 'src'))) h.update(relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
  for (const f of ['package.json', 'package-lock.json']) if (existsSync(join(root, f))) h.update(readFileSync(join(root, f)));
  return h.digest('hex').slice(0, 16);
}

/**
 * The bundle's entry (KEY/cli.mjs), built when src/ changed since the last one. Each module keeps its own
 * import.meta.url (the file it came from), so paths relative to it (probes/, sink/, profiles/,
 * package.json) resolve as they do under tsx.
 */
export function buildGuestCli(cache = guestCliCache): Promise<string> {
  const key = sourceKey();
  const file = join(cache, key, 'cli.mjs');
  if (existsSync(file)) return Promise.resolve(file);
  // VMs boot side by side: one build per key in this process.
  const id = `${cache}\0${key}`;
  let p = building.get(id);
  if (!p) {
    p = bundle(cache, key, file).finally(() => building.delete(id));
    building.set(id, p);
  }
  return p;
}

const building = new Map<string, Promise<string>>();

async function bundle(cache: string, key: string, file: string): Promise<string> {
  const { build } = await import('esbuild');
  mkdirSync(cache, { recursive: true });
  // Built beside, then renamed into place: a folder that exists is whole.
  const tmp = join(cache, `${key}.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  const src = join(repoRoot, 'src') + '/';
  await build({
    entryPoints: [join(repoRoot, 'src/cli.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node18',
    outdir: tmp,
    entryNames: '[name]',
    outExtension: { '.js': '.mjs' },
    splitting: true,
    // Native code (canvas) cannot be bundled; the report is never drawn in the guest anyway.
    external: ['canvas', 'chartjs-node-canvas'],
    // CommonJS packages inside the bundle call require().
    banner: { js: `import { createRequire as __tunbenchRequire } from 'node:module'; const require = __tunbenchRequire(${META_URL});` },
    plugins: [{
      name: 'own-import-meta-url',
      setup(b) {
        b.onLoad({ filter: /\.ts$/ }, (a) => {
          if (!a.path.startsWith(src)) return undefined;
          const text = readFileSync(a.path, 'utf8').replaceAll(META_URL, JSON.stringify(pathToFileURL(a.path).href));
          return { contents: text, loader: 'ts' };
        });
      },
    }],
    logLevel: 'silent',
  });
  try {
    renameSync(tmp, join(cache, key));
  } catch (e) {
    // Another process renamed its build into place first: the same sources, the same bundle.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(file)) throw e;
  }
  // Older bundles are of older sources: the newest one is all a guest runs.
  for (const f of readdirSync(cache)) if (f !== key && /^[0-9a-f]{16}$/.test(f)) rmSync(join(cache, f), { recursive: true, force: true });
  return file;
}

/**
 * What a guest runs for `tunbench ARGS`: node on the bundle, or on bin/tunbench.js (tsx) when
 * the bundle cannot be built (said once through `warn`: the guest then starts slower).
 */
export async function guestCliCommand(warn: (m: string) => void): Promise<string[]> {
  try {
    return [process.execPath, await buildGuestCli()];
  } catch (e) {
    warn(`the CLI could not be bundled for the guest (${(e as Error).message.split('\n')[0]}); the guest runs it through tsx, which starts about 19 s slower under TCG`);
    return [process.execPath, join(repoRoot, 'bin/tunbench.js')];
  }
}
