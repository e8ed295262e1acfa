import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A stage's window was "rows since the stage started": requests a replica still routed by the previous
 * stage's weights (before its NOTIFY arrived) counted in the new stage, and at 35% -> 65% enough of
 * them made a false sample-ratio mismatch. Rows now carry the flag version that routed them and the
 * canary the version its stage's weights were written at. Both nullable: adding them rewrites nothing.
 */
export class StageFlagVersion1796670000000 implements MigrationInterface {
  name = 'StageFlagVersion1796670000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE request_metrics ADD COLUMN flag_version integer`);
    await runner.query(`ALTER TABLE canaries ADD COLUMN stage_flag_version integer`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE canaries DROP COLUMN stage_flag_version`);
    await runner.query(`ALTER TABLE request_metrics DROP COLUMN flag_version`);
  }
}
