// Anything that can hand out response headers: a fetch `Headers`, axios's `AxiosHeaders` (both have
// a case-insensitive `get`) or a plain record such as Node's `IncomingHttpHeaders`.
export type HeaderSource =
  { get(name: string): string | null | undefined } | Record<string, string | string[] | undefined>;

/*
 * How long the upstream asked us to wait, in milliseconds, or undefined when it did not say (or
 * said something we cannot read).
 *
 * - `retry-after-ms` (OpenAI and Azure OpenAI send it): float milliseconds. It is more precise than
 *   `retry-after`, so it wins when both are there and it is readable.
 * - `retry-after` (RFC 9110 §10.2.3, formerly RFC 7231 §7.1.3): delta-seconds — we also accept a
 *   decimal, which some providers send — or an HTTP-date. A date in the past means "now": 0.
 *
 * Negative numbers, exponents, units, empty values and unparseable dates are ignored, never
 * guessed at: a wrong wait is worse than our own backoff.
 */
export function parseRetryAfterMs(headers: HeaderSource, nowMs: number = Date.now()): number | undefined {
  const millis = parseNonNegativeDecimal(readHeader(headers, 'retry-after-ms'));
  if (millis !== undefined) return millis;

  const value = readHeader(headers, 'retry-after');
  if (value === undefined) return undefined;
  const seconds = parseNonNegativeDecimal(value);
  if (seconds !== undefined) return seconds * 1000;
  const at = parseHttpDate(value, nowMs);
  if (at === undefined) return undefined;
  return Math.max(0, at - nowMs);
}

// For the Retry-After of our own 429/503 responses: delta-seconds must be a whole number, and
// rounding down could make a well-behaved client come back too early, so round up; never 0, which
// clients read as "retry at once".
export function formatRetryAfterSeconds(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 1000) return '1';
  return String(Math.ceil(ms / 1000));
}

function readHeader(headers: HeaderSource, name: string): string | undefined {
  let raw: unknown;
  if (typeof headers.get === 'function') {
    raw = (headers as { get(name: string): unknown }).get(name);
  } else {
    const record = headers as Record<string, unknown>;
    raw = record[name];
    if (raw === undefined) {
      for (const key of Object.keys(record)) {
        if (key.toLowerCase() === name) {
          raw = record[key];
          break;
        }
      }
    }
  }
  if (Array.isArray(raw)) raw = raw[0];
  if (typeof raw === 'number') raw = String(raw);
  if (typeof raw !== 'string') return undefined;
  const trimmed = raw.trim();
  return trimmed === '' ? undefined : trimmed;
}

const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

function parseNonNegativeDecimal(value: string | undefined): number | undefined {
  if (value === undefined || !DECIMAL.test(value)) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY = '(?:mon|tue|wed|thu|fri|sat|sun)';
const LONG_DAY = '(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)';
const MONTH = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
// The three forms RFC 9110 §5.6.7 requires a recipient to accept; all are UTC.
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{1,2}) ${MONTH} (\\d{4}) ${TIME} GMT$`, 'i'); // Sun, 06 Nov 1994 08:49:37 GMT
const RFC_850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`, 'i'); // Sunday, 06-Nov-94 08:49:37 GMT
const ASCTIME = new RegExp(`^${DAY} ${MONTH} +(\\d{1,2}) ${TIME} (\\d{4})$`, 'i'); // Sun Nov  6 08:49:37 1994

// A strict parser rather than Date.parse, which accepts nearly anything ("1 2", "May") and reads
// the asctime form in the machine's local time zone.
function parseHttpDate(value: string, nowMs: number): number | undefined {
  let m = IMF_FIXDATE.exec(value);
  if (m) return utc(Number(m[3]), m[2], Number(m[1]), m[4], m[5], m[6]);
  m = RFC_850.exec(value);
  if (m) return utc(fullYear(Number(m[3]), nowMs), m[2], Number(m[1]), m[4], m[5], m[6]);
  m = ASCTIME.exec(value);
  if (m) return utc(Number(m[6]), m[1], Number(m[2]), m[3], m[4], m[5]);
  return undefined;
}

// RFC 9110 §5.6.7: a two-digit year that would be more than 50 years in the future is the most
// recent past year with the same last two digits.
function fullYear(twoDigits: number, nowMs: number): number {
  const thisYear = new Date(nowMs).getUTCFullYear();
  let year = thisYear - (thisYear % 100) + twoDigits;
  if (year > thisYear + 50) year -= 100;
  return year;
}

function utc(year: number, monthName: string, day: number, hh: string, mm: string, ss: string): number | undefined {
  const month = MONTHS.indexOf(monthName.toLowerCase());
  const hours = Number(hh);
  const minutes = Number(mm);
  const seconds = Number(ss);
  // 60 is a leap second: Date has none, so it rolls over to the next minute, which is close enough.
  if (hours > 23 || minutes > 59 || seconds > 60) return undefined;
  const ms = Date.UTC(year, month, day, hours, minutes, seconds);
  // Date.UTC rolls 31 Feb over into March; such a date is garbage, not a date.
  const check = new Date(Date.UTC(year, month, day));
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month || check.getUTCDate() !== day) return undefined;
  return ms;
}
