// Holm's step-down correction: controls the family-wise error rate (the chance of any false
// rejection among k tests) at alpha under any dependence between the tests, and is never less
// powerful than Bonferroni. Adjusted p_(i) = max_{j<=i} min(1, (k - j + 1) p_(j)).
export function holmAdjust(ps: readonly number[]): number[] {
  const k = ps.length;
  const order = ps.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(k);
  let running = 0;
  order.forEach(([p, i], j) => {
    running = Math.max(running, Math.min(1, (k - j) * (Number.isNaN(p) ? 1 : p)));
    out[i] = running;
  });
  return out;
}
