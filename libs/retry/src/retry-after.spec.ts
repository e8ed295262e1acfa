import { formatRetryAfterSeconds, parseRetryAfterMs } from './retry-after';

// 2015-10-21T07:28:00Z, the RFC's example date.
const NOW = Date.UTC(2015, 9, 21, 7, 28, 0);

describe('parseRetryAfterMs', () => {
  describe('retry-after as delta-seconds', () => {
    it.each([
      ['0', 0],
      ['1', 1000],
      ['120', 120_000],
      ['1.5', 1500],
      ['0.25', 250],
      ['.5', 500],
      ['  7  ', 7000],
    ])('reads %j as %d ms', (value, expected) => {
      expect(parseRetryAfterMs({ 'retry-after': value }, NOW)).toBe(expected);
    });
  });

  describe('retry-after as an HTTP-date', () => {
    it('gives the time until a future date (IMF-fixdate)', () => {
      expect(parseRetryAfterMs({ 'retry-after': 'Wed, 21 Oct 2015 07:28:30 GMT' }, NOW)).toBe(30_000);
      expect(parseRetryAfterMs({ 'retry-after': 'Thu, 22 Oct 2015 07:28:00 GMT' }, NOW)).toBe(86_400_000);
    });

    it('measures from the given now, not the real clock', () => {
      expect(parseRetryAfterMs({ 'retry-after': 'Wed, 21 Oct 2015 07:28:30 GMT' }, NOW + 10_000)).toBe(20_000);
    });

    it('gives 0 for the present and for a date in the past', () => {
      expect(parseRetryAfterMs({ 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }, NOW)).toBe(0);
      expect(parseRetryAfterMs({ 'retry-after': 'Wed, 21 Oct 2015 07:27:00 GMT' }, NOW)).toBe(0);
      expect(parseRetryAfterMs({ 'retry-after': 'Sun, 06 Nov 1994 08:49:37 GMT' }, NOW)).toBe(0);
    });

    it('accepts the obsolete RFC 850 and asctime forms, in UTC', () => {
      expect(parseRetryAfterMs({ 'retry-after': 'Wednesday, 21-Oct-15 07:29:00 GMT' }, NOW)).toBe(60_000);
      expect(parseRetryAfterMs({ 'retry-after': 'Wed Oct 21 07:29:00 2015' }, NOW)).toBe(60_000);
      expect(parseRetryAfterMs({ 'retry-after': 'Sun Nov  6 08:49:37 1994' }, NOW)).toBe(0);
    });

    it('reads a two-digit RFC 850 year more than 50 years ahead as last century', () => {
      // From 2015, "94" is 1994 (2094 is 79 years ahead): in the past.
      expect(parseRetryAfterMs({ 'retry-after': 'Sunday, 06-Nov-94 08:49:37 GMT' }, NOW)).toBe(0);
    });

    it('ignores case in day and month names', () => {
      expect(parseRetryAfterMs({ 'retry-after': 'wed, 21 OCT 2015 07:28:05 gmt' }, NOW)).toBe(5000);
    });
  });

  describe('retry-after-ms', () => {
    it('reads float milliseconds', () => {
      expect(parseRetryAfterMs({ 'retry-after-ms': '1500' }, NOW)).toBe(1500);
      expect(parseRetryAfterMs({ 'retry-after-ms': '12.5' }, NOW)).toBe(12.5);
      expect(parseRetryAfterMs({ 'retry-after-ms': '0' }, NOW)).toBe(0);
    });

    it('takes precedence over retry-after', () => {
      expect(parseRetryAfterMs({ 'retry-after': '20', 'retry-after-ms': '250' }, NOW)).toBe(250);
      expect(parseRetryAfterMs({ 'retry-after-ms': '250', 'retry-after': 'Wed, 21 Oct 2015 07:29:00 GMT' }, NOW)).toBe(
        250,
      );
    });

    it('falls back to retry-after when it is unreadable', () => {
      expect(parseRetryAfterMs({ 'retry-after-ms': 'soon', 'retry-after': '3' }, NOW)).toBe(3000);
      expect(parseRetryAfterMs({ 'retry-after-ms': '-5', 'retry-after': '3' }, NOW)).toBe(3000);
    });
  });

  describe('header sources', () => {
    it('finds the headers whatever their case in a plain record', () => {
      expect(parseRetryAfterMs({ 'Retry-After': '2' }, NOW)).toBe(2000);
      expect(parseRetryAfterMs({ 'RETRY-AFTER': '2' }, NOW)).toBe(2000);
      expect(parseRetryAfterMs({ 'Retry-After-Ms': '40', 'Retry-After': '2' }, NOW)).toBe(40);
    });

    it('takes the first value of a repeated header', () => {
      expect(parseRetryAfterMs({ 'retry-after': ['4', '9'] }, NOW)).toBe(4000);
      expect(parseRetryAfterMs({ 'retry-after': [] }, NOW)).toBeUndefined();
    });

    it('reads a fetch Headers object', () => {
      expect(parseRetryAfterMs(new Headers({ 'Retry-After': '2' }), NOW)).toBe(2000);
      expect(parseRetryAfterMs(new Headers({ 'Retry-After': '2', 'Retry-After-Ms': '75' }), NOW)).toBe(75);
      expect(parseRetryAfterMs(new Headers({ 'retry-after': 'Wed, 21 Oct 2015 07:28:10 GMT' }), NOW)).toBe(10_000);
      expect(parseRetryAfterMs(new Headers(), NOW)).toBeUndefined();
    });

    it('reads anything with a get method (axios headers)', () => {
      const values: Record<string, string> = { 'retry-after': '6' };
      const headers = { get: (name: string) => values[name.toLowerCase()] };
      expect(parseRetryAfterMs(headers, NOW)).toBe(6000);
      expect(parseRetryAfterMs({ get: () => null }, NOW)).toBeUndefined();
    });

    it('defaults now to the real clock', () => {
      expect(parseRetryAfterMs({ 'retry-after': 'Sun, 06 Nov 1994 08:49:37 GMT' })).toBe(0);
      expect(parseRetryAfterMs({ 'retry-after': '3' })).toBe(3000);
    });
  });

  describe('garbage', () => {
    it.each([
      [''],
      ['   '],
      ['-1'],
      ['-0.5'],
      ['+5'],
      ['1e3'],
      ['5s'],
      ['abc'],
      ['1 2'],
      ['Infinity'],
      ['NaN'],
      ['0x10'],
      ['May'],
      ['2015-10-21T07:28:00Z'],
      ['Wed, 21 Oct 2015 07:28:00'],
      ['Wed, 21 Oct 2015 07:28:00 PST'],
      ['Wed, 31 Feb 2015 07:28:00 GMT'],
      ['Wed, 21 Foo 2015 07:28:00 GMT'],
      ['Wed, 21 Oct 2015 25:28:00 GMT'],
    ])('ignores retry-after %j', (value) => {
      expect(parseRetryAfterMs({ 'retry-after': value }, NOW)).toBeUndefined();
    });

    it('gives undefined when neither header is there', () => {
      expect(parseRetryAfterMs({}, NOW)).toBeUndefined();
      expect(parseRetryAfterMs({ 'content-type': 'application/json', 'retry-after': undefined }, NOW)).toBeUndefined();
    });

    it('ignores garbage in retry-after-ms when there is no retry-after', () => {
      expect(parseRetryAfterMs({ 'retry-after-ms': '-100' }, NOW)).toBeUndefined();
      expect(parseRetryAfterMs({ 'retry-after-ms': 'NaN' }, NOW)).toBeUndefined();
    });
  });
});

describe('formatRetryAfterSeconds', () => {
  it.each([
    [0, '1'],
    [1, '1'],
    [999, '1'],
    [1000, '1'],
    [1001, '2'],
    [1500, '2'],
    [2000, '2'],
    [59_999.5, '60'],
    [-500, '1'],
    [Number.NaN, '1'],
  ])('formats %d ms as %j', (ms, expected) => {
    expect(formatRetryAfterSeconds(ms)).toBe(expected);
  });

  it('round-trips through parseRetryAfterMs without shortening the wait', () => {
    for (const ms of [1, 250, 1000, 1001, 4321, 90_000]) {
      expect(parseRetryAfterMs({ 'retry-after': formatRetryAfterSeconds(ms) }, NOW)).toBeGreaterThanOrEqual(ms);
    }
  });
});
