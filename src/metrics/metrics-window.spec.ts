import { EmptyMetricsWindow } from './metrics-query.errors';
import { parseWindow } from './metrics-window';

describe('parseWindow', () => {
  const HOUR_MS = 3_600_000;
  // Far from the wall clock, so a default taken from Date.now() could not pass for this one.
  const now = new Date('2031-05-01T12:00:00.000Z');

  it('ends a window without `to` at the now it is given, and starts it the default span before', () => {
    expect(parseWindow(undefined, undefined, HOUR_MS, now)).toEqual({
      from: new Date('2031-05-01T11:00:00.000Z'),
      to: now,
    });
    expect(parseWindow('2031-05-01T09:30:00Z', undefined, HOUR_MS, now)).toEqual({
      from: new Date('2031-05-01T09:30:00.000Z'),
      to: now,
    });
  });

  it('takes a window that has just begun (from = to) as it is: empty, not refused', () => {
    expect(parseWindow(now.toISOString(), undefined, HOUR_MS, now)).toEqual({ from: now, to: now });
    expect(parseWindow('2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', HOUR_MS, now)).toEqual({
      from: new Date('2026-01-01T00:00:00Z'),
      to: new Date('2026-01-01T00:00:00Z'),
    });
  });

  it('refuses a from after to, saying which to it was compared with and what to change', () => {
    const reversed = () => parseWindow('2026-01-02T00:00:00Z', '2026-01-01T00:00:00Z', HOUR_MS, now);
    expect(reversed).toThrow(EmptyMetricsWindow);
    expect(reversed).toThrow(
      'from (2026-01-02T00:00:00.000Z) must not be after to (2026-01-01T00:00:00.000Z): swap them if they are reversed',
    );
    expect(() => parseWindow('2031-05-01T12:00:00.001Z', undefined, HOUR_MS, now)).toThrow(
      'from (2031-05-01T12:00:00.001Z) must not be after now (2031-05-01T12:00:00.000Z), where to defaults to; give an earlier from, or a to after it',
    );
  });
});
