import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The per-request metrics table, partitioned by day on `at`. Retention drops whole partitions
 * (DELETE-based retention bloats a metrics table and stalls it); the indexes are declared on the
 * parent so every partition gets them when it is created. Partitions themselves are made ahead of
 * time by MetricsPartitions at start-up and hourly; the default partition only catches rows whose
 * day has no partition yet (a clock far off), so an insert never fails for want of one.
 */
export class CreateRequestMetrics1764100000000 implements MigrationInterface {
  name = 'CreateRequestMetrics1764100000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE request_metrics (
        id                  uuid             NOT NULL,
        at                  timestamptz      NOT NULL,
        request_id          text             NOT NULL,
        policy              text             NULL,
        flag                text             NULL,
        variant             text             NULL,
        provider            text             NULL,
        model               text             NULL,
        first_model         text             NULL,
        outcome             text             NOT NULL,
        http_status         smallint         NOT NULL,
        error_type          text             NULL,
        latency_ms          double precision NOT NULL,
        upstream_latency_ms double precision NULL,
        ttft_ms             double precision NULL,
        prompt_tokens       integer          NULL,
        completion_tokens   integer          NULL,
        cost_usd            numeric(20,12)   NULL,
        attempts            smallint         NOT NULL,
        fallback            boolean          NOT NULL,
        stream              boolean          NOT NULL,
        api_key_id          uuid             NULL,
        CONSTRAINT request_metrics_pkey PRIMARY KEY (id, at),
        CONSTRAINT request_metrics_outcome_check
          CHECK (outcome IN ('ok', 'upstream_error', 'timeout', 'rate_limited', 'rejected', 'client_aborted'))
      ) PARTITION BY RANGE (at)`);
    await runner.query(`CREATE INDEX request_metrics_flag_variant_at_idx ON request_metrics (flag, variant, at)`);
    await runner.query(`CREATE INDEX request_metrics_model_at_idx ON request_metrics (model, at)`);
    await runner.query(`CREATE INDEX request_metrics_api_key_at_idx ON request_metrics (api_key_id, at)`);
    await runner.query(`CREATE INDEX request_metrics_policy_at_idx ON request_metrics (policy, at)`);
    await runner.query(`CREATE INDEX request_metrics_at_idx ON request_metrics (at)`);
    await runner.query(`CREATE TABLE request_metrics_default PARTITION OF request_metrics DEFAULT`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE request_metrics`);
  }
}
