import { Check, Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';
import type { BudgetAction, BudgetPeriod, BudgetScope } from '../budget.types';

/** A spend budget: a limit in USD per period on a key, a policy or a canary's treatment. */
@Entity({ name: 'budgets' })
@Unique('budgets_scope_target_period_key', ['scope', 'target', 'period'])
@Check('budgets_scope_check', "scope IN ('key', 'policy', 'canary')")
@Check('budgets_period_check', "period IN ('day', 'week', 'month', 'total')")
@Check('budgets_on_exhausted_check', "on_exhausted IN ('reject', 'downgrade', 'shadow_only')")
@Check('budgets_limit_usd_check', 'limit_usd > 0')
@Check('budgets_version_check', 'version >= 1')
export class BudgetEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  scope: BudgetScope;

  /** The key's id, the policy's name or the canary's id. */
  @Column({ type: 'text' })
  target: string;

  /** Exact decimal (pg returns numeric as a string), the scale of request_metrics.cost_usd. */
  @Column({ name: 'limit_usd', type: 'numeric', precision: 20, scale: 12 })
  limitUsd: string;

  @Column({ type: 'text' })
  period: BudgetPeriod;

  /** IANA time zone the day, week and month periods follow. */
  @Column({ type: 'text' })
  timezone: string;

  @Column({ name: 'on_exhausted', type: 'text' })
  onExhausted: BudgetAction;

  /** Fractions of the limit that raise an alert when crossed, ascending. */
  @Column({ name: 'alert_at', type: 'double precision', array: true })
  alertAt: number[];

  /** 1 when created, +1 with every change of the definition: a PATCH or DELETE may name the one it is based on. */
  @Column({ type: 'integer', default: 1 })
  version: number;

  @Column({ name: 'created_by', type: 'text' })
  createdBy: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;
}
