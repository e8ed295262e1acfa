const HOUR_MS = 3_600_000;

export interface ForecastInput {
  limitPico: bigint;
  spentPico: bigint;
  reservedPico: bigint;
  nowMs: number;
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
  exhaustionAtMs: number | null;
  exhaustsBeforeReset: boolean;
}

/**
 * Where the budget is heading at this hour's pace: the spend of the last 60 minutes (this clock
 * hour's, plus the part of the previous hour's that falls in them, pro rata) projected over what is
 * left. Ran out already in the period (a request's worst case may not have fit with money left): when
 * it did, never a time to come. Used up (spent + reserved ≥ limit): now. Nothing spent lately: no exhaustion.
 */
export function forecastOf(input: ForecastInput): Forecast {
  const intoHour = (input.nowMs % HOUR_MS) / HOUR_MS;
  const lastHourPico = Number(input.currentHourPico) + Number(input.previousHourPico) * (1 - intoHour);
  const burnRateUsdPerHour = lastHourPico / 1e12;
  const remainingPico = input.limitPico - input.spentPico - input.reservedPico;
  let exhaustionAtMs: number | null;
  if (input.exhaustedAtMs !== null) exhaustionAtMs = input.exhaustedAtMs;
  else if (remainingPico <= 0n) exhaustionAtMs = input.nowMs;
  else if (lastHourPico <= 0) exhaustionAtMs = null;
  else exhaustionAtMs = input.nowMs + Math.ceil((Number(remainingPico) / lastHourPico) * HOUR_MS);
  const exhaustsBeforeReset = exhaustionAtMs !== null && input.endMs !== null && exhaustionAtMs < input.endMs;
  return { burnRateUsdPerHour, exhaustionAtMs, exhaustsBeforeReset };
}
