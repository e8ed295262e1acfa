import type { MigrationInterface, QueryRunner } from 'typeorm';

const OUTCOMES_BEFORE = ['ok', 'upstream_error', 'timeout', 'rate_limited', 'rejected', 'client_aborted'];
const OUTCOMES_AFTER = [...OUTCOMES_BEFORE, 'invalid_request'];

function checkOf(outcomes: string[]): string {
  return `CHECK (outcome IN (${outcomes.map((outcome) => `'${outcome}'`).join(', ')}))`;
}

/**
 * Outcome `invalid_request`: the provider refused a request as invalid (400/404/413/422). It was
 * recorded as `upstream_error` and so counted against the model by canaries and the guardrail.
 * The check constraint is on the partitioned parent, so every partition follows it.
 */
export class RequestMetricsInvalidRequest1764520000000 implements MigrationInterface {
  name = 'RequestMetricsInvalidRequest1764520000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE request_metrics DROP CONSTRAINT request_metrics_outcome_check`);
    await runner.query(
      `ALTER TABLE request_metrics ADD CONSTRAINT request_metrics_outcome_check ${checkOf(OUTCOMES_AFTER)}`,
    );
  }

  /** Rows of the new outcome go back to what they were recorded as before it existed. */
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE request_metrics DROP CONSTRAINT request_metrics_outcome_check`);
    await runner.query(`UPDATE request_metrics SET outcome = 'upstream_error' WHERE outcome = 'invalid_request'`);
    await runner.query(
      `ALTER TABLE request_metrics ADD CONSTRAINT request_metrics_outcome_check ${checkOf(OUTCOMES_BEFORE)}`,
    );
  }
}
