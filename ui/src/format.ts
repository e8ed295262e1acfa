import { dollars, grouped } from '../../libs/stats/src/grouped';
import { boundedSides } from '../../libs/stats/src/interval';

/** How numbers read on the page: the same units and digit groups the API's sentences use. */
export const dash = '—';

export function pct(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined ? dash : `${(value * 100).toFixed(digits)}%`;
}

export function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? dash : `${grouped(Math.round(value))} ms`;
}

/** Dollars as the API's sentences write them: $12,345.68; below a dollar three digits, $0.000123. */
export function usd(value: number | null | undefined): string {
  return value === null || value === undefined ? dash : dollars(value);
}

/**
 * A chart's dollar ticks: as many decimals as the step between them needs, cents at least, so no two
 * read the same ($0.00002 apart on a quiet minute's cost, where four decimals read $0.0000 for all).
 */
export function axisDollars(ticks: number[]): string[] {
  if (ticks.length < 2) return ticks.map((tick) => dollars(tick));
  const decimals = Math.max(2, decimalsOf(Math.abs(ticks[1] - ticks[0])));
  return ticks.map((tick) => dollars(tick, decimals));
}

/** The decimals a step is written with (0.00025: 5), its float noise aside; 12 at most (picodollars). */
function decimalsOf(step: number): number {
  for (let decimals = 0; decimals < 12; decimals++) {
    const scaled = step * 10 ** decimals;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, scaled)) return decimals;
  }
  return 12;
}

export function count(value: number | null | undefined): string {
  return value === null || value === undefined ? dash : grouped(value);
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return dash;
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/**
 * Times read in UTC everywhere on the page, whatever the browser's zone, and say so: the API's
 * sentences and the logs use UTC too.
 */
export function time(iso: string | null | undefined): string {
  if (!iso) return dash;
  const date = new Date(iso);
  return `${date.toISOString().slice(0, 10)} ${date.toISOString().slice(11, 19)} UTC`;
}

/** The time of day alone (e.g. the last update): `12:17:30 UTC`. */
export function clockTime(date: Date): string {
  return `${date.toISOString().slice(11, 19)} UTC`;
}

/**
 * A chart's time ticks (seconds since the epoch), 24-hour UTC: with seconds when they are less than
 * a minute apart; the first says UTC and each that starts a day carries the date under it.
 */
export function axisTimes(ticks: number[]): string[] {
  const withSeconds = ticks.length > 1 && ticks[1] - ticks[0] < 60;
  let day = '';
  return ticks.map((tick, index) => {
    const iso = new Date(tick * 1000).toISOString();
    const label = `${iso.slice(11, withSeconds ? 19 : 16)}${index === 0 ? ' UTC' : ''}`;
    if (iso.slice(0, 10) === day) return label;
    day = iso.slice(0, 10);
    return `${label}\n${day}`;
  });
}

/**
 * A metric's value in its own unit: rates as %, latencies in ms, costs in $. `kind` (the verdict's)
 * tells an outcome metric's unit: a rate (empty_answer, checkout_converted) as %, a mean as a number.
 */
export function metricValue(metric: string, value: number | null | undefined, kind?: string): string {
  if (value === null || value === undefined) return dash;
  if (kind === 'rate' || /Rate$/.test(metric)) return pct(value, 2);
  if (/^cost/.test(metric)) return usd(value);
  if (kind === 'mean') return value.toFixed(3);
  return ms(value);
}

/** An effect on its scale: a difference (pp for rates) or a ratio (×). */
export function effect(metric: string, scale: string, value: number | null | undefined, kind?: string): string {
  if (value === null || value === undefined) return dash;
  if (scale === 'ratio') return `${value.toFixed(3)}×`;
  if (kind === 'rate' || /Rate$/.test(metric)) return `${value >= 0 ? '+' : ''}${(value * 100).toFixed(2)} pp`;
  return `${value >= 0 ? '+' : ''}${metricValue(metric, value, kind)}`;
}

/**
 * A confidence band. An end the data cannot bound yet (the engine sends null for infinity, e.g. a
 * tail quantile's ratio with too few slow requests to bound it, and 0 for a ratio's lower end, exp(-∞))
 * is not written as a number, which would read as a bound, nor as missing data: the band says the side
 * it has, "≤ 1.840×", as the verdict sentences do.
 */
export function band(
  metric: string,
  scale: string,
  interval: readonly [number | null, number | null],
  kind?: string,
): string {
  const [lower, upper] = boundedSides(scale, interval);
  if (lower === null) return upper === null ? 'no bounds yet' : `≤ ${effect(metric, scale, upper, kind)}`;
  if (upper === null) return `≥ ${effect(metric, scale, lower, kind)}`;
  return `${effect(metric, scale, lower, kind)} … ${effect(metric, scale, upper, kind)}`;
}
