import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { AlertEntity } from './alert.entity';

/** A row of `alert_deliveries`: one attempt to post an alert, whatever its outcome. */
@Entity({ name: 'alert_deliveries' })
@Index('alert_deliveries_alert_id_attempt_idx', ['alertId', 'attempt'])
export class AlertDeliveryEntity {
  // bigserial: pg returns int8 as a string.
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'alert_id', type: 'uuid' })
  alertId: string;

  /** Declared for the schema (foreign key); deliveries are read by alertId, never joined. */
  @ManyToOne(() => AlertEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'alert_id', foreignKeyConstraintName: 'alert_deliveries_alert_id_fkey' })
  alert?: AlertEntity;

  /** 1 for the first attempt. */
  @Column({ type: 'integer' })
  attempt: number;

  @Column({ name: 'attempted_at', type: 'timestamptz', default: () => 'now()' })
  attemptedAt: Date;

  /** Scheme and host the attempt went to (never the path: it can hold a token). */
  @Column({ name: 'target_origin', type: 'text' })
  targetOrigin: string;

  /** The webhook's answer; null when none came (refused connection, timeout). */
  @Column({ name: 'http_status', type: 'integer', nullable: true })
  httpStatus: number | null;

  /** Null on success. */
  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ name: 'duration_ms', type: 'integer' })
  durationMs: number;
}
