import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An index on users' exposures, by which POST /v1/outcomes checks that a user-unit outcome has an
 * exposure of its user (a row with a user key that a flag routed) within the metric's attribution
 * window before it. Partial: requests without a user or a flag, most of the traffic of many
 * deployments, are not in it and cost no write. Declared on the partitioned parent, so every
 * partition has it; building it on an existing table holds writes to request_metrics back for the
 * time it takes (the metrics writer keeps its rows queued meanwhile).
 */
export class RequestMetricsUserExposureIndex1796522496319 implements MigrationInterface {
  name = 'RequestMetricsUserExposureIndex1796522496319';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(
      `CREATE INDEX request_metrics_user_exposure_idx ON request_metrics (user_key, at) WHERE user_key IS NOT NULL AND flag IS NOT NULL`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX request_metrics_user_exposure_idx`);
  }
}
