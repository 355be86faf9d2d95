// tunbench kernel build PATH [--jobs N] [--json] | tunbench kernel list [--json]
import { parseArgs } from 'node:util';
import { UserError } from '../errors.ts';
import { buildKernelTree, defaultTreeCache, listTreeBuilds } from '../kernel/tree-build.ts';

const HELP = `usage: tunbench kernel build PATH [--jobs N] [--json]
       tunbench kernel list [--json]

build: configures the Linux source tree at PATH with what tunbench needs (make tinyconfig,
  kernel/config.fragment merged with the tree's scripts/kconfig/merge_config.sh, olddefconfig;
  every fragment option must survive) and builds an x86_64 bzImage out of tree. The tree is
  never written to (a tree configured in place must be cleaned first: make mrproper).
  The result is cached under ${defaultTreeCache()}/tree-<key>/ (bzImage, .config, release),
  keyed by the tree's commit, its uncommitted diff and untracked files (a tree that is not a
  git work tree: every file's path, size and mtime), the fragment, the arch and the compiler;
  the objects stay in obj-tree-<hash of the tree's path>/, so a changed tree builds
  incrementally. Prints progress on stderr and the bzImage's path on the last line of stdout
  (--json: one JSON object instead). Boot it with --kernel PATH_TO_BZIMAGE.
  --jobs N   make -j N (default: all CPUs)
list: the cached builds, newest first.
Exit codes: 0 built or cached; 2 not a kernel tree, missing build tools, a fragment option
the tree dropped, or a failed build (its last lines and the log's path are printed).`;

export async function main(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { jobs: { type: 'string', short: 'j' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (sub === 'list') {
    if (positionals.length) throw new UserError('kernel list takes no arguments', { hint: "see 'tunbench kernel --help'" });
    const builds = listTreeBuilds();
    if (values.json) console.log(JSON.stringify(builds, null, 2));
    else if (!builds.length) console.error(`no cached kernel builds in ${defaultTreeCache()}`);
    else for (const b of builds) console.log(`${b.release.padEnd(24)} ${b.builtAt}  ${b.tree}${b.commit ? ` @${b.commit.slice(0, 12)}${b.dirty ? '+' : ''}` : ''}  ${b.image}`);
    return 0;
  }
  if (sub !== 'build') throw new UserError(`unknown kernel subcommand '${sub}'`, { hint: "see 'tunbench kernel --help' (build, list)" });
  if (positionals.length !== 1) throw new UserError('kernel build needs one PATH: the top folder of a Linux source tree', { hint: "see 'tunbench kernel --help'" });
  let jobs: number | undefined;
  if (values.jobs !== undefined) {
    jobs = Number(values.jobs);
    if (!/^\d+$/.test(values.jobs) || jobs < 1) throw new UserError(`--jobs must be a whole number of at least 1, not '${values.jobs}'`, { hint: "see 'tunbench kernel --help'" });
  }
  const r = await buildKernelTree(positionals[0]!, { jobs, log: (l) => console.error(l) });
  if (values.json) console.log(JSON.stringify(r));
  else {
    console.error(`kernel: ${r.release}, ${r.cached ? 'cache hit' : 'built'} in ${r.seconds.toFixed(1)} s (key ${r.key})`);
    console.log(r.image);
  }
  return 0;
}
