import { describe, expect, it } from '@jest/globals';
import { forecastOf } from './budget-forecast';

const HOUR = 3_600_000;
const USD = 1_000_000_000_000n;
const base = {
  limitPico: 100n * USD,
  spentPico: 40n * USD,
  reservedPico: 0n,
  nowMs: Date.parse('2026-11-24T10:30:00Z'),
  createdAtMs: Date.parse('2026-11-01T00:00:00Z'),
  endMs: Date.parse('2026-11-25T00:00:00Z'),
  exhaustedAtMs: null,
  currentHourPico: 0n,
  previousHourPico: 0n,
};

describe('budget forecast', () => {
  it('projects the last hour of spend over what is left', () => {
    // Half of the previous hour's $8 falls in the last 60 minutes, plus this hour's $6: $10 an hour.
    const forecast = forecastOf({ ...base, currentHourPico: 6n * USD, previousHourPico: 8n * USD });
    expect(forecast.burnRateUsdPerHour).toBeCloseTo(10, 9);
    expect(forecast.exhaustionAtMs).toBe(base.nowMs + 6 * HOUR);
    expect(forecast.exhaustsBeforeReset).toBe(true);
  });

  it("measures a budget younger than an hour over its life: both hours' spend, divided by its age", () => {
    // Created 20 minutes ago, at 10:10: $1 settled at 10:12, $1 at 10:25 — $2 in 20 minutes, $6 an hour.
    const young = { ...base, createdAtMs: base.nowMs - 20 * 60_000, currentHourPico: 2n * USD };
    expect(forecastOf(young)).toMatchObject({ burnRateWindowMs: 20 * 60_000 });
    expect(forecastOf(young).burnRateUsdPerHour).toBeCloseTo(6, 9);
    // Created at 9:50: what the previous hour settled is all within its life, not half of it.
    const across = {
      ...base,
      createdAtMs: base.nowMs - 40 * 60_000,
      previousHourPico: 1n * USD,
      currentHourPico: 1n * USD,
    };
    expect(forecastOf(across).burnRateUsdPerHour).toBeCloseTo(3, 9);
  });

  it('does not alarm when the pace ends after the period', () => {
    const forecast = forecastOf({ ...base, currentHourPico: 1n * USD });
    expect(forecast.exhaustionAtMs).toBe(base.nowMs + 60 * HOUR);
    expect(forecast.exhaustsBeforeReset).toBe(false);
  });

  it('has no exhaustion time when nothing was spent lately, and now when it is used up', () => {
    expect(forecastOf(base)).toMatchObject({ burnRateUsdPerHour: 0, exhaustionAtMs: null, exhaustsBeforeReset: false });
    expect(forecastOf({ ...base, spentPico: 90n * USD, reservedPico: 10n * USD }).exhaustionAtMs).toBe(base.nowMs);
  });

  it('gives the time it ran out once it did, though money is left and the pace would last', () => {
    const ranOut = base.nowMs - HOUR;
    expect(forecastOf({ ...base, currentHourPico: 1n * USD, exhaustedAtMs: ranOut })).toMatchObject({
      exhaustionAtMs: ranOut,
      exhaustsBeforeReset: true,
    });
  });

  it('never says a total budget runs out before a reset it does not have', () => {
    expect(forecastOf({ ...base, endMs: null, currentHourPico: 50n * USD }).exhaustsBeforeReset).toBe(false);
  });
});
