import { Check, Column, Entity, PrimaryColumn } from 'typeorm';
import type { OutcomeDirection, OutcomeType, OutcomeUnit } from '../outcome.types';

/** A row of `outcome_metrics`: a defined outcome (conversion, thumbs-up, rating). Archived, never deleted. */
@Entity({ name: 'outcome_metrics' })
@Check('outcome_metrics_type_check', "type IN ('binary', 'numeric')")
@Check('outcome_metrics_direction_check', "direction IN ('higher_is_better', 'lower_is_better')")
@Check('outcome_metrics_unit_check', "unit IN ('request', 'user')")
@Check('outcome_metrics_window_check', 'attribution_window_seconds > 0')
@Check('outcome_metrics_version_check', 'version >= 1')
export class OutcomeMetricEntity {
  @PrimaryColumn({ type: 'text' })
  key: string;

  @Column({ type: 'text', default: '' })
  description: string;

  @Column({ type: 'text' })
  type: OutcomeType;

  @Column({ type: 'text' })
  direction: OutcomeDirection;

  @Column({ type: 'text' })
  unit: OutcomeUnit;

  /** How long after an exposure (a request) an outcome may still be attributed to it. */
  @Column({ name: 'attribution_window_seconds', type: 'integer' })
  attributionWindowSeconds: number;

  @Column({ type: 'integer', default: 1 })
  version: number;

  @Column({ name: 'created_by', type: 'text' })
  createdBy: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'archived_at', type: 'timestamptz', nullable: true })
  archivedAt: Date | null;
}
