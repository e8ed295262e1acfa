import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { OutcomeHistoryAction } from '../outcome.types';
import { OutcomeMetricEntity } from './outcome-metric.entity';

/** A row of `outcome_metric_history`: append-only (a trigger refuses UPDATE, DELETE and TRUNCATE). */
@Entity({ name: 'outcome_metric_history' })
@Index('outcome_metric_history_key_id_idx', ['metricKey', 'id'])
@Check('outcome_metric_history_action_check', "action IN ('created', 'updated', 'archived')")
export class OutcomeMetricHistoryEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'metric_key', type: 'text' })
  metricKey: string;

  /** Declared for the schema (foreign key); history is read by key, never joined. */
  @ManyToOne(() => OutcomeMetricEntity, { onDelete: 'NO ACTION' })
  @JoinColumn({ name: 'metric_key', foreignKeyConstraintName: 'outcome_metric_history_metric_key_fkey' })
  metric?: OutcomeMetricEntity;

  @Column({ type: 'integer' })
  version: number;

  @Column({ type: 'text' })
  action: OutcomeHistoryAction;

  @Column({ type: 'jsonb', nullable: true })
  before: Record<string, unknown> | null;

  @Column({ type: 'jsonb' })
  after: Record<string, unknown>;

  @Column({ type: 'text' })
  actor: string;

  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @Column({ type: 'timestamptz' })
  at: Date;
}
