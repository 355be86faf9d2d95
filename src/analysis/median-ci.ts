// A distribution-free confidence interval for the median from order statistics. For n
// independent draws of a continuous distribution, the number below the true median is
// Binomial(n, 1/2), so [x_(k), x_(n+1-k)] (sorted, 1-based) covers the median with
// probability exactly 1 - 2 P(B <= k-1). We take the narrowest such interval whose coverage
// is at least the level asked for, and report that coverage (it is above the level: the
// binomial is discrete). No such interval exists below n = 6 at 95% ([min, max] covers
// 1 - 2^(1-n): 93.75% at n = 5, 75% at n = 3): then the interval is absent and says so.
import { sorted } from './descriptive.ts';

/** P(B <= k) for B ~ Binomial(n, 1/2). */
export function binomialHalfCdf(n: number, k: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  // Sum in log space: fine for the n of benchmarks (up to thousands).
  let logC = 0;
  let s = 0;
  const log2n = n * Math.LN2;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log((n - i + 1) / i);
    s += Math.exp(logC - log2n);
  }
  return Math.min(1, s);
}

export interface MedianInterval {
  low: number;
  high: number;
  /** The interval's real coverage for a continuous distribution; null when there is no interval. */
  coverage: number | null;
  /** 1-based ranks of the bounds in the sorted sample; null when there is no interval. */
  ranks: [number, number] | null;
  /** Plain words when there is no interval. */
  note: string;
}

export function medianCI(xs: readonly number[], confidence = 0.95): MedianInterval {
  const n = xs.length;
  const none = (note: string): MedianInterval => ({ low: NaN, high: NaN, coverage: null, ranks: null, note });
  if (n === 0) return none('no trials');
  // Largest k with 1 - 2 P(B <= k-1) >= confidence.
  let k = 0;
  while (k + 1 <= Math.floor((n + 1) / 2) && 1 - 2 * binomialHalfCdf(n, k) >= confidence) k++;
  if (k === 0) {
    const best = n >= 2 ? 1 - 2 * binomialHalfCdf(n, 0) : 0;
    return none(`too few trials for a ${(confidence * 100).toFixed(0)}% interval (n=${n}: even [min, max] covers only ${(best * 100).toFixed(1)}%; needs n >= ${minTrialsForMedianCI(confidence)})`);
  }
  const s = sorted(xs);
  return { low: s[k - 1]!, high: s[n - k]!, coverage: 1 - 2 * binomialHalfCdf(n, k - 1), ranks: [k, n + 1 - k], note: '' };
}

/** The smallest n with a median interval of at least this coverage. */
export function minTrialsForMedianCI(confidence = 0.95): number {
  if (!(confidence < 1)) return Infinity; // no finite sample covers with certainty
  let n = 1;
  while (1 - 2 * binomialHalfCdf(n, 0) < confidence) n++;
  return n;
}
