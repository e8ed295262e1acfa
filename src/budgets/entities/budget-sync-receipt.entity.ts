import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * The last sync of one replica's ledger of one budget period that Postgres committed. Written in
 * the sync's transaction and read back when a sync's commit went unanswered, so its spend is
 * settled once. Raw SQL only (BudgetSyncReceiptsRepository); declared for migration:generate.
 */
@Entity({ name: 'budget_sync_receipts' })
@Index('budget_sync_receipts_updated_at_idx', ['updatedAt'])
export class BudgetSyncReceiptEntity {
  @PrimaryColumn({ name: 'budget_id', type: 'uuid' })
  budgetId: string;

  @PrimaryColumn({ name: 'period_start', type: 'timestamptz' })
  periodStart: Date;

  @PrimaryColumn({ type: 'text' })
  replica: string;

  // bigint: pg returns int8 as a string.
  @Column({ name: 'last_sync', type: 'bigint' })
  lastSync: string;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
