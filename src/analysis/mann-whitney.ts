// Mann-Whitney U test (two independent samples) with scipy.stats.mannwhitneyu's conventions:
// U1 is the first sample's statistic; exact null distribution when there are no ties and
// m + n <= 40, else the normal approximation with tie and continuity correction.
// Also the Hodges-Lehmann shift with its distribution-free interval (the inversion of this
// test) and Cliff's delta as the effect size.
import { normalQuantile, normalSf } from './normal.ts';
import { averageRanks, type Alternative } from './ranks.ts';

const cache = new Map<string, { counts: number[]; total: number; cdf: number[] }>();

/** The exact null distribution of U for sizes m and n (cached): counts[u], and P(U <= u). */
export function mannWhitneyExact(m: number, n: number): { counts: number[]; total: number; cdf: number[] } {
  const [a, b] = m <= n ? [m, n] : [n, m];
  const key = `${a},${b}`;
  const hit = cache.get(key);
  if (hit) return hit;
  // f[j][u] for i x's: arrangements of i x's and j y's with U = u, built row by row in i.
  let prev: number[][] = Array.from({ length: b + 1 }, () => [1]);
  for (let i = 1; i <= a; i++) {
    const cur: number[][] = [[1]];
    for (let j = 1; j <= b; j++) {
      const out = new Array<number>(i * j + 1).fill(0);
      prev[j]!.forEach((c, u) => (out[u + j] = out[u + j]! + c)); // largest is an x: it beats j y's
      cur[j - 1]!.forEach((c, u) => (out[u] = out[u]! + c)); // largest is a y
      cur.push(out);
    }
    prev = cur;
  }
  const counts = prev[b]!;
  const total = counts.reduce((s, c) => s + c, 0);
  let acc = 0;
  const cdf = counts.map((c) => (acc += c) / total);
  const r = { counts, total, cdf };
  cache.set(key, r);
  return r;
}

export const mannWhitneyUsesExact = (m: number, n: number, ties: boolean): boolean => !ties && m + n <= 40;

export interface MannWhitneyResult {
  /** U of the first sample: pairs (x, y) with x > y, ties counted one half. */
  u: number;
  pValue: number;
  method: 'exact' | 'normal';
}

export function mannWhitneyU(x: readonly number[], y: readonly number[], alternative: Alternative = 'two-sided'): MannWhitneyResult {
  const m = x.length;
  const n = y.length;
  if (m === 0 || n === 0) return { u: NaN, pValue: 1, method: 'normal' };
  const { ranks: r, tieTerm, ties } = averageRanks([...x, ...y]);
  const r1 = r.slice(0, m).reduce((s, v) => s + v, 0);
  const u1 = r1 - (m * (m + 1)) / 2;
  const u2 = m * n - u1;
  const u = alternative === 'greater' ? u1 : alternative === 'less' ? u2 : Math.max(u1, u2);
  if (mannWhitneyUsesExact(m, n, ties)) {
    const { cdf } = mannWhitneyExact(m, n);
    // P(U >= u) = 1 - P(U <= u - 1); the distribution is symmetric, so U1 and U2 share it.
    const sf = u - 1 < 0 ? 1 : 1 - cdf[u - 1]!;
    const p = alternative === 'two-sided' ? 2 * sf : sf;
    return { u: u1, pValue: Math.min(1, Math.max(0, p)), method: 'exact' };
  }
  const N = m + n;
  const mu = (m * n) / 2;
  const sigma = Math.sqrt(((m * n) / 12) * (N + 1 - tieTerm / (N * (N - 1))));
  if (sigma === 0) return { u: u1, pValue: 1, method: 'normal' };
  const z = (u - mu - 0.5) / sigma;
  const p = alternative === 'two-sided' ? 2 * normalSf(z) : normalSf(z);
  return { u: u1, pValue: Math.min(1, p), method: 'normal' };
}

/** The smallest p-value the test can give at these sizes (complete separation, exact). */
export function mannWhitneySmallestP(m: number, n: number, alternative: Alternative): number {
  let c = 1;
  for (let i = 1; i <= m; i++) c = (c * (n + i)) / i;
  return Math.min(1, (alternative === 'two-sided' ? 2 : 1) / c);
}

/** Cliff's delta of y against x: P(y > x) - P(y < x), in [-1, 1]. */
export function cliffsDelta(x: readonly number[], y: readonly number[]): number {
  let gt = 0;
  let lt = 0;
  for (const a of x) for (const b of y) {
    if (b > a) gt++;
    else if (b < a) lt++;
  }
  return (gt - lt) / (x.length * y.length);
}

export interface ShiftEstimate {
  /** Hodges-Lehmann estimate of the shift y - x: the median of all differences y_j - x_i. */
  estimate: number;
  low: number;
  high: number;
  /** Coverage of [low, high] (exact for continuous data with the exact distribution); null: none exists. */
  coverage: number | null;
}

/** Hodges-Lehmann shift of y against x with the interval from inverting the Mann-Whitney test. */
export function hodgesLehmannShift(x: readonly number[], y: readonly number[], confidence: number): ShiftEstimate {
  const m = x.length;
  const n = y.length;
  const d: number[] = [];
  for (const a of x) for (const b of y) d.push(b - a);
  d.sort((p, q) => p - q);
  const N = d.length;
  const mid = (N - 1) / 2;
  const estimate = (d[Math.floor(mid)]! + d[Math.ceil(mid)]!) / 2;
  const tail = (1 - confidence) / 2;
  // c: how many differences to cut off on each side, largest with P(U <= c - 1) <= tail.
  let c: number;
  let coverage: number;
  if (m + n <= 40) {
    const { cdf } = mannWhitneyExact(m, n);
    c = 0;
    while (c < N && cdf[c]! <= tail) c++;
    coverage = c === 0 ? 0 : 1 - 2 * cdf[c - 1]!;
  } else {
    const s = Math.sqrt((m * n * (m + n + 1)) / 12);
    c = Math.max(0, Math.floor(N / 2 - normalQuantile(1 - tail) * s + 0.5));
    coverage = 1 - 2 * (1 - normalSf((c - 0.5 - N / 2) / s));
  }
  if (c === 0 || c > N - c) return { estimate, low: NaN, high: NaN, coverage: null };
  return { estimate, low: d[c - 1]!, high: d[N - c]!, coverage };
}
