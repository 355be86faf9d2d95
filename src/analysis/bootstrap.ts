// Percentile bootstrap confidence intervals of a median and of a ratio of medians.
// Seeded: the same inputs and seed give the same interval.
import { median, quantileSorted, sorted } from './descriptive.ts';

export interface BootstrapOptions {
  /** Resamples (default 10 000). */
  resamples?: number;
  /** Confidence level (default 0.95). */
  confidence?: number;
  rand: () => number;
}

function resample(xs: readonly number[], rand: () => number): number[] {
  const out = new Array<number>(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = xs[Math.floor(rand() * xs.length)]!;
  return out;
}

function interval(stats: number[], confidence: number): [number, number] {
  const s = sorted(stats.filter((x) => Number.isFinite(x)));
  const a = (1 - confidence) / 2;
  return [quantileSorted(s, a), quantileSorted(s, 1 - a)];
}

export function bootstrapMedianCI(xs: readonly number[], o: BootstrapOptions): [number, number] {
  if (xs.length === 0) return [NaN, NaN];
  if (xs.length === 1) return [xs[0]!, xs[0]!];
  const n = o.resamples ?? 10_000;
  const stats = new Array<number>(n);
  for (let i = 0; i < n; i++) stats[i] = median(resample(xs, o.rand));
  return interval(stats, o.confidence ?? 0.95);
}

/** Ratio of medians b/a; both zero counts as 1 (no change), a zero baseline otherwise as infinite. */
export function ratioOfMedians(a: readonly number[], b: readonly number[]): number {
  const ma = median(a);
  const mb = median(b);
  if (ma === 0 && mb === 0) return 1;
  return ma === 0 ? Infinity : mb / ma;
}

export function bootstrapRatioCI(a: readonly number[], b: readonly number[], o: BootstrapOptions): [number, number] {
  const n = o.resamples ?? 10_000;
  const stats = new Array<number>(n);
  for (let i = 0; i < n; i++) stats[i] = ratioOfMedians(resample(a, o.rand), resample(b, o.rand));
  return interval(stats, o.confidence ?? 0.95);
}
