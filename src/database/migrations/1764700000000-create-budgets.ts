import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Spend budgets: the budgets themselves, the shared ledger of each period, the replicas' leases of
 * headroom, the hourly spend the forecast reads, and on request_metrics the budget that acted on a
 * request (reject, downgrade, shadow_only). Adding nullable columns to the partitioned parent adds
 * them to every partition without rewriting a row.
 */
export class CreateBudgets1764700000000 implements MigrationInterface {
  name = 'CreateBudgets1764700000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE budgets (
        id           uuid             NOT NULL DEFAULT gen_random_uuid(),
        scope        text             NOT NULL,
        target       text             NOT NULL,
        limit_usd    numeric(20,12)   NOT NULL,
        period       text             NOT NULL,
        timezone     text             NOT NULL,
        on_exhausted text             NOT NULL,
        alert_at     double precision[] NOT NULL,
        created_by   text             NOT NULL,
        created_at   timestamptz      NOT NULL DEFAULT now(),
        updated_at   timestamptz      NOT NULL DEFAULT now(),
        CONSTRAINT budgets_pkey PRIMARY KEY (id),
        CONSTRAINT budgets_scope_target_period_key UNIQUE (scope, target, period),
        CONSTRAINT budgets_scope_check CHECK (scope IN ('key', 'policy', 'canary')),
        CONSTRAINT budgets_period_check CHECK (period IN ('day', 'week', 'month', 'total')),
        CONSTRAINT budgets_on_exhausted_check CHECK (on_exhausted IN ('reject', 'downgrade', 'shadow_only')),
        CONSTRAINT budgets_limit_usd_check CHECK (limit_usd > 0)
      )`);
    await runner.query(`
      CREATE TABLE budget_periods (
        budget_id       uuid             NOT NULL,
        period_start    timestamptz      NOT NULL,
        period_end      timestamptz      NULL,
        spent_usd       numeric(20,12)   NOT NULL DEFAULT 0,
        alerted_at      double precision[] NOT NULL DEFAULT '{}',
        exhausted_at    timestamptz      NULL,
        burn_alerted_at timestamptz      NULL,
        updated_at      timestamptz      NOT NULL DEFAULT now(),
        CONSTRAINT budget_periods_pkey PRIMARY KEY (budget_id, period_start),
        CONSTRAINT budget_periods_budget_id_fkey FOREIGN KEY (budget_id) REFERENCES budgets (id) ON DELETE CASCADE
      )`);
    await runner.query(`
      CREATE TABLE budget_leases (
        budget_id    uuid           NOT NULL,
        period_start timestamptz    NOT NULL,
        replica      text           NOT NULL,
        granted_usd  numeric(20,12) NOT NULL,
        reserved_usd numeric(20,12) NOT NULL,
        expires_at   timestamptz    NOT NULL,
        updated_at   timestamptz    NOT NULL,
        CONSTRAINT budget_leases_pkey PRIMARY KEY (budget_id, period_start, replica),
        CONSTRAINT budget_leases_budget_id_fkey FOREIGN KEY (budget_id) REFERENCES budgets (id) ON DELETE CASCADE
      )`);
    await runner.query(`CREATE INDEX budget_leases_expires_at_idx ON budget_leases (expires_at)`);
    await runner.query(`
      CREATE TABLE budget_hourly_spend (
        budget_id  uuid           NOT NULL,
        hour_start timestamptz    NOT NULL,
        spent_usd  numeric(20,12) NOT NULL,
        CONSTRAINT budget_hourly_spend_pkey PRIMARY KEY (budget_id, hour_start),
        CONSTRAINT budget_hourly_spend_budget_id_fkey FOREIGN KEY (budget_id) REFERENCES budgets (id) ON DELETE CASCADE
      )`);
    await runner.query(
      `ALTER TABLE request_metrics ADD COLUMN budget_id uuid NULL, ADD COLUMN budget_action text NULL`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE request_metrics DROP COLUMN budget_action, DROP COLUMN budget_id`);
    await runner.query(`DROP TABLE budget_hourly_spend`);
    await runner.query(`DROP TABLE budget_leases`);
    await runner.query(`DROP TABLE budget_periods`);
    await runner.query(`DROP TABLE budgets`);
  }
}
