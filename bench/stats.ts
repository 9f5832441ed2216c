/** Small numeric helpers of the benchmark. */

/** The p-th percentile (nearest rank) of values; NaN when there are none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Rounds to `digits` decimals (one by default). */
export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
