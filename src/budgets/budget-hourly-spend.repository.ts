import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

const HOUR_MS = 3_600_000;

export function hourStartOf(atMs: number): Date {
  return new Date(Math.floor(atMs / HOUR_MS) * HOUR_MS);
}

/** Every query on `budget_hourly_spend`: settled spend per budget and clock hour. */
@Injectable()
export class BudgetHourlySpendRepository {
  async add(manager: EntityManager, budgetId: string, at: Date, amountUsd: string): Promise<void> {
    await manager.query(
      `INSERT INTO budget_hourly_spend AS h (budget_id, hour_start, spent_usd) VALUES ($1, $2, $3::numeric)
       ON CONFLICT (budget_id, hour_start) DO UPDATE SET spent_usd = h.spent_usd + excluded.spent_usd`,
      [budgetId, hourStartOf(at.getTime()), amountUsd],
    );
  }

  /** What was settled in the hour of `at` and in the hour before it. */
  async recent(
    manager: EntityManager,
    budgetId: string,
    at: Date,
  ): Promise<{ currentUsd: string; previousUsd: string }> {
    const current = hourStartOf(at.getTime());
    const previous = new Date(current.getTime() - HOUR_MS);
    const [row]: Array<{ current: string; previous: string }> = await manager.query(
      `SELECT coalesce(sum(spent_usd) FILTER (WHERE hour_start = $2), 0)::text AS current,
              coalesce(sum(spent_usd) FILTER (WHERE hour_start = $3), 0)::text AS previous
         FROM budget_hourly_spend WHERE budget_id = $1 AND hour_start IN ($2, $3)`,
      [budgetId, current, previous],
    );
    return { currentUsd: row.current, previousUsd: row.previous };
  }

  /** Hours nobody forecasts from any more. */
  async deleteBefore(manager: EntityManager, before: Date): Promise<void> {
    await manager.query(`DELETE FROM budget_hourly_spend WHERE hour_start < $1`, [before]);
  }
}
