import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The shadow stage (issue 16). On `canaries`: the plan's `shadow` field and the `phase` the canary
 * is in (`shadow` before its live stages, `live` from its first stage on; every canary made before
 * this is live). On `request_metrics`: `shadow` marks the rows of shadow calls (the candidate asked
 * the same request after the user's answer) and `shadow_of` names the primary request; added on the
 * partitioned parent, so every partition has them. `shadow_pairs`: one row per shadow call with
 * both sides' figures, the tools each called and agreement signals (answers only for disagreements). `shadow_spend`: the
 * stage's spend cap as one atomic counter per canary, shared by every replica.
 */
export class ShadowStage1796512585327 implements MigrationInterface {
  name = 'ShadowStage1796512585327';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE canaries ADD COLUMN shadow jsonb NULL`);
    await runner.query(`ALTER TABLE canaries ADD COLUMN phase text NOT NULL DEFAULT 'live'`);
    await runner.query(`ALTER TABLE canaries ADD CONSTRAINT canaries_phase_check CHECK (phase IN ('shadow', 'live'))`);
    await runner.query(`ALTER TABLE request_metrics ADD COLUMN shadow boolean NOT NULL DEFAULT false`);
    await runner.query(`ALTER TABLE request_metrics ADD COLUMN shadow_of text NULL`);
    await runner.query(`
      CREATE TABLE shadow_pairs (
        id uuid PRIMARY KEY,
        canary_id uuid NOT NULL,
        at timestamptz NOT NULL,
        primary_request_id text NOT NULL,
        shadow_request_id text NOT NULL,
        control_variant text NOT NULL,
        candidate_variant text NOT NULL,
        control_model text NOT NULL,
        candidate_model text NOT NULL,
        control_outcome text NOT NULL,
        candidate_outcome text NOT NULL,
        control_latency_ms double precision NOT NULL,
        candidate_latency_ms double precision NOT NULL,
        control_ttft_ms double precision NULL,
        candidate_ttft_ms double precision NULL,
        control_prompt_tokens integer NULL,
        control_completion_tokens integer NULL,
        candidate_prompt_tokens integer NULL,
        candidate_completion_tokens integer NULL,
        control_cost_usd numeric(20,12) NULL,
        candidate_cost_usd numeric(20,12) NULL,
        control_quality smallint NULL,
        candidate_quality smallint NULL,
        exact_agreement boolean NULL,
        tools_agreement boolean NULL,
        length_ratio double precision NULL,
        control_tools jsonb NULL,
        candidate_tools jsonb NULL,
        disagree boolean NOT NULL,
        control_answer text NULL,
        candidate_answer text NULL
      )`);
    await runner.query(`CREATE INDEX shadow_pairs_canary_at_idx ON shadow_pairs (canary_id, at)`);
    await runner.query(`
      CREATE TABLE shadow_spend (
        canary_id uuid PRIMARY KEY,
        cap_usd numeric(20,12) NOT NULL,
        reserved_usd numeric(20,12) NOT NULL DEFAULT 0,
        spent_usd numeric(20,12) NOT NULL DEFAULT 0,
        calls integer NOT NULL DEFAULT 0,
        refused integer NOT NULL DEFAULT 0,
        exhausted_at timestamptz NULL
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE shadow_spend`);
    await runner.query(`DROP TABLE shadow_pairs`);
    await runner.query(`ALTER TABLE request_metrics DROP COLUMN shadow_of`);
    await runner.query(`ALTER TABLE request_metrics DROP COLUMN shadow`);
    await runner.query(`ALTER TABLE canaries DROP CONSTRAINT canaries_phase_check`);
    await runner.query(`ALTER TABLE canaries DROP COLUMN phase`);
    await runner.query(`ALTER TABLE canaries DROP COLUMN shadow`);
  }
}
