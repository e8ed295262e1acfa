import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { BudgetEntity } from './budget.entity';

/** What a budget's replicas settled in one clock hour: the burn rate the forecast projects. */
@Entity({ name: 'budget_hourly_spend' })
export class BudgetHourlySpendEntity {
  @PrimaryColumn({ name: 'budget_id', type: 'uuid' })
  budgetId: string;

  @PrimaryColumn({ name: 'hour_start', type: 'timestamptz' })
  hourStart: Date;

  @ManyToOne(() => BudgetEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'budget_id', foreignKeyConstraintName: 'budget_hourly_spend_budget_id_fkey' })
  budget?: BudgetEntity;

  @Column({ name: 'spent_usd', type: 'numeric', precision: 20, scale: 12 })
  spentUsd: string;
}
