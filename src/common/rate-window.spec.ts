import { describe, expect, it } from '@jest/globals';
import { MIN_RATE_WINDOW_MS, rateWindow } from './rate-window';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-11-24T10:30:00Z');

describe('rateWindow', () => {
  it('is the whole lookback for what is older than it', () => {
    expect(rateWindow(NOW, HOUR, NOW - 5 * HOUR, null)).toEqual({ fromMs: NOW - HOUR, ms: HOUR });
  });

  it('starts at the latest of creation and the first data', () => {
    expect(rateWindow(NOW, HOUR, NOW - 20 * 60_000, NOW - 5 * 60_000)).toEqual({
      fromMs: NOW - 5 * 60_000,
      ms: 5 * 60_000,
    });
  });

  it('never divides by less than a minute', () => {
    expect(rateWindow(NOW, HOUR, NOW - 2_000)).toEqual({ fromMs: NOW - MIN_RATE_WINDOW_MS, ms: MIN_RATE_WINDOW_MS });
  });
});
