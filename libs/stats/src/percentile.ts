/*
 * The p-quantile of values sorted ascending, computed exactly as Postgres `percentile_cont(p)`:
 * the value at position p·(n-1) (0-based), interpolating linearly between the two closest ranks.
 * Why the same definition: the stats endpoints compute percentiles in SQL and the canary judges
 * them here, and an operator comparing the two must see the same p99 for the same rows. The
 * arithmetic follows Postgres' own (lo + frac·(hi - lo)), so results agree to the last bit.
 *
 * - p outside [0, 1] or NaN throws a RangeError, as Postgres raises an error: it is a caller's bug.
 * - An empty array gives NaN (Postgres gives NULL): "no data" is not a number, and NaN does not
 *   pass for a latency the way 0 would.
 * - The input is trusted to be sorted ascending and free of NaN; sorting or checking it here would
 *   cost O(n log n) per call when callers ask for several percentiles of one sample. summarize()
 *   sorts for you.
 */
export function percentile(sortedAscending: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`percentile must be between 0 and 1, got ${p}`);
  const n = sortedAscending.length;
  if (n === 0) return Number.NaN;
  const position = p * (n - 1);
  const lo = Math.floor(position);
  const hi = Math.ceil(position);
  const loValue = sortedAscending[lo];
  if (hi === lo) return loValue;
  return loValue + (position - lo) * (sortedAscending[hi] - loValue);
}

export interface Summary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
}

/*
 * Count, mean and the percentiles the canary gates use, from unsorted values (a copy is sorted;
 * the input is left alone). Empty input gives count 0 and NaN elsewhere, like percentile().
 * A NaN or infinite value throws a RangeError: one bad latency would silently poison the mean
 * and, sorted to an end, the percentiles.
 */
export function summarize(values: ArrayLike<number>): Summary {
  return summarizeSorted(sortedCopy(values));
}

// A Float64Array copy sorted ascending. Typed arrays sort numerically (no comparator calls), which
// keeps 100k samples in milliseconds; the copy is also where every value is checked once.
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  const copy = Float64Array.from(values);
  for (let i = 0; i < copy.length; i++) {
    if (!Number.isFinite(copy[i]))
      throw new RangeError(`sample values must be finite numbers, got ${copy[i]} at index ${i}`);
  }
  return copy.sort();
}

export function summarizeSorted(sortedAscending: ArrayLike<number>): Summary {
  const count = sortedAscending.length;
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sortedAscending[i];
  return {
    count,
    mean: count === 0 ? Number.NaN : sum / count,
    p50: percentile(sortedAscending, 0.5),
    p95: percentile(sortedAscending, 0.95),
    p99: percentile(sortedAscending, 0.99),
  };
}
