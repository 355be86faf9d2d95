// Average ranks (1-based) with the tie term sum(t^3 - t) used by the normal approximations.
export function averageRanks(values: readonly number[]): { ranks: number[]; tieTerm: number; ties: boolean } {
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
  return { ranks: r, tieTerm, ties: tieTerm > 0 };
}

/** Which way the alternative hypothesis points: 'less' = the first sample (or the paired
 * differences) tend to be smaller (below zero), as in scipy.stats. */
export type Alternative = 'two-sided' | 'less' | 'greater';

/** The k-th smallest (0-based) of xs; xs is sorted in place. */
export function kth(xs: number[], k: number): number {
  xs.sort((a, b) => a - b);
  return xs[k]!;
}
