// Outliers in plain words, as hyperfine does: which trials, how far, and what to do.
import { median } from './descriptive.ts';

/** Indexes of values more than `k` scaled MADs from the median (scaled MAD = 1.4826 MAD). */
export function outlierIndexes(xs: readonly number[], k = 3): number[] {
  if (xs.length < 4) return [];
  const m = median(xs);
  const s = 1.4826 * median(xs.map((x) => Math.abs(x - m)));
  if (s === 0) return [];
  return xs.flatMap((x, i) => (Math.abs(x - m) > k * s ? [i] : []));
}

export function outlierWarnings(variant: string, metric: string, xs: readonly number[]): { outliers: number[]; warnings: string[] } {
  const outliers = outlierIndexes(xs);
  const warnings: string[] = [];
  if (outliers.length > 0) {
    warnings.push(`${outliers.length} of ${xs.length} trials of ${variant} are far from the median of ${metric} (beyond 3 MADs: trials ${outliers.map((i) => i + 1).join(', ')}). The machine may have been busy; rerun on a quiet machine, or raise repetitions.`);
    if (outliers.includes(0) && outliers.length === 1) {
      warnings.push(`The first trial of ${variant} is the outlier in ${metric}: the warm-up may be too short (raise warmupTrials or rampUp).`);
    }
  }
  return { outliers, warnings };
}
