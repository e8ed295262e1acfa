import { registerAs } from '@nestjs/config';
import { Type } from 'class-transformer';
import { IsNumber, Max, Min } from 'class-validator';
import { IntegerBetween, readEnv, validateConfig } from './validate-config';

const leaseFractionMessage = 'BUDGET_LEASE_FRACTION must be a number above 0 and at most 1';

class BudgetsEnvironment {
  @IntegerBetween('BUDGET_SYNC_MS', 10, 10_000)
  BUDGET_SYNC_MS = 200;

  @IntegerBetween('BUDGET_LEASE_TTL_MS', 1_000, 600_000)
  BUDGET_LEASE_TTL_MS = 30_000;

  @Type(() => Number)
  @IsNumber({}, { message: leaseFractionMessage })
  @Min(0.000001, { message: leaseFractionMessage })
  @Max(1, { message: leaseFractionMessage })
  BUDGET_LEASE_FRACTION = 0.05;

  @IntegerBetween('BUDGET_WATCH_SECONDS', 1, 3_600)
  BUDGET_WATCH_SECONDS = 10;
}

export interface BudgetsConfig {
  /** How often a replica settles what it spent into the shared ledger and tops up or returns its leases. */
  syncMs: number;
  /** A lease not renewed for this long is void: a dead replica's headroom and reservations come back. */
  leaseTtlMs: number;
  /** The most headroom one lease holds beyond its reservations, as a share of the budget's limit. */
  leaseFraction: number;
  /** How often threshold, exhaustion and burn-rate alerts are looked for (one replica at a time). */
  watchMs: number;
}

export const BUDGETS_ENV = Object.keys(new BudgetsEnvironment());

export const budgetsConfig = registerAs('budgets', (): BudgetsConfig => {
  const env = validateConfig(BudgetsEnvironment, readEnv(BUDGETS_ENV), 'environment');
  return {
    syncMs: env.BUDGET_SYNC_MS,
    leaseTtlMs: env.BUDGET_LEASE_TTL_MS,
    leaseFraction: env.BUDGET_LEASE_FRACTION,
    watchMs: env.BUDGET_WATCH_SECONDS * 1000,
  };
});
