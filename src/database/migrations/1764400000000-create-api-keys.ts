import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Team API keys and their shared per-minute usage windows. A key is stored as the SHA-256 of the
 * whole key (keys are 32 random bytes, so a fast hash is enough) next to a short visible prefix used
 * to find it; the key itself is never stored. Works on Postgres 15+.
 */
export class CreateApiKeys1764400000000 implements MigrationInterface {
  name = 'CreateApiKeys1764400000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE api_keys (
        id                  uuid        NOT NULL DEFAULT gen_random_uuid(),
        name                text        NOT NULL,
        prefix              text        NOT NULL,
        key_hash            text        NOT NULL,
        scopes              text[]      NOT NULL,
        policies            text[]      NULL,
        requests_per_minute integer     NULL,
        tokens_per_minute   integer     NULL,
        created_by          text        NOT NULL,
        created_at          timestamptz NOT NULL DEFAULT now(),
        last_used_at        timestamptz NULL,
        revoked_at          timestamptz NULL,
        CONSTRAINT api_keys_pkey PRIMARY KEY (id),
        CONSTRAINT api_keys_prefix_key UNIQUE (prefix),
        CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash),
        CONSTRAINT api_keys_scopes_check CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['gateway', 'read', 'admin']::text[]),
        CONSTRAINT api_keys_limits_check CHECK (requests_per_minute > 0 AND tokens_per_minute > 0)
      )`);
    // Fixed one-minute windows, summed across replicas (each adds its own counts every ~200 ms).
    await runner.query(`
      CREATE TABLE api_key_usage (
        key_id       uuid        NOT NULL,
        window_start timestamptz NOT NULL,
        requests     integer     NOT NULL DEFAULT 0,
        tokens       bigint      NOT NULL DEFAULT 0,
        CONSTRAINT api_key_usage_pkey PRIMARY KEY (key_id, window_start),
        CONSTRAINT api_key_usage_key_id_fkey FOREIGN KEY (key_id) REFERENCES api_keys (id) ON DELETE CASCADE
      )`);
    await runner.query(`CREATE INDEX api_key_usage_window_start_idx ON api_key_usage (window_start)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE api_key_usage`);
    await runner.query(`DROP TABLE api_keys`);
  }
}
