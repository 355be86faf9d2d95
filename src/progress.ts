// Progress of a run: a live line on a terminal; plain lines or JSON lines otherwise (CI).
export type ProgressMode = 'tty' | 'plain' | 'json' | 'quiet';

export type ProgressEvent =
  | { event: 'run-start'; profile: string; trials: number; minimumSeconds: number; resultDir: string; transfers?: { trials: number; seconds: number } }
  | { event: 'trial-start'; index: number; total: number; variant: string; repetition: number; warmup: boolean; secondsLeft: number | null }
  | { event: 'live'; index: number; variant: string; rxPps: number; secondsIntoWindow: number }
  | { event: 'trial-end'; index: number; variant: string; status: 'ok' | 'failed'; xmitPps: number | null; rxPps: number | null; dropRatio: number | null; error?: string }
  | { event: 'warning'; message: string }
  | { event: 'run-end'; status: string; resultDir: string; seconds: number; trials?: number; failedTrials?: number; reason?: string };

export function defaultProgressMode(): ProgressMode {
  return process.stderr.isTTY ? 'tty' : 'plain';
}

const mpps = (v: number | null) => (v === null ? '-' : `${(v / 1e6).toFixed(3)} Mpps`);
const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(2)}%`);

export function createProgress(mode: ProgressMode, write: (s: string) => void = (s) => process.stderr.write(s)): (e: ProgressEvent) => void {
  let liveShown = false;
  const clearLive = () => {
    if (liveShown) write('\r\x1b[2K');
    liveShown = false;
  };
  return (e) => {
    if (mode === 'quiet') return;
    if (mode === 'json') {
      write(`${JSON.stringify({ t: new Date().toISOString(), ...e })}\n`);
      return;
    }
    if (e.event === 'live') {
      if (mode !== 'tty') return; // plain mode: no per-second chatter
      clearLive();
      write(`  ${e.variant} t=${e.secondsIntoWindow.toFixed(0)}s live rx ${mpps(e.rxPps)}`);
      liveShown = true;
      return;
    }
    clearLive();
    switch (e.event) {
      case 'run-start':
        // No guess of the run's length here: set-up, probes and (in a VM) emulation are measured
        // per trial; the time left is shown from the trials' real lengths (src/eta.ts).
        write(`tunbench: profile ${e.profile}: ${e.trials} trials, at least ${Math.ceil(e.minimumSeconds)} s (ramp-ups and windows)${e.transfers && e.transfers.trials > 0 ? `, ${e.transfers.trials} of them fixed transfers taking up to ${Math.ceil(e.transfers.seconds)} s in all (their deadlines)` : ''}; results in ${e.resultDir}\n`);
        break;
      case 'trial-start':
        write(`[${e.index + 1}/${e.total}] ${e.variant} ${e.warmup ? 'warm-up' : `rep ${e.repetition + 1}`}${e.secondsLeft === null ? '' : ` (about ${Math.max(1, Math.round(e.secondsLeft))} s left)`}\n`);
        break;
      case 'trial-end':
        write(e.status === 'ok'
          ? `      xmit ${mpps(e.xmitPps)}  rx ${mpps(e.rxPps)}  drops ${pct(e.dropRatio)}\n`
          : `      trial failed: ${e.error ?? 'unknown error'}\n`);
        break;
      case 'warning':
        write(`tunbench: warning: ${e.message}\n`);
        break;
      case 'run-end': {
        const failed = e.failedTrials ? `; ${e.failedTrials} of ${e.trials ?? '?'} trials FAILED` : '';
        write(`tunbench: run ${e.status} in ${e.seconds.toFixed(0)} s${failed}: ${e.resultDir}\n`);
        if (e.reason && e.status !== 'complete') write(`tunbench: ${e.reason}\n`);
        break;
      }
    }
  };
}
