import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { BudgetEntity } from './budget.entity';

/**
 * The shared ledger of one budget period: what every replica settled into it, and which alerts it
 * raised. Written only by BudgetPeriodsRepository's raw SQL, under this row's lock.
 */
@Entity({ name: 'budget_periods' })
export class BudgetPeriodEntity {
  @PrimaryColumn({ name: 'budget_id', type: 'uuid' })
  budgetId: string;

  @PrimaryColumn({ name: 'period_start', type: 'timestamptz' })
  periodStart: Date;

  @ManyToOne(() => BudgetEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'budget_id', foreignKeyConstraintName: 'budget_periods_budget_id_fkey' })
  budget?: BudgetEntity;

  /** null: a 'total' period, which never ends. */
  @Column({ name: 'period_end', type: 'timestamptz', nullable: true })
  periodEnd: Date | null;

  @Column({ name: 'spent_usd', type: 'numeric', precision: 20, scale: 12, default: 0 })
  spentUsd: string;

  /** The alertAt thresholds already raised in this period. */
  @Column({ name: 'alerted_at', type: 'double precision', array: true, default: () => "'{}'" })
  alertedAt: number[];

  /** When a request was first refused (or downgraded, or sent to the control) for this budget. */
  @Column({ name: 'exhausted_at', type: 'timestamptz', nullable: true })
  exhaustedAt: Date | null;

  /** The worst case of that first request, which did not fit in what was left (exhausted_left_usd). */
  @Column({ name: 'exhausted_worst_usd', type: 'numeric', precision: 20, scale: 12, nullable: true })
  exhaustedWorstUsd: string | null;

  @Column({ name: 'exhausted_left_usd', type: 'numeric', precision: 20, scale: 12, nullable: true })
  exhaustedLeftUsd: string | null;

  @Column({ name: 'burn_alerted_at', type: 'timestamptz', nullable: true })
  burnAlertedAt: Date | null;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;
}
