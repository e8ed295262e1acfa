import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The last tick that failed on a canary: why, when, on which replica. No foreign key: its check
 * would wait on the canary row's lock, which may be what the tick failed on. Raw SQL only
 * (CanariesRepository); declared for migration:generate.
 */
@Entity({ name: 'canary_tick_failures' })
export class CanaryTickFailureEntity {
  @PrimaryColumn({ name: 'canary_id', type: 'uuid' })
  canaryId: string;

  @Column({ name: 'failed_at', type: 'timestamptz' })
  failedAt: Date;

  @Column({ type: 'text' })
  reason: string;

  @Column({ type: 'text' })
  instance: string;
}
