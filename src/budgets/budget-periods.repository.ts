import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

export interface PeriodKey {
  budgetId: string;
  periodStart: Date;
}

export interface PeriodRow {
  spentUsd: string;
  alertedAt: number[];
  exhaustedAt: Date | null;
  /** What ran it out: the worst case of the first request that did not fit, and what was left for it. */
  exhaustedBy: Exhaustion | null;
  burnAlertedAt: Date | null;
}

/** A request whose worst case did not fit: the two figures its 429 quotes. */
export interface Exhaustion {
  worstUsd: string;
  leftUsd: string;
}

/** Every query on `budget_periods`: the shared ledger rows, one per budget period. */
@Injectable()
export class BudgetPeriodsRepository {
  /**
   * Adds what a replica settled to the period's spent (creating the row on first use), holding the
   * row's lock to the end of the transaction: syncs of one period run one at a time across replicas.
   * Returns the limit and the spent after the addition; null when the budget no longer exists.
   */
  async addSpentLocked(
    manager: EntityManager,
    key: PeriodKey & { periodEnd: Date | null },
    flushUsd: string,
    at: Date,
  ): Promise<{ spentUsd: string; limitUsd: string } | null> {
    const rows: Array<{ spent: string; limit: string }> = await manager.query(
      `INSERT INTO budget_periods AS p (budget_id, period_start, period_end, spent_usd, updated_at)
       SELECT b.id, $2, $3, $4::numeric, $5 FROM budgets b WHERE b.id = $1
       ON CONFLICT (budget_id, period_start) DO UPDATE
         SET spent_usd = p.spent_usd + excluded.spent_usd, updated_at = excluded.updated_at
       RETURNING p.spent_usd::text AS spent, (SELECT limit_usd::text FROM budgets WHERE id = $1) AS limit`,
      [key.budgetId, key.periodStart, key.periodEnd, flushUsd, at],
    );
    return rows.length === 0 ? null : { spentUsd: rows[0].spent, limitUsd: rows[0].limit };
  }

  async find(manager: EntityManager, key: PeriodKey, forUpdate = false): Promise<PeriodRow | null> {
    const rows: Array<{
      spent: string;
      alerted_at: number[];
      exhausted_at: Date | null;
      exhausted_worst: string | null;
      exhausted_left: string | null;
      burn_alerted_at: Date | null;
    }> = await manager.query(
      `SELECT spent_usd::text AS spent, alerted_at, exhausted_at, exhausted_worst_usd::text AS exhausted_worst,
              exhausted_left_usd::text AS exhausted_left, burn_alerted_at
           FROM budget_periods WHERE budget_id = $1 AND period_start = $2 ${forUpdate ? 'FOR UPDATE' : ''}`,
      [key.budgetId, key.periodStart],
    );
    if (rows.length === 0) return null;
    const [row] = rows;
    return {
      spentUsd: row.spent,
      alertedAt: row.alerted_at.map(Number),
      exhaustedAt: row.exhausted_at,
      exhaustedBy:
        row.exhausted_worst === null || row.exhausted_left === null
          ? null
          : { worstUsd: row.exhausted_worst, leftUsd: row.exhausted_left },
      burnAlertedAt: row.burn_alerted_at,
    };
  }

  /** Spent and exhaustion of many periods at once (the budget list); absent: nothing happened in the period yet. */
  async summaries(
    manager: EntityManager,
    keys: PeriodKey[],
  ): Promise<Map<string, { spentUsd: string; exhausted: boolean }>> {
    if (keys.length === 0) return new Map();
    const rows: Array<{ budget_id: string; spent: string; exhausted: boolean }> = await manager.query(
      `SELECT p.budget_id, p.spent_usd::text AS spent, p.exhausted_at IS NOT NULL AS exhausted
         FROM unnest($1::uuid[], $2::timestamptz[]) AS k(budget_id, period_start)
         JOIN budget_periods p ON p.budget_id = k.budget_id AND p.period_start = k.period_start`,
      [keys.map((key) => key.budgetId), keys.map((key) => key.periodStart)],
    );
    return new Map(rows.map((row) => [row.budget_id, { spentUsd: row.spent, exhausted: row.exhausted }]));
  }

  /**
   * The first refusal of the period and what caused it, kept once (the row is created if nothing was
   * settled yet): the period's spent and the thresholds alerted so far, or null when it was kept before.
   */
  async markExhausted(
    manager: EntityManager,
    key: PeriodKey & { periodEnd: Date | null },
    at: Date,
    by: Exhaustion,
  ): Promise<{ spentUsd: string; alertedAt: number[] } | null> {
    const rows: Array<{ spent: string; alerted_at: number[] }> = await manager.query(
      `INSERT INTO budget_periods AS p
              (budget_id, period_start, period_end, exhausted_at, exhausted_worst_usd, exhausted_left_usd, updated_at)
       SELECT b.id, $2, $3, $4, $5::numeric, $6::numeric, $4 FROM budgets b WHERE b.id = $1
       ON CONFLICT (budget_id, period_start) DO UPDATE
         SET exhausted_at = $4, exhausted_worst_usd = $5::numeric, exhausted_left_usd = $6::numeric, updated_at = $4
         WHERE p.exhausted_at IS NULL
       RETURNING p.spent_usd::text AS spent, p.alerted_at`,
      [key.budgetId, key.periodStart, key.periodEnd, at, by.worstUsd, by.leftUsd],
    );
    return rows.length === 0 ? null : { spentUsd: rows[0].spent, alertedAt: rows[0].alerted_at.map(Number) };
  }

  async markAlerted(manager: EntityManager, key: PeriodKey, thresholds: number[], at: Date): Promise<void> {
    await manager.query(
      `UPDATE budget_periods SET alerted_at = alerted_at || $3::float8[], updated_at = $4
        WHERE budget_id = $1 AND period_start = $2`,
      [key.budgetId, key.periodStart, thresholds, at],
    );
  }

  /**
   * After a limit was raised above what the period has spent: no longer used up, and the thresholds
   * the spend is now under (and the burn-rate alert) may be crossed, and alerted, again.
   */
  async reopen(manager: EntityManager, key: PeriodKey, limitUsd: string, at: Date): Promise<void> {
    await manager.query(
      `UPDATE budget_periods
          SET exhausted_at = NULL, exhausted_worst_usd = NULL, exhausted_left_usd = NULL, burn_alerted_at = NULL,
              alerted_at = ARRAY(SELECT t FROM unnest(alerted_at) AS t WHERE spent_usd >= t::numeric * $3::numeric),
              updated_at = $4
        WHERE budget_id = $1 AND period_start = $2 AND spent_usd < $3::numeric`,
      [key.budgetId, key.periodStart, limitUsd, at],
    );
  }

  async markBurnAlerted(manager: EntityManager, key: PeriodKey, at: Date): Promise<void> {
    await manager.query(
      `UPDATE budget_periods SET burn_alerted_at = $3, updated_at = $3 WHERE budget_id = $1 AND period_start = $2`,
      [key.budgetId, key.periodStart, at],
    );
  }
}
