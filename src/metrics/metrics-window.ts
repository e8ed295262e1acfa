import { EmptyMetricsWindow, MetricsTimeOutOfRange } from './metrics-query.errors';

/** The [from, to) a metrics query reads. */
export interface Window {
  from: Date;
  to: Date;
}

/**
 * The query's window: `to` defaults to `now` — the Clock's, the time rows are stamped with, so a
 * window read "up to now" covers the rows written up to now whatever clock the app runs on — and
 * `from` to `defaultSpanMs` before `to`. `from == to` is a window that has just begun (a page asking
 * for "since the canary was created" in the millisecond it was): it holds no rows and is answered
 * with zero counts. Only `from` after `to` is refused.
 */
export function parseWindow(
  fromText: string | undefined,
  toText: string | undefined,
  defaultSpanMs: number,
  now: Date,
): Window {
  const to = toText ? timeOf('to', toText) : now;
  const from = fromText ? timeOf('from', fromText) : new Date(to.getTime() - defaultSpanMs);
  if (from.getTime() > to.getTime()) throw new EmptyMetricsWindow(from, to, toText === undefined);
  return { from, to };
}

/** Rows exist only in our own era; years far outside it (`-4714-01-01`) are invalid dates or outside Postgres' range. */
const EARLIEST_MS = Date.UTC(1970, 0, 1);
const LATEST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function timeOf(param: 'from' | 'to', text: string): Date {
  const time = new Date(text);
  const ms = time.getTime();
  // A signed or expanded year ("-4714-01-01") passes the ISO 8601 check, and Date reads it as it likes.
  const plainYear = /^\d{4}-/.test(text);
  if (!plainYear || Number.isNaN(ms) || ms < EARLIEST_MS || ms > LATEST_MS)
    throw new MetricsTimeOutOfRange(param, text);
  return time;
}

export function isoWindow(window: Window): { from: string; to: string } {
  return { from: window.from.toISOString(), to: window.to.toISOString() };
}
