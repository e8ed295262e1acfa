import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { CanaryEventType, CanaryState } from '../canary.types';
import { CanaryEntity } from './canary.entity';

/** Every transition and every verdict of a canary, with the evidence it was decided on. */
@Entity({ name: 'canary_events' })
@Index('canary_events_canary_id_id_idx', ['canaryId', 'id'])
export class CanaryEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'canary_id', type: 'uuid' })
  canaryId: string;

  @ManyToOne(() => CanaryEntity, { onDelete: 'NO ACTION' })
  @JoinColumn({ name: 'canary_id', foreignKeyConstraintName: 'canary_events_canary_id_fkey' })
  canary?: CanaryEntity;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  at: Date;

  @Column({ type: 'text' })
  type: CanaryEventType;

  /** The canary's state after the event. */
  @Column({ type: 'text' })
  state: CanaryState;

  /** Index into the canary's stages; null in its shadow stage, which comes before the first (0). */
  @Column({ type: 'integer', nullable: true })
  stage: number | null;

  @Column({ type: 'text' })
  message: string;

  @Column({ type: 'jsonb', nullable: true })
  evidence: Record<string, unknown> | null;

  @Column({ type: 'text' })
  actor: string;

  /** Which replica wrote it: shows that one replica acts per tick. */
  @Column({ type: 'text' })
  instance: string;
}
