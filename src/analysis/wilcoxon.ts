// Wilcoxon signed-rank test of paired differences, with scipy.stats.wilcoxon's conventions
// (zero_method 'wilcox': zero differences are dropped; the statistic is r_plus, the rank sum
// of the positive differences): exact null distribution when no zeros, no ties and n <= 50,
// else the normal approximation with tie and continuity correction. Also the Hodges-Lehmann
// (Walsh average) estimate of the median difference with its distribution-free interval, and
// the matched-pairs rank-biserial correlation as the effect size.
import { normalQuantile, normalSf } from './normal.ts';
import { averageRanks, type Alternative } from './ranks.ts';

const cache = new Map<number, number[]>();

/** P(T <= t) for the signed-rank statistic of n pairs, t = 0..n(n+1)/2 (cached). */
export function signedRankExactCdf(n: number): number[] {
  const hit = cache.get(n);
  if (hit) return hit;
  const max = (n * (n + 1)) / 2;
  let counts = new Array<number>(max + 1).fill(0);
  counts[0] = 1;
  for (let i = 1; i <= n; i++) {
    const next = counts.slice();
    for (let s = i; s <= max; s++) next[s] = next[s]! + counts[s - i]!;
    counts = next;
  }
  const total = 2 ** n;
  let acc = 0;
  const cdf = counts.map((c) => (acc += c) / total);
  cache.set(n, cdf);
  return cdf;
}

export const signedRankUsesExact = (n: number, ties: boolean, zeros: boolean): boolean => !ties && !zeros && n <= 50;

export interface SignedRankResult {
  /** r_plus: rank sum of the positive differences (zeros dropped). */
  statistic: number;
  /** Non-zero differences used. */
  n: number;
  pValue: number;
  method: 'exact' | 'normal';
}

export function wilcoxonSignedRank(diffs: readonly number[], alternative: Alternative = 'two-sided'): SignedRankResult {
  const zeros = diffs.some((d) => d === 0);
  const d = diffs.filter((x) => x !== 0);
  const n = d.length;
  if (n === 0) return { statistic: 0, n: 0, pValue: 1, method: 'normal' };
  const { ranks, tieTerm, ties } = averageRanks(d.map(Math.abs));
  const rPlus = d.reduce((s, x, i) => s + (x > 0 ? ranks[i]! : 0), 0);
  const max = (n * (n + 1)) / 2;
  const rMinus = max - rPlus;
  if (signedRankUsesExact(n, ties, zeros)) {
    const cdf = signedRankExactCdf(n);
    const le = (t: number) => (t < 0 ? 0 : cdf[Math.min(max, Math.floor(t))]!);
    const pLess = le(rPlus);
    const pGreater = 1 - le(rPlus - 1);
    const p = alternative === 'less' ? pLess : alternative === 'greater' ? pGreater : 2 * le(Math.min(rPlus, rMinus));
    return { statistic: rPlus, n, pValue: Math.min(1, p), method: 'exact' };
  }
  const mn = max / 2;
  const se = Math.sqrt((n * (n + 1) * (2 * n + 1) - tieTerm / 2) / 24);
  if (se === 0) return { statistic: rPlus, n, pValue: 1, method: 'normal' };
  let p: number;
  if (alternative === 'two-sided') {
    const t = Math.min(rPlus, rMinus);
    const z = (t - mn - 0.5 * Math.sign(t - mn)) / se;
    p = 2 * normalSf(Math.abs(z));
  } else if (alternative === 'greater') {
    p = normalSf((rPlus - mn - 0.5) / se);
  } else {
    p = 1 - normalSf((rPlus - mn + 0.5) / se);
  }
  return { statistic: rPlus, n, pValue: Math.min(1, p), method: 'normal' };
}

/** The smallest p-value the test can give with n non-zero pairs (all of one sign, exact). */
export const signedRankSmallestP = (n: number, alternative: Alternative): number => Math.min(1, (alternative === 'two-sided' ? 2 : 1) / 2 ** n);

/** Matched-pairs rank-biserial correlation: (r_plus - r_minus) / (n(n+1)/2), in [-1, 1]. */
export function rankBiserial(diffs: readonly number[]): number {
  const d = diffs.filter((x) => x !== 0);
  if (d.length === 0) return 0;
  const { ranks } = averageRanks(d.map(Math.abs));
  const rPlus = d.reduce((s, x, i) => s + (x > 0 ? ranks[i]! : 0), 0);
  const max = (d.length * (d.length + 1)) / 2;
  return (2 * rPlus - max) / max;
}

export interface PairedShift {
  /** Hodges-Lehmann estimate: the median of the Walsh averages (d_i + d_j) / 2, i <= j. */
  estimate: number;
  low: number;
  high: number;
  /** Coverage of [low, high] (exact for continuous symmetric differences up to n = 50); null: none exists. */
  coverage: number | null;
}

export function pairedShift(diffs: readonly number[], confidence: number): PairedShift {
  const n = diffs.length;
  const w: number[] = [];
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) w.push((diffs[i]! + diffs[j]!) / 2);
  w.sort((a, b) => a - b);
  const N = w.length;
  if (N === 0) return { estimate: NaN, low: NaN, high: NaN, coverage: null };
  const estimate = (w[Math.floor((N - 1) / 2)]! + w[Math.ceil((N - 1) / 2)]!) / 2;
  const tail = (1 - confidence) / 2;
  let c: number;
  let coverage: number;
  if (n <= 50) {
    const cdf = signedRankExactCdf(n);
    c = 0;
    while (c < N && cdf[c]! <= tail) c++;
    coverage = c === 0 ? 0 : 1 - 2 * cdf[c - 1]!;
  } else {
    const s = Math.sqrt((n * (n + 1) * (2 * n + 1)) / 24);
    c = Math.max(0, Math.floor(N / 2 - normalQuantile(1 - tail) * s + 0.5));
    coverage = 1 - 2 * (1 - normalSf((c - 0.5 - N / 2) / s));
  }
  if (c === 0 || c > N - c) return { estimate, low: NaN, high: NaN, coverage: null };
  return { estimate, low: w[c - 1]!, high: w[N - c]!, coverage };
}
