import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { PeriodKey } from './budget-periods.repository';

export interface LeaseRow {
  replica: string;
  grantedUsd: string;
  reservedUsd: string;
  expiresAt: Date;
}

/** Every query on `budget_leases`: the headroom each replica holds in a budget period. */
@Injectable()
export class BudgetLeasesRepository {
  /** Our own live lease and the sum of the other replicas' live ones (a lease past expires_at counts for nothing). */
  async heldAt(
    manager: EntityManager,
    key: PeriodKey,
    replica: string,
    at: Date,
  ): Promise<{ mineUsd: string; othersUsd: string }> {
    const [row]: Array<{ mine: string; others: string }> = await manager.query(
      `SELECT coalesce(sum(granted_usd) FILTER (WHERE replica = $3), 0)::text AS mine,
              coalesce(sum(granted_usd) FILTER (WHERE replica <> $3), 0)::text AS others
         FROM budget_leases WHERE budget_id = $1 AND period_start = $2 AND expires_at > $4`,
      [key.budgetId, key.periodStart, replica, at],
    );
    return { mineUsd: row.mine, othersUsd: row.others };
  }

  /** Writes our lease (renewing it until `expiresAt`), or deletes it when it holds nothing. */
  async put(
    manager: EntityManager,
    key: PeriodKey,
    lease: { replica: string; grantedUsd: string; reservedUsd: string; expiresAt: Date; at: Date },
    holdsNothing: boolean,
  ): Promise<void> {
    if (holdsNothing) {
      await manager.query(`DELETE FROM budget_leases WHERE budget_id = $1 AND period_start = $2 AND replica = $3`, [
        key.budgetId,
        key.periodStart,
        lease.replica,
      ]);
      return;
    }
    await manager.query(
      `INSERT INTO budget_leases (budget_id, period_start, replica, granted_usd, reserved_usd, expires_at, updated_at)
       VALUES ($1, $2, $3, $4::numeric, $5::numeric, $6, $7)
       ON CONFLICT (budget_id, period_start, replica) DO UPDATE
         SET granted_usd = excluded.granted_usd, reserved_usd = excluded.reserved_usd,
             expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
      [key.budgetId, key.periodStart, lease.replica, lease.grantedUsd, lease.reservedUsd, lease.expiresAt, lease.at],
    );
  }

  /** Leases of dead replicas (not renewed in time) of one period: they hold nothing any more. */
  async deleteExpired(manager: EntityManager, key: PeriodKey, at: Date): Promise<void> {
    await manager.query(`DELETE FROM budget_leases WHERE budget_id = $1 AND period_start = $2 AND expires_at <= $3`, [
      key.budgetId,
      key.periodStart,
      at,
    ]);
  }

  /** The live leases of a period, for the budget's status. */
  async live(manager: EntityManager, key: PeriodKey, at: Date): Promise<LeaseRow[]> {
    const rows: Array<{ replica: string; granted: string; reserved: string; expires_at: Date }> = await manager.query(
      `SELECT replica, granted_usd::text AS granted, reserved_usd::text AS reserved, expires_at
         FROM budget_leases WHERE budget_id = $1 AND period_start = $2 AND expires_at > $3 ORDER BY replica`,
      [key.budgetId, key.periodStart, at],
    );
    return rows.map((row) => ({
      replica: row.replica,
      grantedUsd: row.granted,
      reservedUsd: row.reserved,
      expiresAt: row.expires_at,
    }));
  }

  /** Live reservations of many periods at once (the budget list). */
  async reservedOf(manager: EntityManager, keys: PeriodKey[], at: Date): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const rows: Array<{ budget_id: string; reserved: string }> = await manager.query(
      `SELECT l.budget_id, sum(l.reserved_usd)::text AS reserved
         FROM unnest($1::uuid[], $2::timestamptz[]) AS k(budget_id, period_start)
         JOIN budget_leases l ON l.budget_id = k.budget_id AND l.period_start = k.period_start
        WHERE l.expires_at > $3
        GROUP BY l.budget_id`,
      [keys.map((key) => key.budgetId), keys.map((key) => key.periodStart), at],
    );
    return new Map(rows.map((row) => [row.budget_id, row.reserved]));
  }
}
