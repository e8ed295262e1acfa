import { binEdgeMs, binOf, HISTOGRAM_BINS, histogramOf, positionOf, quantileOf, totalOf } from './histogram';

describe('latency histogram grid', () => {
  it('puts 8 bins in every doubling from 1 ms, sub-ms and huge values at the ends', () => {
    expect(binOf(0)).toBe(0);
    expect(binOf(0.4)).toBe(0);
    expect(binOf(1)).toBe(0);
    expect(binOf(2)).toBe(8);
    expect(binOf(512)).toBe(72);
    expect(binOf(511.9)).toBe(71);
    expect(binOf(1e12)).toBe(HISTOGRAM_BINS - 1);
    expect(binEdgeMs(72)).toBeCloseTo(512, 9);
    expect(positionOf(binEdgeMs(33))).toBeCloseTo(33, 9);
  });

  it('finds quantiles within one bin and interpolates inside it', () => {
    // 1000 values spread log-uniformly over 100..1000 ms: the median is near √(100·1000) ≈ 316.
    const values = Array.from({ length: 1000 }, (_, i) => 100 * 10 ** (i / 999));
    const histogram = histogramOf(values.map((v) => [binOf(v), 1] as const));
    expect(totalOf(histogram)).toBe(1000);
    expect(quantileOf(histogram, 0.5)! / 316.2).toBeGreaterThan(0.97);
    expect(quantileOf(histogram, 0.5)! / 316.2).toBeLessThan(1.03);
    expect(quantileOf(histogram, 0.99)! / 977).toBeGreaterThan(0.95);
    expect(quantileOf(histogram, 0.99)! / 977).toBeLessThan(1.05);
  });

  it('says null for no data, and 0 / Infinity for a level at or past the ends', () => {
    expect(quantileOf(histogramOf([]), 0.5)).toBeNull();
    const histogram = histogramOf([[binOf(500), 10]]);
    expect(quantileOf(histogram, 0)).toBe(0);
    expect(quantileOf(histogram, 1)).toBe(Infinity);
  });
});
