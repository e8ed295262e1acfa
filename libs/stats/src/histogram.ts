/*
 * Latencies as counts on a fixed log-spaced grid: 8 bins per doubling from 1 ms, 160 bins, so
 * bin k holds [2^(k/8), 2^((k+1)/8)) ms (bin 0 also holds everything below 1 ms, the last bin
 * everything from 2^(159/8) ms ≈ 16 min up). Neighbouring edges are 9% apart; inside a bin a
 * value is taken as log-uniform, which puts a quantile within a small fraction of that of the
 * exact one. Postgres computes the same bin with the same formula (see BIN_SQL), so a histogram
 * is a few hundred numbers per arm instead of every raw latency.
 */
export const BINS_PER_DOUBLING = 8;
export const HISTOGRAM_BINS = 160;

/** The bin of a latency in ms (NaN and negatives go to bin 0). */
export function binOf(ms: number): number {
  if (!(ms >= 1)) return 0;
  const bin = Math.floor(BINS_PER_DOUBLING * Math.log2(ms));
  return bin >= HISTOGRAM_BINS ? HISTOGRAM_BINS - 1 : bin;
}

/** The lower edge (ms) of bin k: also the upper edge of bin k - 1. */
export function binEdgeMs(k: number): number {
  return 2 ** (k / BINS_PER_DOUBLING);
}

/**
 * The same bin in SQL, for a double precision column: `floor(8 * ln(greatest(x, 1)) / ln 2)`,
 * capped at the last bin. ln(2) is written out so that the expression stays immutable.
 */
export function binSql(column: string): string {
  return `least(${HISTOGRAM_BINS - 1}, floor(${BINS_PER_DOUBLING} * ln(greatest(${column}, 1)) / 0.6931471805599453))::int`;
}

/** A dense histogram: counts[k] is the number of values in bin k. */
export type Histogram = ArrayLike<number>;

export function emptyHistogram(): number[] {
  return new Array<number>(HISTOGRAM_BINS).fill(0);
}

export function totalOf(histogram: Histogram): number {
  let total = 0;
  for (let k = 0; k < histogram.length; k++) total += histogram[k];
  return total;
}

/** Builds a dense histogram from sparse (bin, count) pairs, e.g. the rows of a GROUP BY. */
export function histogramOf(pairs: Iterable<readonly [number, number]>): number[] {
  const histogram = emptyHistogram();
  for (const [bin, count] of pairs) histogram[Math.min(HISTOGRAM_BINS - 1, Math.max(0, bin))] += count;
  return histogram;
}

/**
 * The q-quantile (0 < q < 1) in ms, interpolated log-uniformly inside its bin; null for an empty
 * histogram. q at or beyond 0 or 1 gives the grid's edges, 0 and Infinity: what an interval
 * reaching past the data says.
 */
export function quantileOf(histogram: Histogram, q: number, total = totalOf(histogram)): number | null {
  if (total <= 0) return null;
  if (q <= 0) return 0;
  if (q >= 1) return Number.POSITIVE_INFINITY;
  const target = q * total;
  let below = 0;
  for (let k = 0; k < histogram.length; k++) {
    const count = histogram[k];
    if (count > 0 && below + count >= target) {
      const fraction = (target - below) / count;
      return 2 ** ((k + fraction) / BINS_PER_DOUBLING);
    }
    below += count;
  }
  return binEdgeMs(histogram.length);
}

/** The position of a latency on the grid in bins, fractional: 8 × log2(ms). */
export function positionOf(ms: number): number {
  return ms <= 1 ? 0 : BINS_PER_DOUBLING * Math.log2(ms);
}
