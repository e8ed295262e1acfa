import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outcome events as services report them (POST /v1/outcomes), and an index on
 * request_metrics.request_id, by which a request-unit event finds its request (and a canary joins
 * events to the arm that served them). An event's id is derived from its metric and idempotency
 * key when it has one, so a duplicate is the same primary key and is stored once, on any replica.
 * The user's id is stored as the same keyed hash as request_metrics.user_key, never the id.
 */
export class CreateOutcomeEvents1796512518587 implements MigrationInterface {
  name = 'CreateOutcomeEvents1796512518587';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE outcome_events (
        id          uuid             NOT NULL,
        metric_key  text             NOT NULL,
        value       double precision NOT NULL,
        request_id  text             NULL,
        user_key    bigint           NULL,
        occurred_at timestamptz      NOT NULL,
        received_at timestamptz      NOT NULL,
        api_key_id  uuid             NULL,
        source      text             NOT NULL,
        CONSTRAINT outcome_events_pkey PRIMARY KEY (id),
        CONSTRAINT outcome_events_source_check CHECK (source IN ('api', 'openfeature')),
        CONSTRAINT outcome_events_subject_check CHECK (request_id IS NOT NULL OR user_key IS NOT NULL)
      )`);
    await runner.query(`CREATE INDEX outcome_events_metric_occurred_idx ON outcome_events (metric_key, occurred_at)`);
    await runner.query(`CREATE INDEX outcome_events_request_id_idx ON outcome_events (request_id)`);
    await runner.query(`CREATE INDEX outcome_events_user_key_idx ON outcome_events (user_key, occurred_at)`);
    await runner.query(`CREATE INDEX request_metrics_request_id_idx ON request_metrics (request_id)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX request_metrics_request_id_idx`);
    await runner.query(`DROP TABLE outcome_events`);
  }
}
