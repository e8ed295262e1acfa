import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Receipts of the replicas' syncs: the last sync of each budget ledger (and of each replica's
 * rate-limit counts) that Postgres committed, written in the sync's own transaction. A replica whose
 * connection died during a commit reads its receipt to learn whether that sync counted, so the spend
 * or the requests it carried are added once, never twice. No foreign key: a receipt outlives a
 * deleted budget or key harmlessly and is pruned by age (updated_at).
 */
export class SyncReceipts1796574702415 implements MigrationInterface {
  name = 'SyncReceipts1796574702415';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE budget_sync_receipts (
        budget_id    uuid        NOT NULL,
        period_start timestamptz NOT NULL,
        replica      text        NOT NULL,
        last_sync    bigint      NOT NULL,
        updated_at   timestamptz NOT NULL,
        CONSTRAINT budget_sync_receipts_pkey PRIMARY KEY (budget_id, period_start, replica)
      )`);
    await runner.query(`CREATE INDEX budget_sync_receipts_updated_at_idx ON budget_sync_receipts (updated_at)`);
    await runner.query(`
      CREATE TABLE api_key_usage_receipts (
        replica    text        NOT NULL,
        last_sync  bigint      NOT NULL,
        updated_at timestamptz NOT NULL,
        CONSTRAINT api_key_usage_receipts_pkey PRIMARY KEY (replica)
      )`);
    await runner.query(`CREATE INDEX api_key_usage_receipts_updated_at_idx ON api_key_usage_receipts (updated_at)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE api_key_usage_receipts`);
    await runner.query(`DROP TABLE budget_sync_receipts`);
  }
}
