/**
 * The shortest span a rate "of the last hour" is divided by: a flag or budget seconds old would
 * otherwise extrapolate its first few requests to a wild pace.
 */
export const MIN_RATE_WINDOW_MS = 60_000;

/**
 * The span of the last `lookbackMs` a rate really observed, to divide by: from the latest of its
 * start and each of `since` (when the thing was created, when its data begins; null: unknown), and
 * at least MIN_RATE_WINDOW_MS long. A full hour only for what has existed, with data, for an hour.
 */
export function rateWindow(nowMs: number, lookbackMs: number, ...since: Array<number | null>): RateWindow {
  const starts = since.filter((start): start is number => start !== null);
  const fromMs = Math.min(Math.max(nowMs - lookbackMs, ...starts), nowMs - MIN_RATE_WINDOW_MS);
  return { fromMs, ms: nowMs - fromMs };
}

export interface RateWindow {
  fromMs: number;
  ms: number;
}
