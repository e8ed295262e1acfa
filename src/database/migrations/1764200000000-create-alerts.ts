import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The alert outbox and its delivery log. An alert row is written in the transaction of the change
 * it reports; the sender claims due rows with FOR UPDATE SKIP LOCKED, posts them and records every
 * attempt. Hand-written; works on Postgres 15+ (gen_random_uuid is built in since 13).
 */
export class CreateAlerts1764200000000 implements MigrationInterface {
  name = 'CreateAlerts1764200000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE alerts (
        id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        type            text        NOT NULL,
        severity        text        NOT NULL CONSTRAINT alerts_severity_check CHECK (severity IN ('info', 'warning', 'critical')),
        dedup_key       text        NOT NULL CONSTRAINT alerts_dedup_key_key UNIQUE,
        flag_key        text        NULL,
        canary_id       uuid        NULL,
        stage           integer     NULL,
        message         text        NOT NULL,
        evidence        jsonb       NOT NULL DEFAULT '{}'::jsonb,
        target_url      text        NULL,
        status          text        NOT NULL DEFAULT 'pending'
                                    CONSTRAINT alerts_status_check CHECK (status IN ('pending', 'delivered', 'failed', 'no_target')),
        attempts        integer     NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error      text        NULL,
        delivered_at    timestamptz NULL,
        created_at      timestamptz NOT NULL DEFAULT now()
      )`);
    // The sender's "due" query: pending rows by next attempt time; the index holds only those.
    await runner.query(`CREATE INDEX alerts_due_idx ON alerts (next_attempt_at) WHERE status = 'pending'`);
    // Listing newest first, paged by (created_at, id); and the same for one flag.
    await runner.query(`CREATE INDEX alerts_created_at_id_idx ON alerts (created_at DESC, id DESC)`);
    await runner.query(`CREATE INDEX alerts_flag_key_created_at_idx ON alerts (flag_key, created_at DESC)`);
    await runner.query(`
      CREATE TABLE alert_deliveries (
        id            bigserial   PRIMARY KEY,
        alert_id      uuid        NOT NULL CONSTRAINT alert_deliveries_alert_id_fkey REFERENCES alerts (id) ON DELETE CASCADE,
        attempt       integer     NOT NULL,
        attempted_at  timestamptz NOT NULL DEFAULT now(),
        target_origin text        NOT NULL,
        http_status   integer     NULL,
        error         text        NULL,
        duration_ms   integer     NOT NULL
      )`);
    await runner.query(`CREATE INDEX alert_deliveries_alert_id_attempt_idx ON alert_deliveries (alert_id, attempt)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE alert_deliveries`);
    await runner.query(`DROP TABLE alerts`);
  }
}
