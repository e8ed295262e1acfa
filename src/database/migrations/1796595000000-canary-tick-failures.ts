import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The last tick that failed on each canary, with why and on which replica: what a stalled canary's
 * page shows. A table of its own, not a column of `canaries`, and no foreign key to it: the canary's
 * row may be the very thing the failing tick could not lock, and a foreign key's check would wait on
 * that lock too (canaries are never deleted).
 */
export class CanaryTickFailures1796595000000 implements MigrationInterface {
  name = 'CanaryTickFailures1796595000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE canary_tick_failures (
        canary_id uuid        NOT NULL,
        failed_at timestamptz NOT NULL,
        reason    text        NOT NULL,
        instance  text        NOT NULL,
        CONSTRAINT canary_tick_failures_pkey PRIMARY KEY (canary_id)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE canary_tick_failures`);
  }
}
