import {
  anytimePValue,
  boundaryZ,
  boundaryWithDf,
  intrinsicTime,
  logMixture,
  tuningConstant,
  twoSidedBoundaryZ,
} from './confidence-sequence';
import { normalQuantile } from './normal';

describe('one-sided normal-mixture boundary', () => {
  it('stops exactly where the mixture reaches 1/alpha', () => {
    for (const v of [0.05, 1, 15, 400]) {
      for (const alpha of [0.05, 0.0018]) {
        expect(logMixture(boundaryZ(v, alpha), v)).toBeCloseTo(-Math.log(alpha), 7);
      }
    }
  });

  it('is narrowest near the planned size and wider than a fixed-horizon z everywhere', () => {
    const alpha = 0.0018;
    const c = tuningConstant(alpha);
    const atPlan = boundaryZ(intrinsicTime(10_000, 10_000, alpha), alpha);
    expect(intrinsicTime(10_000, 10_000, alpha)).toBeCloseTo(c, 12);
    expect(boundaryZ(intrinsicTime(100, 10_000, alpha), alpha)).toBeGreaterThan(atPlan);
    expect(boundaryZ(intrinsicTime(1_000_000, 10_000, alpha), alpha)).toBeGreaterThan(atPlan);
    expect(atPlan).toBeGreaterThan(normalQuantile(1 - alpha));
    // ...and, at these levels, all but the two-sided boundary at twice the alpha.
    expect(Math.abs(atPlan / twoSidedBoundaryZ(c, 2 * alpha) - 1)).toBeLessThan(1e-3);
  });

  it('is infinite with no data and widens for a variance estimated from few clusters', () => {
    expect(boundaryZ(0, 0.05)).toBe(Infinity);
    expect(boundaryWithDf(15, 0.01, 63)).toBeGreaterThan(boundaryZ(15, 0.01));
  });

  it('gives an anytime p-value below alpha exactly beyond the boundary', () => {
    const z = boundaryZ(15, 0.01);
    expect(anytimePValue(z * 1.01, 15)).toBeLessThan(0.01);
    expect(anytimePValue(z * 0.99, 15)).toBeGreaterThan(0.01);
    expect(anytimePValue(-3, 15)).toBe(1);
  });

  // The point of it all: a Gaussian random walk with no drift, looked at every 10 steps for
  // 5 000 steps, crosses the one-sided boundary in at most alpha of its paths, while a fixed-horizon
  // z-test re-run at every look crosses many times as often.
  it('keeps the false-alarm rate of continuous monitoring at alpha, where a repeated z-test does not', () => {
    const alpha = 0.05;
    const looks = 500;
    const bounds = Array.from({ length: looks }, (_, i) => boundaryZ(intrinsicTime((i + 1) * 10, 2_500, alpha), alpha));
    const fixed = normalQuantile(1 - alpha);
    let seed = 42;
    const uniform = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return (seed + 0.5) / 4294967296;
    };
    const gaussian = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    let sequential = 0;
    let repeated = 0;
    const paths = 2_000;
    for (let p = 0; p < paths; p++) {
      let sum = 0;
      let crossedSequential = false;
      let crossedRepeated = false;
      for (let look = 0; look < looks; look++) {
        for (let step = 0; step < 10; step++) sum += gaussian();
        const z = sum / Math.sqrt((look + 1) * 10);
        if (z > bounds[look]) crossedSequential = true;
        if (z > fixed) crossedRepeated = true;
      }
      if (crossedSequential) sequential++;
      if (crossedRepeated) repeated++;
    }
    expect(sequential / paths).toBeLessThanOrEqual(alpha);
    expect(repeated / paths).toBeGreaterThan(4 * alpha);
  });
});
