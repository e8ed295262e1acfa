import { addCluster, NO_SUMS, ratioEstimate, welchDf, type ClusterSums } from './clustered';

function sumsOf(clusters: Array<[number, number]>): ClusterSums {
  return clusters.reduce((sums, [n, y]) => addCluster(sums, n, y), NO_SUMS);
}

describe('ratioEstimate (cluster-robust delta method)', () => {
  it('equals the textbook residual formula, K/(K-1)·Σ(y - r·n)²/N²', () => {
    const clusters: Array<[number, number]> = [
      [10, 1],
      [3, 0],
      [7, 2],
      [20, 1],
      [5, 0],
    ];
    const n = clusters.reduce((s, [c]) => s + c, 0);
    const y = clusters.reduce((s, [, v]) => s + v, 0);
    const r = y / n;
    const residual = clusters.reduce((s, [c, v]) => s + (v - r * c) ** 2, 0);
    const estimate = ratioEstimate(sumsOf(clusters), false)!;
    expect(estimate.estimate).toBeCloseTo(r, 15);
    expect(estimate.variance).toBeCloseTo(((5 / 4) * residual) / n ** 2, 15);
    expect(estimate.df).toBe(4);
  });

  it("is far larger than the binomial variance when a user's requests fail together", () => {
    // 100 users of 20 requests: 5 users fail everything, the rest nothing. 5% either way, but
    // 5 clusters of failures are much less information than 100 independent failures.
    const clusters: Array<[number, number]> = Array.from({ length: 100 }, (_, i) => [20, i < 5 ? 20 : 0]);
    const estimate = ratioEstimate(sumsOf(clusters), true)!;
    expect(estimate.estimate).toBeCloseTo(0.05, 12);
    expect(estimate.variance / ((0.05 * 0.95) / 2000)).toBeGreaterThan(15);
  });

  it('never claims more precision than a binomial with one event either way for a rate', () => {
    const clusters: Array<[number, number]> = Array.from({ length: 64 }, () => [30, 0]);
    const estimate = ratioEstimate(sumsOf(clusters), true)!;
    expect(estimate.estimate).toBe(0);
    expect(estimate.variance).toBeCloseTo(((1 / 1922) * (1921 / 1922)) / 1920, 15);
  });

  it('has no estimate without observations and an infinite variance with one cluster', () => {
    expect(ratioEstimate(NO_SUMS, true)).toBeNull();
    expect(ratioEstimate(sumsOf([[10, 2]]), false)!.variance).toBe(Infinity);
  });
});

describe('welchDf', () => {
  it('is the smaller df when one variance dominates and their sum for equal variances and df', () => {
    expect(welchDf({ variance: 1, df: 10 }, { variance: 1e-9, df: 1000 })).toBeCloseTo(10, 3);
    expect(welchDf({ variance: 1, df: 20 }, { variance: 1, df: 20 })).toBeCloseTo(40, 9);
  });
});
