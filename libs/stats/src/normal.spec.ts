import { logGamma, normalCdf, normalQuantile, tQuantileFromNormal } from './normal';

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

describe('normalQuantile', () => {
  it('inverts normalCdf to near double precision across the range', () => {
    for (const p of [1e-12, 1e-6, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999, 1 - 1e-9]) {
      const z = normalQuantile(p);
      expect(Math.abs(normalCdf(z) - p) / Math.min(p, 1 - p)).toBeLessThan(1e-9);
    }
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 12);
  });

  it('gives the infinities at 0 and 1 and NaN outside', () => {
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(normalQuantile(1.5)).toBeNaN();
  });
});

describe('tQuantileFromNormal', () => {
  // Reference: scipy.stats.t.ppf(scipy.stats.norm.cdf(z), df).
  it('matches Student t quantiles of the same tail for moderate df', () => {
    expect(tQuantileFromNormal(1.959963984540054, 63)).toBeCloseTo(1.9983405, 3);
    expect(tQuantileFromNormal(3.090232306167813, 30)).toBeCloseTo(3.3851848, 2);
    expect(tQuantileFromNormal(2.326347874040841, 10)).toBeCloseTo(2.763769, 2);
  });

  it('is the normal quantile at infinite df and wider at any finite df', () => {
    expect(tQuantileFromNormal(4, Infinity)).toBe(4);
    expect(tQuantileFromNormal(4, 63)).toBeGreaterThan(4);
  });
});

describe('logGamma', () => {
  it('matches ln((n-1)!) and Γ(1/2) = √π', () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(11)).toBeCloseTo(Math.log(3628800), 10);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
    expect(logGamma(101)).toBeCloseTo(363.73937555556347, 9); // ln(100!)
  });
});
