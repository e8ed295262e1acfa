// Math's functions as module constants: inside jest's vm context every global lookup is slow,
// and these run a few hundred million times per table.
const { imul, log, sqrt, exp, floor, abs, PI } = Math;

/**
 * A seeded generator for the Monte Carlo: xoshiro128** (Blackman & Vigna), seeded through
 * splitmix32, so that a run is repeatable from its seed and runs with different seeds are
 * independent. Fast enough to draw a few billion numbers per table.
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  /** A uniform 32-bit integer. */
  nextUint32(): number {
    const result = imul(rotl(imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform on [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform on [low, high). */
  between(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** Standard normal (Marsaglia's polar method, the second value kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const spare = this.spareNormal;
      this.spareNormal = null;
      return spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const factor = sqrt((-2 * log(s)) / s);
    this.spareNormal = v * factor;
    return u * factor;
  }

  exponential(mean: number): number {
    return -mean * log(1 - this.uniform());
  }

  /** 1, 2, 3... with the given mean (≥ 1). */
  geometricFromOne(mean: number): number {
    if (mean <= 1) return 1;
    return 1 + floor(log(1 - this.uniform()) / log(1 - 1 / mean));
  }

  /** Poisson: Knuth's product for small means, Hörmann's PTRS (transformed rejection) above. */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean < 30) {
      const limit = exp(-mean);
      let k = 0;
      let product = this.uniform();
      while (product > limit) {
        k++;
        product *= this.uniform();
      }
      return k;
    }
    const slam = sqrt(mean);
    const logLam = log(mean);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = this.uniform() - 0.5;
      const v = this.uniform();
      const us = 0.5 - abs(u);
      const k = floor(((2 * a) / us + b) * u + mean + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      const lhs = log(v * invAlpha) - log(a / (us * us) + b);
      if (lhs <= -mean + k * logLam - logFactorial(k)) return k;
    }
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function logFactorial(k: number): number {
  // Stirling with two correction terms: exact enough for PTRS's acceptance test at k >= 10.
  if (k < 10) {
    let result = 0;
    for (let i = 2; i <= k; i++) result += log(i);
    return result;
  }
  return (k + 0.5) * log(k) - k + 0.5 * log(2 * PI) + 1 / (12 * k) - 1 / (360 * k ** 3);
}
