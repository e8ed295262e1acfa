import { describe, expect, it } from '@jest/globals';
import { costPico, costUsd, formatPico, picoOf } from './cost';

describe('costUsd', () => {
  it('prices prompt and completion tokens at the per-million rates, exactly', () => {
    // 1200 x 0.28 / 1e6 + 300 x 0.42 / 1e6 = 0.000336 + 0.000126
    expect(costUsd({ inputPer1M: 0.28, outputPer1M: 0.42 }, { promptTokens: 1200, completionTokens: 300 })).toBe(
      '0.000462000000',
    );
  });

  it('keeps sums exact where floats drift', () => {
    const one = costUsd({ inputPer1M: 0.1, outputPer1M: 0.2 }, { promptTokens: 1, completionTokens: 1 });
    expect(one).toBe('0.000000300000');
    // 0.1 + 0.2 in floats is 0.30000000000000004; the decimal string has no such tail.
    expect(0.1 + 0.2).not.toBe(0.3);
  });

  it('handles whole-dollar prices, zero tokens and large counts', () => {
    expect(costUsd({ inputPer1M: 2, outputPer1M: 8 }, { promptTokens: 0, completionTokens: 0 })).toBe('0.000000000000');
    expect(costUsd({ inputPer1M: 2, outputPer1M: 8 }, { promptTokens: 1_000_000, completionTokens: 500_000 })).toBe(
      '6.000000000000',
    );
    expect(costUsd({ inputPer1M: 0.000001, outputPer1M: 0 }, { promptTokens: 3, completionTokens: 0 })).toBe(
      '0.000000000003',
    );
  });

  it('refuses a price the numeric column could not hold exactly', () => {
    expect(() => costUsd({ inputPer1M: 0.1234567, outputPer1M: 1 }, { promptTokens: 1, completionTokens: 1 })).toThrow(
      /more than 6 decimals/,
    );
  });
});

describe('picodollars', () => {
  it('reads USD amounts exactly and writes them back', () => {
    expect(picoOf('0.05')).toBe(50_000_000_000n);
    expect(picoOf(0.05)).toBe(50_000_000_000n);
    expect(picoOf('250.000000000001')).toBe(250_000_000_000_001n);
    expect(picoOf(1_000_000_000)).toBe(1_000_000_000n * 1_000_000_000_000n);
    expect(formatPico(50_000_000_000n)).toBe('0.050000000000');
    expect(formatPico(-1_000_000n)).toBe('-0.000001000000');
  });

  it('refuses what is not an amount of at most 12 decimals', () => {
    expect(() => picoOf('0.0000000000001')).toThrow(RangeError);
    expect(() => picoOf('1e-3')).toThrow(RangeError);
    expect(() => picoOf(Number.NaN)).toThrow(RangeError);
  });

  it('costs a request in picodollars as costUsd does in USD', () => {
    const pricing = { inputPer1M: 0.28, outputPer1M: 0.42 };
    const usage = { promptTokens: 1200, completionTokens: 300 };
    expect(formatPico(costPico(pricing, usage))).toBe(costUsd(pricing, usage));
  });
});
