import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The record of catalog reloads: who asked (an API key or SIGHUP), when, on which replica, what
 * changed or why it was refused, and how each other replica took it when told through NOTIFY.
 */
export class CreateCatalogReloads1764600000000 implements MigrationInterface {
  name = 'CreateCatalogReloads1764600000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE catalog_reloads (
        id       bigserial   NOT NULL,
        at       timestamptz NOT NULL DEFAULT now(),
        actor    text        NOT NULL,
        trigger  text        NOT NULL,
        instance text        NOT NULL,
        source   text        NOT NULL,
        outcome  text        NOT NULL,
        sha256   text        NULL,
        changes  jsonb       NOT NULL DEFAULT '[]',
        problems jsonb       NOT NULL DEFAULT '[]',
        replicas jsonb       NOT NULL DEFAULT '[]',
        CONSTRAINT catalog_reloads_pkey PRIMARY KEY (id),
        CONSTRAINT catalog_reloads_trigger_check CHECK (trigger IN ('api', 'signal')),
        CONSTRAINT catalog_reloads_outcome_check CHECK (outcome IN ('applied', 'unchanged', 'refused'))
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE catalog_reloads`);
  }
}
