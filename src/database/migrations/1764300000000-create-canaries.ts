import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Canaries and their event log. A partial unique index makes "one active canary per flag" a fact
 * of the database, not only a check in the API that two replicas could race past.
 */
export class CreateCanaries1764300000000 implements MigrationInterface {
  name = 'CreateCanaries1764300000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE canaries (
        id                   uuid        PRIMARY KEY,
        flag_key             text        NOT NULL REFERENCES flags (key),
        variant              text        NOT NULL,
        control_variant      text        NOT NULL,
        stages               jsonb       NOT NULL,
        analysis             jsonb       NOT NULL,
        max_stage_extensions integer     NOT NULL,
        alert_webhook_url    text        NULL,
        state                text        NOT NULL,
        stage_index          integer     NOT NULL DEFAULT 0,
        stage_started_at     timestamptz NULL,
        failed_checks        integer     NOT NULL DEFAULT 0,
        last_verdict         jsonb       NULL,
        last_tick_at         timestamptz NULL,
        created_by           text        NOT NULL,
        created_at           timestamptz NOT NULL DEFAULT now(),
        updated_at           timestamptz NOT NULL DEFAULT now(),
        ended_at             timestamptz NULL,
        CONSTRAINT canaries_state_check
          CHECK (state IN ('pending', 'running', 'paused', 'promoted', 'rolled_back', 'aborted'))
      )`);
    await runner.query(`
      CREATE UNIQUE INDEX canaries_one_active_per_flag_idx ON canaries (flag_key)
        WHERE state IN ('pending', 'running', 'paused')`);
    await runner.query(`CREATE INDEX canaries_state_idx ON canaries (state)`);
    await runner.query(`
      CREATE TABLE canary_events (
        id         bigserial   PRIMARY KEY,
        canary_id  uuid        NOT NULL REFERENCES canaries (id),
        at         timestamptz NOT NULL DEFAULT now(),
        type       text        NOT NULL,
        state      text        NOT NULL,
        stage      integer     NOT NULL,
        message    text        NOT NULL,
        evidence   jsonb       NULL,
        actor      text        NOT NULL,
        instance   text        NOT NULL
      )`);
    await runner.query(`CREATE INDEX canary_events_canary_id_id_idx ON canary_events (canary_id, id)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE canary_events`);
    await runner.query(`DROP TABLE canaries`);
  }
}
