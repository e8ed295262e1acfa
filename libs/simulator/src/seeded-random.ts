/**
 * A small deterministic PRNG (mulberry32). Every random outcome of the simulator is drawn from one of
 * these, so the same seed and profile replay the same sequence of errors, rate limits and latencies:
 * that is what makes gateway fault tests repeatable and benchmark runs comparable.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal (Box–Muller). Always consumes exactly two draws, so sequences stay aligned. */
  nextStandardNormal(): number {
    const u1 = 1 - this.next(); // in (0, 1]: log(0) would be -Infinity
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}

/**
 * Derives an independent 32-bit seed for a named stream (one per model) from the base seed (FNV-1a),
 * so traffic to one model never shifts the outcomes another model sees.
 */
export function deriveSeed(seed: number, name: string): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
