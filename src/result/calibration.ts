// Stored probe calibrations: what the probes cost on every side of the default flood on this
// machine, this kernel and these probe scripts, measured by `tunbench calibrate` against
// probes off in one interleaved run. A run whose probed variants have no probes-off twins
// carries the matching calibration (Result.probeCalibration), so its report can state the
// probes' real cost; none matches after any of the key's parts changed.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ProbeCost } from '../analysis/probe-cost.ts';
import { RESULTS_DIR, writeJsonAtomic } from './store.ts';
import type { ProbeCalibrationRef } from '../types.ts';
import { PROBES_DIR } from '../probes/render.ts';

export const CALIBRATIONS_DIR = join(RESULTS_DIR, 'calibrations');

/** What a calibration is valid for: the same machine, kernel, probe scripts and sample interval. */
export interface CalibrationKey {
  machine: string;
  kernel: string;
  /** sha256 (12 hex) of the probe scripts and their renderer. */
  probes: string;
  sampleIntervalMs: number;
}

export interface StoredCalibration {
  kind: 'tunbench-probe-calibration';
  key: CalibrationKey;
  measuredAt: string;
  /** The calibration run's result folder (its trials). */
  resultDir: string;
  workload: string;
  rounds: number;
  costs: Partial<Record<'counters' | 'full', ProbeCost>>;
}

function machineId(): string {
  for (const f of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(f, 'utf8').trim();
      if (id) return `${hostname()}/${id.slice(0, 12)}`;
    } catch {
      /* next */
    }
  }
  return hostname();
}

export function probesHash(): string {
  const h = createHash('sha256');
  for (const f of [join(PROBES_DIR, 'sampler.bt'), join(PROBES_DIR, 'per-packet.bt'), new URL('../probes/render.ts', import.meta.url).pathname]) {
    h.update(existsSync(f) ? readFileSync(f) : '');
  }
  return h.digest('hex').slice(0, 12);
}

export function calibrationKey(kernel: string, sampleIntervalMs: number): CalibrationKey {
  return { machine: machineId(), kernel, probes: probesHash(), sampleIntervalMs };
}

const fileFor = (k: CalibrationKey) => join(CALIBRATIONS_DIR, `${k.kernel.replace(/[^A-Za-z0-9._-]/g, '_')}-${createHash('sha256').update(JSON.stringify(k)).digest('hex').slice(0, 12)}.json`);

export function saveCalibration(c: StoredCalibration): string {
  const file = fileFor(c.key);
  writeJsonAtomic(file, c);
  return file;
}

/** The stored calibration for this key, as a result carries it; null when none matches (or it cannot be read). */
export function findCalibration(key: CalibrationKey): ProbeCalibrationRef | null {
  const file = fileFor(key);
  if (!existsSync(file)) return null;
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as StoredCalibration;
    if (c.kind !== 'tunbench-probe-calibration' || JSON.stringify(c.key) !== JSON.stringify(key)) return null;
    return { file, measuredAt: c.measuredAt, rounds: c.rounds, costs: c.costs };
  } catch {
    return null;
  }
}

/** Every stored calibration (for `calibrate --list`); unreadable files are named, not fatal. */
export function listCalibrations(): { file: string; calibration: StoredCalibration | null }[] {
  if (!existsSync(CALIBRATIONS_DIR)) return [];
  return readdirSync(CALIBRATIONS_DIR).filter((f) => f.endsWith('.json')).sort().map((f) => {
    const file = join(CALIBRATIONS_DIR, f);
    try {
      return { file, calibration: JSON.parse(readFileSync(file, 'utf8')) as StoredCalibration };
    } catch {
      return { file, calibration: null };
    }
  });
}
