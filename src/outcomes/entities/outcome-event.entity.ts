import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A row of `outcome_events`: one reported outcome, written by OutcomeWriter in batches. */
@Entity({ name: 'outcome_events' })
@Index('outcome_events_metric_occurred_idx', ['metricKey', 'occurredAt'])
@Index('outcome_events_request_id_idx', ['requestId'])
@Index('outcome_events_user_key_idx', ['userKey', 'occurredAt'])
@Check('outcome_events_source_check', "source IN ('api', 'openfeature')")
@Check('outcome_events_subject_check', 'request_id IS NOT NULL OR user_key IS NOT NULL')
export class OutcomeEventEntity {
  /** Derived from metric and idempotency key when given (a duplicate is the same id), else random. */
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'metric_key', type: 'text' })
  metricKey: string;

  /** Binary metrics: 1 or 0. */
  @Column({ type: 'double precision' })
  value: number;

  /** Request-unit events: the request's x-switchyard-request-id. */
  @Column({ name: 'request_id', type: 'text', nullable: true })
  requestId: string | null;

  /** User-unit events: the keyed hash of the user id (as request_metrics.user_key), never the id. */
  @Column({ name: 'user_key', type: 'bigint', nullable: true })
  userKey: string | null;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt: Date;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt: Date;

  @Column({ name: 'api_key_id', type: 'uuid', nullable: true })
  apiKeyId: string | null;

  /** api: Switchyard's own shape; openfeature: the OpenFeature tracking shape. */
  @Column({ type: 'text' })
  source: 'api' | 'openfeature';
}
