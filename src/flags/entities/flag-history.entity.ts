import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { FlagEntity } from './flag.entity';
import type { FlagAction, FlagSource } from '../flag.types';

/** A row of `flag_history`: append-only (a trigger refuses UPDATE and DELETE). */
@Entity({ name: 'flag_history' })
@Index('flag_history_flag_key_id_idx', ['flagKey', 'id'])
@Check('flag_history_source_check', "source IN ('api', 'canary', 'guardrail')")
export class FlagHistoryEntity {
  // bigserial: pg returns int8 as a string, so the id stays a string until it reaches the wire.
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'flag_key', type: 'text' })
  flagKey: string;

  /** Declared for the schema (foreign key); history is read by flagKey, never joined. */
  @ManyToOne(() => FlagEntity, { onDelete: 'NO ACTION' })
  @JoinColumn({ name: 'flag_key', foreignKeyConstraintName: 'flag_history_flag_key_fkey' })
  flag?: FlagEntity;

  @Column({ type: 'integer' })
  version: number;

  @Column({ type: 'text' })
  action: FlagAction;

  @Column({ type: 'jsonb', nullable: true })
  before: Record<string, unknown> | null;

  @Column({ type: 'jsonb' })
  after: Record<string, unknown>;

  @Column({ type: 'text' })
  actor: string;

  @Column({ type: 'text' })
  source: FlagSource;

  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  at: Date;
}
