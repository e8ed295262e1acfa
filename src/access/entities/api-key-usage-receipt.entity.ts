import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * The last sync of one replica's rate-limit counts that Postgres committed. Written by the same
 * statement as the counts and read back when a sync went unanswered, so its requests are counted
 * once. Raw SQL only (ApiKeyUsageRepository); declared for migration:generate.
 */
@Entity({ name: 'api_key_usage_receipts' })
@Index('api_key_usage_receipts_updated_at_idx', ['updatedAt'])
export class ApiKeyUsageReceiptEntity {
  @PrimaryColumn({ type: 'text' })
  replica: string;

  // bigint: pg returns int8 as a string.
  @Column({ name: 'last_sync', type: 'bigint' })
  lastSync: string;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
