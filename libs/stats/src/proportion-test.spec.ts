import { twoProportionTest } from './proportion-test';

describe('twoProportionTest', () => {
  it('computes the pooled one-sided z-test (worked by hand)', () => {
    // 30/500 = 6% vs 10/500 = 2%. Pooled p̂ = 40/1000 = 0.04;
    // SE = sqrt(0.04 · 0.96 · (1/500 + 1/500)) = sqrt(0.0001536) = 0.0123935; z = 0.04 / SE = 3.22749;
    // p = 1 - Φ(3.22749) = 0.000624415 (scipy.stats.norm.sf).
    const result = twoProportionTest({ failures: 30, total: 500 }, { failures: 10, total: 500 });
    expect(result.treatmentRate).toBe(0.06);
    expect(result.controlRate).toBe(0.02);
    expect(result.difference).toBeCloseTo(0.04, 15);
    expect(result.z).toBeCloseTo(3.227486121839514, 12);
    expect(result.pValue).toBeCloseTo(0.0006244154940442126, 12);
  });

  it('handles unequal arm sizes', () => {
    // 12/300 = 4% vs 5/400 = 1.25%: p̂ = 17/700, z = 2.33904, p = 0.0096667.
    const result = twoProportionTest({ failures: 12, total: 300 }, { failures: 5, total: 400 });
    expect(result.z).toBeCloseTo(2.3390393298639913, 12);
    expect(result.pValue).toBeCloseTo(0.009666699051674799, 12);
  });

  it('is one-sided: a treatment that fails less is nowhere near significant', () => {
    const result = twoProportionTest({ failures: 10, total: 500 }, { failures: 30, total: 500 });
    expect(result.z).toBeCloseTo(-3.227486121839514, 12);
    expect(result.pValue).toBeCloseTo(0.9993755845059558, 12);
  });

  it('gives p = 0.5 for equal rates', () => {
    const result = twoProportionTest({ failures: 20, total: 1000 }, { failures: 10, total: 500 });
    expect(result.z).toBe(0);
    expect(result.pValue).toBe(0.5);
  });

  it('is defined when one arm never fails', () => {
    const result = twoProportionTest({ failures: 10, total: 200 }, { failures: 0, total: 200 });
    expect(result.controlRate).toBe(0);
    expect(Number.isFinite(result.z)).toBe(true);
    expect(result.pValue).toBeLessThan(0.001);
  });

  it('says nothing (z 0, p 1) when there is no variance or no data', () => {
    const cases = [
      [
        { failures: 0, total: 300 },
        { failures: 0, total: 300 },
      ], // both perfect
      [
        { failures: 300, total: 300 },
        { failures: 200, total: 200 },
      ], // both always failing
      [
        { failures: 5, total: 100 },
        { failures: 0, total: 0 },
      ], // control empty
      [
        { failures: 0, total: 0 },
        { failures: 5, total: 100 },
      ], // treatment empty
      [
        { failures: 0, total: 0 },
        { failures: 0, total: 0 },
      ],
    ];
    for (const [treatment, control] of cases) {
      const result = twoProportionTest(treatment, control);
      expect(result.z).toBe(0);
      expect(result.pValue).toBe(1);
      for (const value of Object.values(result)) expect(Number.isFinite(value)).toBe(true);
    }
    expect(twoProportionTest({ failures: 300, total: 300 }, { failures: 200, total: 200 }).treatmentRate).toBe(1);
    expect(twoProportionTest({ failures: 0, total: 0 }, { failures: 5, total: 100 }).treatmentRate).toBe(0);
  });

  it('rejects impossible counts', () => {
    expect(() => twoProportionTest({ failures: 5, total: 4 }, { failures: 0, total: 10 })).toThrow(RangeError);
    expect(() => twoProportionTest({ failures: -1, total: 4 }, { failures: 0, total: 10 })).toThrow(RangeError);
    expect(() => twoProportionTest({ failures: 0, total: 10 }, { failures: 0, total: Number.NaN })).toThrow(RangeError);
  });
});
