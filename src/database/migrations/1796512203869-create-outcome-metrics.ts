import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outcome metric definitions (conversions, thumbs-up, ratings) and their history. A definition is
 * archived, never deleted: events and canary verdicts keep naming it. The history is append-only,
 * like flag_history: a trigger refuses UPDATE, DELETE and TRUNCATE.
 */
export class CreateOutcomeMetrics1796512203869 implements MigrationInterface {
  name = 'CreateOutcomeMetrics1796512203869';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE outcome_metrics (
        key                        text        NOT NULL,
        description                text        NOT NULL DEFAULT '',
        type                       text        NOT NULL,
        direction                  text        NOT NULL,
        unit                       text        NOT NULL,
        attribution_window_seconds integer     NOT NULL,
        version                    integer     NOT NULL DEFAULT 1,
        created_by                 text        NOT NULL,
        created_at                 timestamptz NOT NULL,
        updated_at                 timestamptz NOT NULL,
        archived_at                timestamptz NULL,
        CONSTRAINT outcome_metrics_pkey PRIMARY KEY (key),
        CONSTRAINT outcome_metrics_type_check CHECK (type IN ('binary', 'numeric')),
        CONSTRAINT outcome_metrics_direction_check CHECK (direction IN ('higher_is_better', 'lower_is_better')),
        CONSTRAINT outcome_metrics_unit_check CHECK (unit IN ('request', 'user')),
        CONSTRAINT outcome_metrics_window_check CHECK (attribution_window_seconds > 0),
        CONSTRAINT outcome_metrics_version_check CHECK (version >= 1)
      )`);
    await runner.query(`
      CREATE TABLE outcome_metric_history (
        id         bigserial   NOT NULL,
        metric_key text        NOT NULL,
        version    integer     NOT NULL,
        action     text        NOT NULL,
        before     jsonb       NULL,
        after      jsonb       NOT NULL,
        actor      text        NOT NULL,
        reason     text        NULL,
        at         timestamptz NOT NULL,
        CONSTRAINT outcome_metric_history_pkey PRIMARY KEY (id),
        CONSTRAINT outcome_metric_history_metric_key_fkey FOREIGN KEY (metric_key) REFERENCES outcome_metrics (key),
        CONSTRAINT outcome_metric_history_action_check CHECK (action IN ('created', 'updated', 'archived'))
      )`);
    await runner.query(`CREATE INDEX outcome_metric_history_key_id_idx ON outcome_metric_history (metric_key, id)`);
    await runner.query(`
      CREATE FUNCTION outcome_metric_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'outcome_metric_history is append-only (% refused)', TG_OP;
      END
      $$`);
    await runner.query(`
      CREATE TRIGGER outcome_metric_history_append_only
        BEFORE UPDATE OR DELETE ON outcome_metric_history
        FOR EACH ROW EXECUTE FUNCTION outcome_metric_history_append_only()`);
    await runner.query(`
      CREATE TRIGGER outcome_metric_history_no_truncate
        BEFORE TRUNCATE ON outcome_metric_history
        FOR EACH STATEMENT EXECUTE FUNCTION outcome_metric_history_append_only()`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE outcome_metric_history`);
    await runner.query(`DROP FUNCTION outcome_metric_history_append_only()`);
    await runner.query(`DROP TABLE outcome_metrics`);
  }
}
