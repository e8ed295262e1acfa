import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { PeriodKey } from './budget-periods.repository';

/** Every query on `budget_sync_receipts`: the last committed sync of each replica's ledger of a period. */
@Injectable()
export class BudgetSyncReceiptsRepository {
  /** Records `sync` as committed: run inside the sync's transaction, so it holds exactly when the sync does. */
  async put(manager: EntityManager, key: PeriodKey, replica: string, sync: number, at: Date): Promise<void> {
    await manager.query(
      `INSERT INTO budget_sync_receipts (budget_id, period_start, replica, last_sync, updated_at)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (budget_id, period_start, replica) DO UPDATE
         SET last_sync = excluded.last_sync, updated_at = excluded.updated_at`,
      [key.budgetId, key.periodStart, replica, sync, at],
    );
  }

  /**
   * The ledger's last committed sync (0: none). An upsert, not a plain read: if that sync's
   * transaction is still finishing on a connection we lost, the upsert waits for its row lock and so
   * sees whether it committed, where a read would see the row as it was before.
   */
  async lastCommitted(manager: EntityManager, key: PeriodKey, replica: string, at: Date): Promise<number> {
    const [row]: Array<{ last_sync: string }> = await manager.query(
      `INSERT INTO budget_sync_receipts AS r (budget_id, period_start, replica, last_sync, updated_at)
       VALUES ($1, $2, $3, 0, $4)
       ON CONFLICT (budget_id, period_start, replica) DO UPDATE SET last_sync = r.last_sync
       RETURNING r.last_sync`,
      [key.budgetId, key.periodStart, replica, at],
    );
    return Number(row.last_sync);
  }

  /** Receipts no replica has synced for this long: theirs were settled or their replicas are gone. */
  async deleteBefore(manager: EntityManager, before: Date): Promise<void> {
    await manager.query(`DELETE FROM budget_sync_receipts WHERE updated_at < $1`, [before]);
  }
}
