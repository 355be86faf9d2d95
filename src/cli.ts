// tunbench command line: dispatches to src/commands/<name>.ts, each exporting
// `main(args: string[]): Promise<number>` that returns the exit code.
import { UserError, formatUserError, userErrorFromErrno } from './errors.ts';
import { runCleanups } from './process/cleanup.ts';
import { didYouMean } from './suggest.ts';

const COMMANDS: Record<string, { summary: string; hidden?: boolean; load: () => Promise<{ main(args: string[]): Promise<number> }> }> = {
  bench: { summary: 'run a profile and write a result folder', load: () => import('./commands/bench.ts') },
  doctor: { summary: 'print what this machine can do (--json for the record)', load: () => import('./commands/doctor.ts') },
  compare: { summary: 'compare two saved results', load: () => import('./commands/compare.ts') },
  gate: { summary: 'pass/fail regression verdict between a baseline and a candidate', load: () => import('./commands/gate.ts') },
  baseline: { summary: 'save or list named baselines', load: () => import('./commands/baseline.ts') },
  report: { summary: 'render the HTML/PNG/Markdown report of a result or comparison', load: () => import('./commands/report.ts') },
  kernel: { summary: 'build a kernel source tree for the VM target (cached), list builds', load: () => import('./commands/kernel.ts') },
  series: { summary: 'build every commit of a kernel series and run each against its base (gate per commit)', load: () => import('./commands/series.ts') },
  calibrate: { summary: 'measure what the probes cost on this machine and kernel; store it for later runs', load: () => import('./commands/calibrate.ts') },
  'vm-worker': { summary: '(internal) run trials inside a worker VM of a multi-kernel run', load: () => import('./commands/vm-worker.ts'), hidden: true },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).filter(([, c]) => !c.hidden).map(([n, c]) => `  ${n.padEnd(9)} ${c.summary}`);
  return `usage: tunbench <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'tunbench <command> --help' for a command's options.`;
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    const near = didYouMean(name, Object.keys(COMMANDS).filter((k) => !COMMANDS[k]!.hidden));
    console.error(`tunbench: unknown command '${name}'${near ? `: did you mean '${near}'?` : ''}\n\n${usage()}`);
    return 2;
  }
  try {
    const mod = await cmd.load();
    return await mod.main(rest);
  } catch (e) {
    if (e instanceof UserError) {
      console.error(formatUserError(e));
      return e.exitCode;
    }
    const code = (e as { code?: string }).code ?? '';
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
      const flag = /'(--?[^'\s]+)'/.exec((e as Error).message)?.[1];
      const near = code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag ? didYouMean(flag, await flagsOf(name)) : null;
      console.error(`tunbench ${name}: ${(e as Error).message}${near ? `\n  did you mean '${near}'?` : ''}\n  fix: see 'tunbench ${name} --help'`);
      return 2;
    }
    const fsError = userErrorFromErrno(e);
    if (fsError) {
      console.error(formatUserError(fsError));
      return fsError.exitCode;
    }
    console.error(internalError(e));
    return 2;
  }
}

/** The flags a command's --help names (its help is the one list of them). */
async function flagsOf(name: string): Promise<string[]> {
  const log = console.log;
  let text = '';
  console.log = (...a: unknown[]) => { text += `${a.join(' ')}\n`; };
  try {
    await (await COMMANDS[name]!.load()).main(['--help']);
  } catch {
    // no help: no suggestion
  } finally {
    console.log = log;
  }
  return [...new Set(text.match(/--[a-z][a-z0-9-]*/g) ?? [])];
}

/** A bug, not bad input: the message, and the stack only with TUNBENCH_DEBUG=1. */
function internalError(e: unknown): string {
  const detail = e instanceof Error ? (process.env.TUNBENCH_DEBUG ? (e.stack ?? e.message) : e.message) : String(e);
  return `tunbench: internal error: ${detail}${process.env.TUNBENCH_DEBUG ? '' : '\n  (set TUNBENCH_DEBUG=1 for the stack trace, and report it)'}`;
}

// An error nobody awaited (an event emitter, a stray promise) must not leave a lab behind.
let dying = false;
const die = (e: unknown) => {
  if (dying) return;
  dying = true;
  const fsError = userErrorFromErrno(e);
  console.error(fsError ? formatUserError(fsError) : internalError(e));
  const bound = setTimeout(() => process.exit(2), 10_000);
  bound.unref();
  void runCleanups().finally(() => process.exit(2));
};
process.on('uncaughtException', die);
process.on('unhandledRejection', die);

const code = await run(process.argv.slice(2));
process.exitCode = code;
