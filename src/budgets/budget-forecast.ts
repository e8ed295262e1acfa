import { rateWindow } from '../common/rate-window';

const HOUR_MS = 3_600_000;

export interface ForecastInput {
  limitPico: bigint;
  spentPico: bigint;
  reservedPico: bigint;
  nowMs: number;
  /** When the budget was created: the burn rate of a younger one covers its life, not an hour. */
  createdAtMs: number;
  /** null: a period that never ends. */
  endMs: number | null;
  /** When a request was first refused (or downgraded, or sent to the control) in the period; null: not yet. */
  exhaustedAtMs: number | null;
  /** Settled in the clock hour of `nowMs`, and in the hour before it. */
  currentHourPico: bigint;
  previousHourPico: bigint;
}

export interface Forecast {
  burnRateUsdPerHour: number;
  /** How long the burn rate is measured over: the last hour, or the budget's life (at least a minute). */
  burnRateWindowMs: number;
  exhaustionAtMs: number | null;
  exhaustsBeforeReset: boolean;
}

/**
 * Where the budget is heading at this hour's pace: the spend of the last 60 minutes (this clock
 * hour's, plus the part of the previous hour's that falls in them, pro rata) projected over what is
 * left. A budget younger than an hour has spent all of both hours' spend in its life, which is what
 * the rate divides by (at least a minute: rateWindow). Ran out already in the period (a request's worst case may not have fit with money left): when
 * it did, never a time to come. Used up (spent + reserved ≥ limit): now. Nothing spent lately: no exhaustion.
 */
export function forecastOf(input: ForecastInput): Forecast {
  const window = rateWindow(input.nowMs, HOUR_MS, input.createdAtMs);
  const young = input.createdAtMs > input.nowMs - HOUR_MS;
  const intoHour = (input.nowMs % HOUR_MS) / HOUR_MS;
  const windowPico = Number(input.currentHourPico) + Number(input.previousHourPico) * (young ? 1 : 1 - intoHour);
  const perHourPico = (windowPico * HOUR_MS) / window.ms;
  const burnRateUsdPerHour = perHourPico / 1e12;
  const remainingPico = input.limitPico - input.spentPico - input.reservedPico;
  let exhaustionAtMs: number | null;
  if (input.exhaustedAtMs !== null) exhaustionAtMs = input.exhaustedAtMs;
  else if (remainingPico <= 0n) exhaustionAtMs = input.nowMs;
  else if (perHourPico <= 0) exhaustionAtMs = null;
  else exhaustionAtMs = input.nowMs + Math.ceil((Number(remainingPico) / perHourPico) * HOUR_MS);
  const exhaustsBeforeReset = exhaustionAtMs !== null && input.endMs !== null && exhaustionAtMs < input.endMs;
  return { burnRateUsdPerHour, burnRateWindowMs: window.ms, exhaustionAtMs, exhaustsBeforeReset };
}
