// tunbench calibrate: measure what the probes cost on this machine and kernel (profiles/
// calibrate.yaml: probes off, counters and full on the default flood, interleaved), store it
// under results/calibrations/, and print it. Runs whose variants have no probes-off twins
// then carry it, so their reports state the probes' real cost on every side.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { costOf, describeCost } from '../analysis/probe-cost.ts';
import { UserError } from '../errors.ts';
import { calibrationKey, listCalibrations, saveCalibration, type StoredCalibration } from '../result/calibration.ts';
import { RESULTS_DIR, utcStamp } from '../result/store.ts';
import type { Result } from '../types.ts';
import { main as bench } from './bench.ts';

const HELP = `usage: tunbench calibrate [--repetitions N] [--duration S] [--progress MODE]
       tunbench calibrate --list

Measures what the probes cost on this machine and kernel: the default flood with probes off,
at counters and at full, interleaved round by round (profiles/calibrate.yaml; 8 rounds of 3 s
by default, about 3 minutes). Stores the per-round cost on every side (offered, xmit and rx
rates; the sender's and the reader's CPU per packet) in results/calibrations/, keyed by the
machine, the kernel release, the probe scripts and the sample interval. A later run whose
probed variants have no probes-off twins carries the matching calibration, and its report
states the probes' cost from it. --list prints the stored calibrations.`;

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { repetitions: { type: 'string' }, duration: { type: 'string' }, progress: { type: 'string' }, list: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.list) {
    const all = listCalibrations();
    if (all.length === 0) console.log(`no calibrations stored (in ${join(RESULTS_DIR, 'calibrations')}); run tunbench calibrate`);
    for (const { file, calibration: c } of all) {
      if (!c) console.log(`${file}: unreadable (delete it, or run tunbench calibrate again)`);
      else console.log(`${file}: ${c.key.kernel} on ${c.key.machine}, probes ${c.key.probes}, ${c.key.sampleIntervalMs} ms ticks, ${c.measuredAt}, ${c.rounds} rounds\n${Object.values(c.costs).map((x) => `  ${x ? describeCost(x) : ''}`).join('\n')}`);
    }
    return 0;
  }
  const out = join(RESULTS_DIR, 'calibrations', 'runs', `${utcStamp()}-calibrate`);
  const passOn = [...(values.repetitions ? ['--repetitions', values.repetitions] : []), ...(values.duration ? ['--duration', values.duration] : []), ...(values.progress ? ['--progress', values.progress] : [])];
  const code = await bench(['--profile', 'calibrate', '--out', out, '--no-report', ...passOn]);
  if (code !== 0) throw new UserError(`the calibration run did not complete (exit ${code}); nothing was stored`, { hint: `see ${out}; run tunbench doctor` });
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Result;
  const trials = (name: string) => result.variants.find((v) => v.name === name)?.trials.filter((t) => t.status === 'ok' && !t.warmup) ?? [];
  const off = trials('off');
  const costs: StoredCalibration['costs'] = {};
  for (const level of ['counters', 'full'] as const) if (trials(level).length > 0) costs[level] = costOf(level, trials(level), off);
  const sampleMs = result.variants.find((v) => v.name === 'counters')?.probes.sampleIntervalMs ?? 10;
  const file = saveCalibration({
    kind: 'tunbench-probe-calibration',
    key: calibrationKey(result.environment.kernel.release, sampleMs),
    measuredAt: result.finishedAt ?? new Date().toISOString(),
    resultDir: out,
    workload: 'profiles/calibrate.yaml (default flood: trafgen 64 B through the qdisc on one CPU, blocking sink, tx_queue_len 1000)',
    rounds: off.length,
    costs,
  });
  for (const c of Object.values(costs)) if (c) console.log(describeCost(c));
  console.log(`calibration: ${file}`);
  return 0;
}
