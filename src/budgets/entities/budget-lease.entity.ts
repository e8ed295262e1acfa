import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { BudgetEntity } from './budget.entity';

/**
 * Headroom of one budget period held by one replica: what it may reserve without asking Postgres.
 * Spent + the sum of the live leases never exceeds the limit; a lease not renewed by `expires_at`
 * (its replica died) no longer counts.
 */
@Entity({ name: 'budget_leases' })
@Index('budget_leases_expires_at_idx', ['expiresAt'])
export class BudgetLeaseEntity {
  @PrimaryColumn({ name: 'budget_id', type: 'uuid' })
  budgetId: string;

  @PrimaryColumn({ name: 'period_start', type: 'timestamptz' })
  periodStart: Date;

  @PrimaryColumn({ type: 'text' })
  replica: string;

  @ManyToOne(() => BudgetEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'budget_id', foreignKeyConstraintName: 'budget_leases_budget_id_fkey' })
  budget?: BudgetEntity;

  @Column({ name: 'granted_usd', type: 'numeric', precision: 20, scale: 12 })
  grantedUsd: string;

  /** The replica's reservations in flight at its last sync (part of granted). */
  @Column({ name: 'reserved_usd', type: 'numeric', precision: 20, scale: 12 })
  reservedUsd: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
