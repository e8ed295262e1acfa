import { fullJitterDelayMs, retryDelayMs, type BackoffPolicy } from './backoff';

const policy: BackoffPolicy = { baseDelayMs: 100, maxDelayMs: 2000 };
const fixed = (value: number) => () => value;
// Just below 1: Math.random() never returns 1.
const almostOne = fixed(1 - Number.EPSILON);

describe('fullJitterDelayMs', () => {
  it('is random() × min(maxDelayMs, baseDelayMs × 2^attempt)', () => {
    expect(fullJitterDelayMs(0, policy, fixed(0.5))).toBe(50);
    expect(fullJitterDelayMs(1, policy, fixed(0.5))).toBe(100);
    expect(fullJitterDelayMs(3, policy, fixed(0.5))).toBe(400);
    expect(fullJitterDelayMs(4, policy, fixed(0.25))).toBe(400);
  });

  it('stays in [0, ceiling) with the ceiling doubling per attempt', () => {
    for (let attempt = 0; attempt <= 4; attempt++) {
      const ceiling = 100 * 2 ** attempt;
      expect(fullJitterDelayMs(attempt, policy, fixed(0))).toBe(0);
      const top = fullJitterDelayMs(attempt, policy, almostOne);
      expect(top).toBeLessThan(ceiling);
      expect(top).toBeGreaterThan(ceiling * 0.999);
    }
  });

  it('caps the ceiling at maxDelayMs', () => {
    expect(fullJitterDelayMs(5, policy, fixed(0.5))).toBe(1000); // 100 · 32 = 3200 → 2000
    expect(fullJitterDelayMs(20, policy, almostOne)).toBeLessThan(2000);
    expect(fullJitterDelayMs(20, policy, almostOne)).toBeGreaterThan(1999);
  });

  it('stays finite for absurd attempt numbers, also with a zero base', () => {
    expect(fullJitterDelayMs(5000, policy, fixed(0.5))).toBe(1000);
    expect(fullJitterDelayMs(5000, { baseDelayMs: 0, maxDelayMs: 2000 }, fixed(0.5))).toBe(0);
  });

  it('keeps every draw of a real random source in bounds', () => {
    let seed = 12345;
    const lcg = () => {
      seed = (seed * 16807) % 2147483647; // Park–Miller: exact in doubles, values in [1, 2^31 - 2]
      return seed / 2147483647;
    };
    for (let i = 0; i < 1000; i++) {
      const attempt = i % 8;
      const delay = fullJitterDelayMs(attempt, policy, lcg);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(Math.min(2000, 100 * 2 ** attempt));
    }
  });

  it('defaults to Math.random', () => {
    const delay = fullJitterDelayMs(2, policy);
    expect(delay).toBeGreaterThanOrEqual(0);
    expect(delay).toBeLessThan(400);
  });

  it('rejects a negative or fractional attempt and a negative policy', () => {
    expect(() => fullJitterDelayMs(-1, policy)).toThrow(RangeError);
    expect(() => fullJitterDelayMs(1.5, policy)).toThrow(RangeError);
    expect(() => fullJitterDelayMs(0, { baseDelayMs: -1, maxDelayMs: 10 })).toThrow(RangeError);
    expect(() => fullJitterDelayMs(0, { baseDelayMs: 1, maxDelayMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('retryDelayMs', () => {
  it('uses full jitter when the upstream sent no Retry-After', () => {
    expect(retryDelayMs({ attempt: 2, policy, remainingMs: 10_000, random: fixed(0.5) })).toBe(200);
  });

  it('uses the Retry-After exactly, even below the jitter or above maxDelayMs', () => {
    expect(retryDelayMs({ attempt: 4, policy, retryAfterMs: 10, remainingMs: 10_000, random: almostOne })).toBe(10);
    expect(retryDelayMs({ attempt: 0, policy, retryAfterMs: 5000, remainingMs: 10_000, random: fixed(0) })).toBe(5000);
    expect(retryDelayMs({ attempt: 0, policy, retryAfterMs: 0, remainingMs: 10_000, random: almostOne })).toBe(0);
  });

  it('gives undefined when the wait would not leave time for the attempt', () => {
    // Retry-After past the deadline: stop and surface the upstream's error.
    expect(retryDelayMs({ attempt: 0, policy, retryAfterMs: 5000, remainingMs: 3000 })).toBeUndefined();
    // Exactly the remaining time leaves nothing for the attempt itself.
    expect(retryDelayMs({ attempt: 0, policy, retryAfterMs: 3000, remainingMs: 3000 })).toBeUndefined();
    expect(retryDelayMs({ attempt: 0, policy, retryAfterMs: 2999, remainingMs: 3000 })).toBe(2999);
    // Jittered delay: 0.5 · 400 = 200.
    expect(retryDelayMs({ attempt: 2, policy, remainingMs: 200, random: fixed(0.5) })).toBeUndefined();
    expect(retryDelayMs({ attempt: 2, policy, remainingMs: 201, random: fixed(0.5) })).toBe(200);
  });

  it('gives undefined once the deadline has passed, even for a zero wait', () => {
    expect(retryDelayMs({ attempt: 0, policy, remainingMs: 0, random: fixed(0) })).toBeUndefined();
    expect(retryDelayMs({ attempt: 0, policy, remainingMs: -50, random: fixed(0) })).toBeUndefined();
    expect(retryDelayMs({ attempt: 0, policy, retryAfterMs: 0, remainingMs: 0 })).toBeUndefined();
  });
});
