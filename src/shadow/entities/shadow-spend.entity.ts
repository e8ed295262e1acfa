import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A shadow stage's spend, one row per canary shared by every replica: a call reserves its worst
 * case with one conditional UPDATE (never past `cap_usd`), and settles to its real cost after.
 */
@Entity({ name: 'shadow_spend' })
export class ShadowSpendEntity {
  @PrimaryColumn({ name: 'canary_id', type: 'uuid' })
  canaryId: string;

  @Column({ name: 'cap_usd', type: 'numeric', precision: 20, scale: 12 })
  capUsd: string;

  /** Worst cases of the calls in flight. */
  @Column({ name: 'reserved_usd', type: 'numeric', precision: 20, scale: 12, default: 0 })
  reservedUsd: string;

  @Column({ name: 'spent_usd', type: 'numeric', precision: 20, scale: 12, default: 0 })
  spentUsd: string;

  @Column({ type: 'integer', default: 0 })
  calls: number;

  /** Calls refused because their worst case no longer fitted under the cap. */
  @Column({ type: 'integer', default: 0 })
  refused: number;

  /** When a call was first refused for the cap: the stage ends early. */
  @Column({ name: 'exhausted_at', type: 'timestamptz', nullable: true })
  exhaustedAt: Date | null;
}
