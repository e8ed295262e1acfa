import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * request_metrics.quality_signals: the built-in answer-quality signals of each answered request as
 * a bitmask (metrics/quality-signals.ts), so canaries can judge empty, truncated, invalid-JSON,
 * schema-violating, malformed-tool-call and refused answers like any other rate. Null for rows
 * without a complete answer, and for every row written before it existed. Added on the partitioned
 * parent, so every partition has it; adding a nullable column without a default rewrites nothing.
 */
export class RequestMetricsQualitySignals1796511403895 implements MigrationInterface {
  name = 'RequestMetricsQualitySignals1796511403895';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE request_metrics ADD COLUMN quality_signals smallint NULL`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE request_metrics DROP COLUMN quality_signals`);
  }
}
