// Fairness of a share among flows: Jain's index (R. Jain, D. Chiu, W. Hawe, "A Quantitative
// Measure of Fairness and Discrimination for Resource Allocation in Shared Computer Systems",
// DEC-TR-301, 1984): J = (Σx)² / (n·Σx²). 1 when every flow got the same, 1/n when one flow got
// everything; it does not depend on the unit or the total.

/** Jain's fairness index of xs (each >= 0); null for no flows or when all are 0 (nothing to share). */
export function jainIndex(xs: readonly number[]): number | null {
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x) || x < 0)) return null;
  let sum = 0;
  let squares = 0;
  for (const x of xs) {
    sum += x;
    squares += x * x;
  }
  if (squares === 0) return null;
  // Rounding can put a perfectly even share a hair above 1.
  return Math.min(1, (sum * sum) / (xs.length * squares));
}
