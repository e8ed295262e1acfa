import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * GET /api/canaries pages newest first with a (created_at, id) cursor, all canaries or one flag's:
 * ended canaries pile up for as long as the installation lives, so neither may sort the whole table.
 */
export class CanaryListIndexes1796660000000 implements MigrationInterface {
  name = 'CanaryListIndexes1796660000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE INDEX canaries_created_at_id_idx ON canaries (created_at, id)`);
    await runner.query(`CREATE INDEX canaries_flag_key_created_at_idx ON canaries (flag_key, created_at)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX canaries_flag_key_created_at_idx`);
    await runner.query(`DROP INDEX canaries_created_at_id_idx`);
  }
}
