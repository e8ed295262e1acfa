import { describe, expect, it } from '@jest/globals';
import { canonicalTimezone, periodAt } from './budget-period';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const window = (...args: Parameters<typeof periodAt>) => {
  const { startMs, endMs } = periodAt(...args);
  return { start: iso(startMs), end: iso(endMs) };
};
const CREATED = at('2026-01-15T08:00:00Z');

describe('budget periods', () => {
  it('cuts UTC days, ISO weeks (Monday first) and months', () => {
    const now = at('2026-11-25T13:45:00Z'); // a Wednesday
    expect(window('day', 'UTC', now, CREATED)).toEqual({
      start: '2026-11-25T00:00:00.000Z',
      end: '2026-11-26T00:00:00.000Z',
    });
    expect(window('week', 'UTC', now, CREATED)).toEqual({
      start: '2026-11-23T00:00:00.000Z',
      end: '2026-11-30T00:00:00.000Z',
    });
    expect(window('month', 'UTC', now, CREATED)).toEqual({
      start: '2026-11-01T00:00:00.000Z',
      end: '2026-12-01T00:00:00.000Z',
    });
  });

  it('puts the start of a period in it and its end in the next one', () => {
    const start = at('2026-11-25T00:00:00Z');
    expect(window('day', 'UTC', start, CREATED).start).toBe('2026-11-25T00:00:00.000Z');
    expect(window('day', 'UTC', start - 1, CREATED).start).toBe('2026-11-24T00:00:00.000Z');
    // Sunday evening is still in the week that began on Monday.
    expect(window('week', 'UTC', at('2026-11-29T23:59:59Z'), CREATED).start).toBe('2026-11-23T00:00:00.000Z');
  });

  it('follows the calendar of the time zone, not UTC', () => {
    // 23:30 UTC on the 24th is already the 25th in Paris (UTC+1 in November).
    expect(window('day', 'Europe/Paris', at('2026-11-24T23:30:00Z'), CREATED)).toEqual({
      start: '2026-11-24T23:00:00.000Z',
      end: '2026-11-25T23:00:00.000Z',
    });
    expect(window('month', 'Asia/Kolkata', at('2026-11-30T20:00:00Z'), CREATED)).toEqual({
      start: '2026-11-30T18:30:00.000Z',
      end: '2026-12-31T18:30:00.000Z',
    });
    expect(window('month', 'America/New_York', at('2027-01-01T03:00:00Z'), CREATED).start).toBe(
      '2026-12-01T05:00:00.000Z',
    );
  });

  it('makes the day of a DST change 23 or 25 hours long', () => {
    const spring = periodAt('day', 'Europe/Paris', at('2026-03-29T12:00:00Z'), CREATED);
    expect(iso(spring.startMs)).toBe('2026-03-28T23:00:00.000Z');
    expect(spring.endMs! - spring.startMs).toBe(23 * 3_600_000);
    const autumn = periodAt('day', 'Europe/Paris', at('2026-10-25T12:00:00Z'), CREATED);
    expect(iso(autumn.startMs)).toBe('2026-10-24T22:00:00.000Z');
    expect(autumn.endMs! - autumn.startMs).toBe(25 * 3_600_000);
  });

  it('starts a day whose midnight does not exist at the DST jump', () => {
    // Chile moves its clocks from 24:00 to 01:00: 2026-09-06 starts at 01:00 local (04:00 UTC).
    expect(window('day', 'America/Santiago', at('2026-09-06T12:00:00Z'), CREATED)).toEqual({
      start: '2026-09-06T04:00:00.000Z',
      end: '2026-09-07T03:00:00.000Z',
    });
  });

  it('has one never-ending period for total, from the budget creation', () => {
    expect(window('total', 'UTC', at('2030-01-01T00:00:00Z'), CREATED)).toEqual({
      start: '2026-01-15T08:00:00.000Z',
      end: null,
    });
  });

  it('knows time zones by their IANA names only', () => {
    expect(canonicalTimezone('Europe/Paris')).toBe('Europe/Paris');
    expect(canonicalTimezone('UTC')).toBe('UTC');
    expect(canonicalTimezone('Mars/Olympus')).toBeUndefined();
    expect(canonicalTimezone('')).toBeUndefined();
  });
});
