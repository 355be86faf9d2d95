// Guaranteed cleanup: every resource registers an undo action; they run in reverse order
// on normal end, on error (the caller's finally), and on SIGINT/SIGTERM/SIGHUP (then the
// process exits 130/143/129). A SIGKILL leaves the namespace behind: reap.ts removes it at
// the next start because its owner pid is dead.

type Undo = { label: string; run: () => Promise<void> };
const stack: Undo[] = [];
const signalHooks: Array<(signal: NodeJS.Signals) => Promise<void> | void> = [];
let installed = false;
let exiting = false;

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
  while (stack.length > 0) {
    const undo = stack.pop()!;
    try {
      await undo.run();
    } catch (e) {
      process.stderr.write(`tunbench: cleanup '${undo.label}' failed: ${(e as Error).message}\n`);
    }
  }
}

const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  for (const sig of Object.keys(EXIT_CODES) as NodeJS.Signals[]) {
    process.on(sig, () => {
      if (exiting) return; // a second signal while cleaning up: keep cleaning
      exiting = true;
      process.stderr.write(`\ntunbench: ${sig} received: saving what was measured and removing the lab...\n`);
      void (async () => {
        for (const hook of [...signalHooks]) {
          try {
            await hook(sig);
          } catch (e) {
            process.stderr.write(`tunbench: ${(e as Error).message}\n`);
          }
        }
        await runCleanups();
        process.exit(EXIT_CODES[sig] ?? 1);
      })();
    });
  }
}
