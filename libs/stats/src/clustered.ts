/*
 * Ratio estimates with a cluster-robust variance, from sums over clusters.
 *
 * A metric of an arm is a ratio r = Σy / Σn over its requests (errors / requests, cost / requests,
 * "latency at most t" / latency rows). One user's requests are correlated (sticky assignment, the
 * same prompts, the same client), so the variance is estimated over clusters that hold whole
 * users, not over requests: the delta method for a ratio of cluster totals (Deng, Knoblich & Lu,
 * "Applying the delta method in metric analytics", KDD 2018),
 *
 *   Var(r) ≈ K/(K-1) · Σ_c (y_c - r n_c)² / (Σ_c n_c)²
 *          = K/(K-1) · (Σy² - 2r Σny + r² Σn²) / N²,
 *
 * which needs only K, Σn, Σy, Σy², Σny and Σn² over the clusters. The clusters here are the 64
 * buckets a hash of the user key puts users in (requests without a user are spread by their own
 * id): every user's requests fall in one bucket, buckets are independent, so the spread between
 * buckets carries every correlation inside a user, and the sums stay small enough to compute per
 * tick in SQL or in the simulator. The price is K - 1 = 63 degrees of freedom for the variance,
 * which confidence-sequence.ts pays for with a Student-t widening.
 */
export const VARIANCE_BUCKETS = 64;

export interface ClusterSums {
  /** Clusters with at least one observation. */
  clusters: number;
  n: number;
  y: number;
  yy: number;
  ny: number;
  nn: number;
}

export const NO_SUMS: ClusterSums = Object.freeze({ clusters: 0, n: 0, y: 0, yy: 0, ny: 0, nn: 0 });

export function addCluster(sums: ClusterSums, n: number, y: number): ClusterSums {
  if (n <= 0) return sums;
  return {
    clusters: sums.clusters + 1,
    n: sums.n + n,
    y: sums.y + y,
    yy: sums.yy + y * y,
    ny: sums.ny + n * y,
    nn: sums.nn + n * n,
  };
}

export interface RatioEstimate {
  estimate: number;
  /** Of the estimate (not per observation). */
  variance: number;
  /** Degrees of freedom of the variance: clusters - 1. */
  df: number;
  n: number;
}

/**
 * r = Σy/Σn with its cluster-robust variance; null without observations. `binary`: y counts
 * requests with a property, so r is a proportion and its variance is floored at the binomial
 * variance of a rate pulled towards 1/2 by one event each way ((y+1)/(n+2)): with no or very few
 * events, an estimated variance of ~0 would otherwise claim a precision the data does not have.
 */
export function ratioEstimate(sums: ClusterSums, binary: boolean): RatioEstimate | null {
  if (sums.n <= 0) return null;
  const r = sums.y / sums.n;
  const residual = Math.max(0, sums.yy - 2 * r * sums.ny + r * r * sums.nn);
  const k = sums.clusters;
  let variance = k > 1 ? ((k / (k - 1)) * residual) / (sums.n * sums.n) : Number.POSITIVE_INFINITY;
  if (binary) {
    const shrunk = (sums.y + 1) / (sums.n + 2);
    variance = Math.max(variance, (shrunk * (1 - shrunk)) / sums.n);
  }
  return { estimate: r, variance, df: Math.max(k - 1, 1), n: sums.n };
}

/** Welch–Satterthwaite degrees of freedom of a sum of two independent variance estimates. */
export function welchDf(a: { variance: number; df: number }, b: { variance: number; df: number }): number {
  const total = a.variance + b.variance;
  const denominator = (a.variance * a.variance) / a.df + (b.variance * b.variance) / b.df;
  return denominator > 0 ? (total * total) / denominator : Math.min(a.df, b.df);
}
