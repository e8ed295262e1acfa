import { percentile, summarize } from './percentile';

// Expected values are what Postgres 15 answers for
//   SELECT percentile_cont(ARRAY[...]) WITHIN GROUP (ORDER BY v) FROM unnest(ARRAY[...]::float8[]) v;
// printed with Postgres' shortest exact float8 output, so toBe (bit-for-bit) applies.
describe('percentile', () => {
  it('matches percentile_cont on a small sample, including its rounding', () => {
    const sorted = [1, 2, 3, 4, 10];
    const ps = [0, 0.25, 0.5, 0.9, 0.95, 0.99, 1];
    expect(ps.map((p) => percentile(sorted, p))).toEqual([1, 2, 3, 7.6000000000000005, 8.799999999999999, 9.76, 10]);
  });

  it('matches percentile_cont on latency-like samples', () => {
    const latencies = [120, 95, 300, 87, 1500, 210, 99, 101].sort((a, b) => a - b);
    expect(percentile(latencies, 0.5)).toBe(110.5);
    expect(percentile(latencies, 0.95)).toBe(1079.9999999999993);
    expect(percentile(latencies, 0.99)).toBe(1415.9999999999995);

    // SELECT ... FROM (SELECT ((i * 7919) % 1000)::float8 / 7 AS v FROM generate_series(1, 1001) i) s
    const generated = Array.from({ length: 1001 }, (_, k) => (((k + 1) * 7919) % 1000) / 7).sort((a, b) => a - b);
    expect(percentile(generated, 0.5)).toBe(71.42857142857143);
    expect(percentile(generated, 0.95)).toBe(135.57142857142858);
    expect(percentile(generated, 0.99)).toBe(141.28571428571428);
    expect(percentile(generated, 0.999)).toBe(142.57142857142858);
  });

  it('interpolates between two values and between fractions', () => {
    expect([0.5, 0.95, 0.99].map((p) => percentile([10, 20], p))).toEqual([15, 19.5, 19.9]);
    expect([0.1, 0.3, 0.7].map((p) => percentile([0.1, 0.2, 0.3], p))).toEqual([0.12000000000000001, 0.16, 0.24]);
  });

  it('gives the only value of a one-element sample for every p', () => {
    for (const p of [0, 0.5, 0.99, 1]) expect(percentile([42], p)).toBe(42);
  });

  it('accepts typed arrays', () => {
    expect(percentile(Float64Array.from([1, 2, 3, 4, 10]), 0.9)).toBe(7.6000000000000005);
  });

  it('gives NaN for an empty sample (Postgres: NULL)', () => {
    expect(percentile([], 0.5)).toBeNaN();
  });

  it('throws for p outside [0, 1] or NaN, as Postgres raises an error', () => {
    expect(() => percentile([1, 2], -0.01)).toThrow(RangeError);
    expect(() => percentile([1, 2], 1.01)).toThrow(RangeError);
    expect(() => percentile([1, 2], Number.NaN)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('sorts a copy and reports count, mean and percentiles', () => {
    const values = [120, 95, 300, 87, 1500, 210, 99, 101];
    const before = [...values];
    expect(summarize(values)).toEqual({
      count: 8,
      mean: 314,
      p50: 110.5,
      p95: 1079.9999999999993,
      p99: 1415.9999999999995,
    });
    expect(values).toEqual(before);
  });

  it('gives count 0 and NaN for the rest on an empty sample', () => {
    const empty = summarize([]);
    expect(empty.count).toBe(0);
    expect(empty.mean).toBeNaN();
    expect(empty.p50).toBeNaN();
    expect(empty.p99).toBeNaN();
  });

  it('throws on NaN or infinite values instead of summarising garbage', () => {
    expect(() => summarize([1, Number.NaN, 3])).toThrow(RangeError);
    expect(() => summarize([1, Number.POSITIVE_INFINITY])).toThrow(RangeError);
  });
});
