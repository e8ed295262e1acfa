import type { BudgetDefinition, BudgetPeriod } from './budget.types';

/** One period of a budget: [start, end), or from the budget's creation on with no end ('total'). */
export interface PeriodWindow {
  startMs: number;
  /** null: the period never ends (and never resets). */
  endMs: number | null;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The IANA name of `timezone` as Intl knows it, or undefined when it is not a time zone. */
export function canonicalTimezone(timezone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: timezone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** The budget's period containing `atMs`, and its key (the budget_periods row it is counted in). */
export function currentPeriodOf(
  budget: Pick<BudgetDefinition, 'id' | 'period' | 'timezone' | 'createdAt'>,
  atMs: number,
): { window: PeriodWindow; key: { budgetId: string; periodStart: Date } } {
  const window = periodAt(budget.period, budget.timezone, atMs, budget.createdAt.getTime());
  return { window, key: { budgetId: budget.id, periodStart: new Date(window.startMs) } };
}

/**
 * The period of a budget that contains `atMs`: calendar days, ISO weeks (Monday first) and months
 * in the budget's time zone, so "day" means midnight to midnight where the team is, across DST
 * changes (a day is then 23 or 25 hours long).
 */
export function periodAt(period: BudgetPeriod, timezone: string, atMs: number, createdAtMs: number): PeriodWindow {
  if (period === 'total') return { startMs: createdAtMs, endMs: null };
  const { year, month, day } = localDate(atMs, timezone);
  if (period === 'day') {
    return { startMs: localMidnight(year, month, day, timezone), endMs: localMidnight(year, month, day + 1, timezone) };
  }
  if (period === 'week') {
    const weekday = (new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7;
    return {
      startMs: localMidnight(year, month, day - weekday, timezone),
      endMs: localMidnight(year, month, day - weekday + 7, timezone),
    };
  }
  return { startMs: localMidnight(year, month, 1, timezone), endMs: localMidnight(year, month + 1, 1, timezone) };
}

/** The wall-clock date at `atMs` in `timezone`. */
function localDate(atMs: number, timezone: string): { year: number; month: number; day: number } {
  const parts = partsAt(atMs, timezone);
  return { year: parts.year, month: parts.month, day: parts.day };
}

/**
 * The instant of 00:00 on a local date (day and month may overflow, as with Date.UTC). The zone's
 * offset is looked up at the guess and the guess corrected until it stands: two rounds settle every
 * zone, DST changes included; a midnight that does not exist (a DST jump at 00:00) gives the first
 * instant of that day.
 */
function localMidnight(year: number, month: number, day: number, timezone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  let guess = wall;
  for (let round = 0; round < 3; round++) {
    const next = wall - offsetAt(guess, timezone);
    if (next === guess) break;
    guess = next;
  }
  // A skipped midnight can leave the guess on the previous evening: move on to where the day starts.
  const landed = partsAt(guess, timezone);
  const landedWall = Date.UTC(landed.year, landed.month - 1, landed.day, landed.hour, landed.minute, landed.second);
  if (landedWall < wall) guess += wall - landedWall;
  return guess;
}

/** The zone's offset from UTC at an instant, in ms (positive east of Greenwich). */
function offsetAt(atMs: number, timezone: string): number {
  const p = partsAt(atMs, timezone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(atMs / 1000) * 1000;
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function partsAt(atMs: number, timezone: string): WallClock {
  let formatter = formatters.get(timezone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, formatter);
  }
  const values: Record<string, number> = {};
  for (const part of formatter.formatToParts(atMs)) if (part.type !== 'literal') values[part.type] = Number(part.value);
  return {
    year: values.year,
    month: values.month,
    day: values.day,
    hour: values.hour,
    minute: values.minute,
    second: values.second,
  };
}
