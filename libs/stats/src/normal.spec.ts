import { normalCdf } from './normal';

// Reference values: scipy.stats.norm.cdf (scipy 1.17).
describe('normalCdf', () => {
  it('matches reference values to better than 1e-13 near the centre', () => {
    const cases: Array<[number, number]> = [
      [0, 0.5],
      [0.5, 0.6914624612740131],
      [-1, 0.15865525393145707],
      [1.6448536269514722, 0.95],
      [-1.959963984540054, 0.025],
      [-2.326347874040841, 0.009999999999999992],
      [-3, 0.0013498980316300933],
    ];
    for (const [z, expected] of cases) {
      expect(Math.abs(normalCdf(z) - expected) / expected).toBeLessThan(1e-13);
    }
  });

  it('keeps its relative accuracy far into the lower tail, where p-values live', () => {
    const cases: Array<[number, number]> = [
      [-5, 2.866515718791933e-7],
      [-6, 9.865876450376946e-10],
      [-8, 6.22096057427174e-16],
      [-10, 7.61985302416047e-24],
    ];
    for (const [z, expected] of cases) {
      expect(Math.abs(normalCdf(z) - expected) / expected).toBeLessThan(1e-8);
    }
  });

  it('is symmetric: Φ(z) + Φ(-z) = 1', () => {
    for (const z of [0.1, 0.7, 1.3, 2.5, 4, 6.9, 7.2]) {
      expect(normalCdf(z) + normalCdf(-z)).toBeCloseTo(1, 15);
    }
  });

  it('is continuous where the approximation switches to the continued fraction', () => {
    const edge = 7.07106781186547;
    const below = normalCdf(-(edge - 1e-9));
    const above = normalCdf(-(edge + 1e-9));
    expect(Math.abs(below - above) / below).toBeLessThan(1e-7);
  });

  it('handles the extremes and NaN', () => {
    expect(normalCdf(-40)).toBe(0);
    expect(normalCdf(40)).toBe(1);
    expect(normalCdf(Number.NEGATIVE_INFINITY)).toBe(0);
    expect(normalCdf(Number.POSITIVE_INFINITY)).toBe(1);
    expect(normalCdf(Number.NaN)).toBeNaN();
  });
});
