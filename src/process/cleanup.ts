// Guaranteed cleanup: every resource registers an undo action; they run in reverse order
// on normal end, on error (the caller's finally), and on SIGINT/SIGTERM/SIGHUP (then the
// process exits 130/143/129). A SIGKILL leaves the namespace behind: reap.ts removes it at
// the next start because its owner pid is dead.
// A second signal while cleaning up forces the exit once cleanup has been tried: every undo
// action not yet run is started at once and given FORCED_MS to finish, then the process
// exits. Cleanup that hangs without a second signal is cut off after CLEANUP_LIMIT_MS.

type Undo = { label: string; run: () => Promise<void> };
const stack: Undo[] = [];
const signalHooks: Array<(signal: NodeJS.Signals) => Promise<void> | void> = [];
let installed = false;
let exiting = false;
let forced = false;
/** After a second signal: how long the remaining undo actions (started together) may take. */
const FORCED_MS = 2000;
/** The longest a signal's cleanup may take before the process exits anyway. */
const CLEANUP_LIMIT_MS = 30_000;

export function onCleanup(label: string, run: () => Promise<void>): () => void {
  const undo = { label, run };
  stack.push(undo);
  installSignalHandlers();
  return () => {
    const i = stack.indexOf(undo);
    if (i >= 0) stack.splice(i, 1);
  };
}

/** Called first when a signal arrives (e.g. to save results already measured). */
export function onSignal(hook: (signal: NodeJS.Signals) => Promise<void> | void): () => void {
  signalHooks.push(hook);
  installSignalHandlers();
  return () => {
    const i = signalHooks.indexOf(hook);
    if (i >= 0) signalHooks.splice(i, 1);
  };
}

/** Run (and forget) every registered undo action, newest first. Errors are reported, not thrown. */
export async function runCleanups(): Promise<void> {
  while (stack.length > 0 && !forced) {
    const undo = stack.pop()!;
    await runOne(undo);
  }
  if (forced) await runRemainingForced();
}

async function runOne(undo: Undo): Promise<void> {
  try {
    await undo.run();
  } catch (e) {
    process.stderr.write(`tunbench: cleanup '${undo.label}' failed: ${(e as Error).message}\n`);
  }
}

/** Start every undo action still on the stack at once; wait at most FORCED_MS for them. */
async function runRemainingForced(): Promise<void> {
  const left = stack.splice(0).reverse();
  if (left.length === 0) return;
  const all = Promise.all(left.map((u) => runOne(u)));
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), FORCED_MS);
  });
  const outcome = await Promise.race([all.then(() => 'done' as const), limit]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    process.stderr.write(`tunbench: cleanup of ${left.map((u) => u.label).join(', ')} did not finish within ${FORCED_MS / 1000} s; the next run removes what is left (its owner pid is dead)\n`);
  }
}

const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  for (const sig of Object.keys(EXIT_CODES) as NodeJS.Signals[]) {
    process.on(sig, () => {
      if (exiting) {
        if (forced) return;
        // A second signal: stop waiting for the step in progress; try every remaining undo now.
        forced = true;
        process.stderr.write(`\ntunbench: ${sig} again: forcing the exit once the remaining cleanup has been tried (at most ${FORCED_MS / 1000} s)...\n`);
        void runRemainingForced().finally(() => process.exit(EXIT_CODES[sig] ?? 1));
        return;
      }
      exiting = true;
      process.stderr.write(`\ntunbench: ${sig} received: saving what was measured and removing the lab (${sig === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again forces the exit)...\n`);
      const limit = setTimeout(() => {
        process.stderr.write(`tunbench: cleanup took more than ${CLEANUP_LIMIT_MS / 1000} s; exiting (the next run removes what is left)\n`);
        process.exit(EXIT_CODES[sig] ?? 1);
      }, CLEANUP_LIMIT_MS);
      limit.unref();
      void (async () => {
        for (const hook of [...signalHooks]) {
          if (forced) break;
          try {
            await hook(sig);
          } catch (e) {
            process.stderr.write(`tunbench: ${(e as Error).message}\n`);
          }
        }
        await runCleanups();
        if (!forced) process.exit(EXIT_CODES[sig] ?? 1);
      })();
    });
  }
}
