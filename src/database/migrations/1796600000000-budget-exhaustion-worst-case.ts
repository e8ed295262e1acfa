import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What ran a budget period out, beside when: the worst case of the request that did not fit and what
 * was left for it. A budget reserves each request's worst case, so it can be used up with little
 * spent; its alerts quote both figures, and a canary's resume compares what is left with that worst case.
 */
export class BudgetExhaustionWorstCase1796600000000 implements MigrationInterface {
  name = 'BudgetExhaustionWorstCase1796600000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE budget_periods
        ADD COLUMN exhausted_worst_usd numeric(20,12) NULL,
        ADD COLUMN exhausted_left_usd  numeric(20,12) NULL`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE budget_periods DROP COLUMN exhausted_left_usd, DROP COLUMN exhausted_worst_usd`);
  }
}
