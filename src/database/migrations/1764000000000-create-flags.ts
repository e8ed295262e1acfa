import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Flags and their append-only history. Hand-written: jsonb columns and the history trigger are
 * clearer as SQL than as generated diffs. Works on Postgres 15+ (no 16+ syntax).
 */
export class CreateFlags1764000000000 implements MigrationInterface {
  name = 'CreateFlags1764000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE flags (
        key             text        PRIMARY KEY,
        description     text        NOT NULL DEFAULT '',
        enabled         boolean     NOT NULL DEFAULT true,
        variants        jsonb       NOT NULL,
        default_variant text        NOT NULL,
        rollout         jsonb       NOT NULL DEFAULT '{}'::jsonb,
        rules           jsonb       NOT NULL DEFAULT '[]'::jsonb,
        salt            text        NOT NULL,
        version         integer     NOT NULL DEFAULT 1 CHECK (version >= 1),
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        archived_at     timestamptz NULL
      )`);
    await runner.query(`
      CREATE TABLE flag_history (
        id       bigserial   PRIMARY KEY,
        flag_key text        NOT NULL REFERENCES flags (key),
        version  integer     NOT NULL,
        action   text        NOT NULL,
        before   jsonb       NULL,
        after    jsonb       NOT NULL,
        actor    text        NOT NULL,
        source   text        NOT NULL CHECK (source IN ('api', 'canary', 'guardrail')),
        reason   text        NULL,
        at       timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`CREATE INDEX flag_history_flag_key_id_idx ON flag_history (flag_key, id DESC)`);
    // Append-only is enforced by the database, not only by the API having no route for it.
    await runner.query(`
      CREATE FUNCTION flag_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'flag_history is append-only (% refused)', TG_OP;
      END
      $$`);
    await runner.query(`
      CREATE TRIGGER flag_history_append_only
        BEFORE UPDATE OR DELETE ON flag_history
        FOR EACH ROW EXECUTE FUNCTION flag_history_append_only()`);
    await runner.query(`
      CREATE TRIGGER flag_history_no_truncate
        BEFORE TRUNCATE ON flag_history
        FOR EACH STATEMENT EXECUTE FUNCTION flag_history_append_only()`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE flag_history`);
    await runner.query(`DROP FUNCTION flag_history_append_only()`);
    await runner.query(`DROP TABLE flags`);
  }
}
