// Mann-Whitney U test, two-sided. Exact distribution for small samples without ties;
// otherwise the normal approximation with tie correction and continuity correction.

function ranks(values: number[]): { ranks: number[]; tieTerm: number } {
  const idx = values.map((v, i) => [v, i] as const).sort((x, y) => x[0] - y[0]);
  const r = new Array<number>(values.length);
  let tieTerm = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1]![0] === idx[i]![0]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) r[idx[k]![1]] = avg;
    const t = j - i + 1;
    tieTerm += t ** 3 - t;
    i = j + 1;
  }
  return { ranks: r, tieTerm };
}

/** Number of ways to reach each U with m and n items (the exact null distribution). */
function exactCounts(m: number, n: number): number[] {
  // f[i][j][u]: arrangements of i x's and j y's with U = u, built up recursively.
  const memo = new Map<string, number[]>();
  const f = (i: number, j: number): number[] => {
    if (i === 0 || j === 0) return [1];
    const key = `${i},${j}`;
    const hit = memo.get(key);
    if (hit) return hit;
    const a = f(i - 1, j); // largest is an x: adds j to U
    const b = f(i, j - 1); // largest is a y: adds 0
    const out = new Array<number>(i * j + 1).fill(0);
    a.forEach((c, u) => (out[u + j] = (out[u + j] ?? 0) + c));
    b.forEach((c, u) => (out[u] = (out[u] ?? 0) + c));
    memo.set(key, out);
    return out;
  };
  return f(m, n);
}

function normalCdf(z: number): number {
  // Abramowitz-Stegun 7.1.26 via erf.
  const t = 1 / (1 + 0.3275911 * Math.abs(z) / Math.SQRT2);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-(z * z) / 2);
  return z >= 0 ? (1 + y) / 2 : (1 - y) / 2;
}

export interface MannWhitneyResult {
  u: number;
  pValue: number;
  method: 'exact' | 'normal';
}

export function mannWhitneyU(x: readonly number[], y: readonly number[]): MannWhitneyResult {
  const m = x.length;
  const n = y.length;
  if (m === 0 || n === 0) return { u: NaN, pValue: 1, method: 'normal' };
  const { ranks: r, tieTerm } = ranks([...x, ...y]);
  const r1 = r.slice(0, m).reduce((s, v) => s + v, 0);
  const u1 = r1 - (m * (m + 1)) / 2;
  const u = Math.min(u1, m * n - u1);
  if (tieTerm === 0 && m + n <= 40) {
    const counts = exactCounts(m, n);
    const total = counts.reduce((s, c) => s + c, 0);
    let tail = 0;
    for (let k = 0; k <= Math.floor(u); k++) tail += counts[k] ?? 0;
    return { u: u1, pValue: Math.min(1, (2 * tail) / total), method: 'exact' };
  }
  const mu = (m * n) / 2;
  const sigma = Math.sqrt(((m * n) / 12) * (m + n + 1 - tieTerm / ((m + n) * (m + n - 1))));
  if (sigma === 0) return { u: u1, pValue: 1, method: 'normal' };
  const z = (Math.abs(u1 - mu) - 0.5) / sigma;
  return { u: u1, pValue: Math.min(1, 2 * (1 - normalCdf(Math.max(0, z)))), method: 'normal' };
}
