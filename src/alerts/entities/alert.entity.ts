import { Check, Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';
import type { AlertSeverity, AlertStatus, AlertType } from '../alert.types';

/** A row of `alerts`, the outbox (see the CreateAlerts migration). */
@Entity({ name: 'alerts' })
@Unique('alerts_dedup_key_key', ['dedupKey'])
@Index('alerts_due_idx', ['nextAttemptAt'], { where: "status = 'pending'" })
@Index('alerts_created_at_id_idx', ['createdAt', 'id'])
@Index('alerts_flag_key_created_at_idx', ['flagKey', 'createdAt'])
@Check('alerts_severity_check', "severity IN ('info', 'warning', 'critical')")
@Check('alerts_status_check', "status IN ('pending', 'delivered', 'failed', 'no_target')")
export class AlertEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  type: AlertType;

  @Column({ type: 'text' })
  severity: AlertSeverity;

  @Column({ name: 'dedup_key', type: 'text' })
  dedupKey: string;

  @Column({ name: 'flag_key', type: 'text', nullable: true })
  flagKey: string | null;

  /** No foreign key: canaries may be created after this table, and alerts outlive what they report on. */
  @Column({ name: 'canary_id', type: 'uuid', nullable: true })
  canaryId: string | null;

  @Column({ type: 'integer', nullable: true })
  stage: number | null;

  @Column({ type: 'text' })
  message: string;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  evidence: Record<string, unknown>;

  /** Secret (may be a Slack hook URL): never logged or returned, only its origin. */
  @Column({ name: 'target_url', type: 'text', nullable: true })
  targetUrl: string | null;

  @Column({ type: 'text', default: 'pending' })
  status: AlertStatus;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  /** Pending: when the sender may take it (a claim pushes it forward as a lease). */
  @Column({ name: 'next_attempt_at', type: 'timestamptz', default: () => 'now()' })
  nextAttemptAt: Date;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}
