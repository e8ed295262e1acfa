import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Budgets get the flags' optimistic concurrency: a version, +1 with every change of the definition,
 * that a PATCH or DELETE may name so that an operator's change made on a budget someone else changed
 * meanwhile is refused (409) instead of silently undoing theirs. Budgets that exist are at version 1.
 * A constant default: Postgres adds the column without rewriting the table.
 */
export class BudgetVersion1796680000000 implements MigrationInterface {
  name = 'BudgetVersion1796680000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(
      `ALTER TABLE budgets ADD COLUMN version integer NOT NULL DEFAULT 1 CONSTRAINT budgets_version_check CHECK (version >= 1)`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE budgets DROP COLUMN version`);
  }
}
