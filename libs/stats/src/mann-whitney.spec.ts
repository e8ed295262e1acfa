import { mannWhitneyU } from './mann-whitney';

// Park–Miller: exact in doubles and easy to repeat in Python, where the reference values came from.
function parkMiller(seed: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    seed = (seed * 16807) % 2147483647;
    out.push(seed / 2147483647);
  }
  return out;
}

describe('mannWhitneyU', () => {
  it('matches the scipy documentation example, worked by hand', () => {
    // scipy.stats.mannwhitneyu docs: males vs females. Combined ranks of the males 19, 22, 16, 29, 24
    // are 5, 7, 3, 9, 8: R1 = 32, U = 32 - 5·6/2 = 17. Mean 10, variance 5·4·10/12 = 16.67,
    // z = (17 - 10 - 0.5) / 4.0825 = 1.59217, one-sided p = 0.0556734 (scipy, 'greater', asymptotic).
    const result = mannWhitneyU([19, 22, 16, 29, 24], [20, 11, 17, 12]);
    expect(result.u).toBe(17);
    expect(result.z).toBeCloseTo(1.5921683328090657, 12);
    expect(result.pValue).toBeCloseTo(0.055673443266570206, 12);
    expect(result.effectSize).toBe(17 / 20);
  });

  it('gives ties their midrank and corrects the variance for them', () => {
    // Combined: 1 | 2 2 2 | 3 3 3 | 4 | 5 with the treatment holding 1, 2, 2, 3, 5.
    // Ranks: 1; the 2s share 2..4 -> 3; the 3s share 5..7 -> 6; 4 -> 8; 5 -> 9.
    // R1 = 1 + 3 + 3 + 6 + 9 = 22, U = 22 - 15 = 7. Ties: two groups of 3, Σ(t³ - t) = 48.
    // Variance = 20/12 · (10 - 48/72) = 15.556, z = (7 - 10 - 0.5) / 3.944 = -0.88741.
    const result = mannWhitneyU([1, 2, 2, 3, 5], [2, 3, 3, 4]);
    expect(result.u).toBe(7);
    expect(result.z).toBeCloseTo(-0.8874119674649424, 12);
    expect(result.pValue).toBeCloseTo(0.81257142865833, 12);
    // Swapping the arms: U' = n1·n2 - U = 13, scipy p = 0.263084.
    const swapped = mannWhitneyU([2, 3, 3, 4], [1, 2, 2, 3, 5]);
    expect(swapped.u).toBe(13);
    expect(swapped.pValue).toBeCloseTo(0.26308423887807164, 12);
  });

  it('matches scipy on a larger sample with many ties, in any input order', () => {
    const treatment = parkMiller(42, 300).map((u) => Math.floor(200 + 300 * u));
    const control = parkMiller(7, 250).map((u) => Math.floor(180 + 300 * u));
    // scipy.stats.mannwhitneyu(treatment, control, alternative='greater', method='asymptotic')
    const result = mannWhitneyU(treatment, control);
    expect(result.u).toBe(40920.5);
    expect(result.pValue).toBeCloseTo(0.032667361254655664, 12);
    expect(mannWhitneyU([...treatment].reverse(), [...control].reverse())).toEqual(result);
  });

  it('finds nothing between identical samples', () => {
    const sample = parkMiller(1, 500).map((u) => Math.round(100 + 900 * u));
    const result = mannWhitneyU(sample, [...sample]);
    expect(result.effectSize).toBe(0.5);
    expect(result.pValue).toBeGreaterThan(0.5);
    expect(result.pValue).toBeLessThan(0.52);
  });

  it('finds a clearly slower treatment with a tiny p-value, and not the reverse', () => {
    const control = parkMiller(3, 1000).map((u) => 200 + 100 * u);
    const treatment = parkMiller(4, 1000).map((u) => 260 + 100 * u);
    const slower = mannWhitneyU(treatment, control);
    expect(slower.pValue).toBeLessThan(1e-6);
    expect(slower.effectSize).toBeGreaterThan(0.75);
    const faster = mannWhitneyU(control, treatment);
    expect(faster.pValue).toBeGreaterThan(0.999999);
    expect(faster.effectSize).toBeCloseTo(1 - slower.effectSize, 12);
  });

  it('says nothing (z 0, p 1) for an empty arm or when every value is the same', () => {
    expect(mannWhitneyU([], [1, 2, 3])).toEqual({ u: 0, z: 0, pValue: 1, effectSize: 0.5 });
    expect(mannWhitneyU([1, 2, 3], [])).toEqual({ u: 0, z: 0, pValue: 1, effectSize: 0.5 });
    const allEqual = mannWhitneyU([5, 5, 5], [5, 5]);
    expect(allEqual).toEqual({ u: 3, z: 0, pValue: 1, effectSize: 0.5 });
  });

  it('rejects NaN and infinite values', () => {
    expect(() => mannWhitneyU([1, Number.NaN], [1, 2])).toThrow(RangeError);
    expect(() => mannWhitneyU([1, 2], [Number.POSITIVE_INFINITY])).toThrow(RangeError);
  });

  it('handles 50k + 50k samples (O(n log n))', () => {
    const control = parkMiller(11, 50_000).map((u) => Math.round(-Math.log(u) * 300));
    const treatment = parkMiller(12, 50_000).map((u) => Math.round(-Math.log(u) * 330));
    const result = mannWhitneyU(treatment, control);
    expect(result.pValue).toBeLessThan(1e-6);
    expect(result.effectSize).toBeGreaterThan(0.5);
  });
});
