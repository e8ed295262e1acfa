import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { FlagEntity } from '../../flags/entities/flag.entity';
import type { CanaryAnalysis, CanaryPhase, CanaryStage, CanaryState, ShadowPlan, StoredVerdict } from '../canary.types';

@Entity({ name: 'canaries' })
@Check('canaries_phase_check', "phase IN ('shadow', 'live')")
@Check('canaries_state_check', "state IN ('pending', 'running', 'paused', 'promoted', 'rolled_back', 'aborted')")
@Index('canaries_one_active_per_flag_idx', ['flagKey'], {
  unique: true,
  where: "state IN ('pending', 'running', 'paused')",
})
@Index('canaries_state_idx', ['state'])
@Index('canaries_created_at_id_idx', ['createdAt', 'id'])
@Index('canaries_flag_key_created_at_idx', ['flagKey', 'createdAt'])
export class CanaryEntity {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'flag_key', type: 'text' })
  flagKey: string;

  @ManyToOne(() => FlagEntity, { onDelete: 'NO ACTION' })
  @JoinColumn({ name: 'flag_key', foreignKeyConstraintName: 'canaries_flag_key_fkey' })
  flag?: FlagEntity;

  @Column({ type: 'text' })
  variant: string;

  /** The flag's default variant when the canary was created: what the treatment is compared with. */
  @Column({ name: 'control_variant', type: 'text' })
  controlVariant: string;

  @Column({ type: 'jsonb' })
  stages: CanaryStage[];

  @Column({ type: 'jsonb' })
  analysis: CanaryAnalysis;

  /** The shadow stage the plan starts with (null: none): the candidate tried on copies before any user sees it. */
  @Column({ type: 'jsonb', nullable: true })
  shadow: ShadowPlan | null;

  /** `shadow` while the shadow stage runs (stage_index 0 waits, its weight 0), `live` from the first stage on. */
  @Column({ type: 'text', default: 'live' })
  phase: CanaryPhase;

  @Column({ name: 'max_stage_extensions', type: 'integer' })
  maxStageExtensions: number;

  @Column({ name: 'alert_webhook_url', type: 'text', nullable: true })
  alertWebhookUrl: string | null;

  @Column({ type: 'text' })
  state: CanaryState;

  @Column({ name: 'stage_index', type: 'integer', default: 0 })
  stageIndex: number;

  @Column({ name: 'stage_started_at', type: 'timestamptz', nullable: true })
  stageStartedAt: Date | null;

  /**
   * The flag's version once the stage's weights were written: the stage's window counts requests
   * routed by it or a later version, not those routed by the previous stage's weights on a replica
   * (or in the moment before the NOTIFY came back) that had not seen the change yet. Null for a
   * stage started before the column existed: its window counts every row, as it did.
   */
  @Column({ name: 'stage_flag_version', type: 'integer', nullable: true })
  stageFlagVersion: number | null;

  @Column({ name: 'last_verdict', type: 'jsonb', nullable: true })
  lastVerdict: StoredVerdict | null;

  @Column({ name: 'last_tick_at', type: 'timestamptz', nullable: true })
  lastTickAt: Date | null;

  /**
   * The start of the last tick period judged. Claimed by a conditional UPDATE in the judging
   * transaction, so however many replicas tick, a period gets one verdict. A time rather than a
   * period number, so it stays comparable when CANARY_TICK_SECONDS changes.
   */
  @Column({ name: 'last_slot_start', type: 'timestamptz', nullable: true })
  lastSlotStart: Date | null;

  @Column({ name: 'created_by', type: 'text' })
  createdBy: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt: Date | null;
}
