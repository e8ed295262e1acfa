import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity';

/**
 * One key's counts in one fixed minute, summed over every replica. Written only through raw SQL
 * (ApiKeyUsageRepository's upsert); declared so the schema is complete for migration:generate.
 */
@Entity({ name: 'api_key_usage' })
@Index('api_key_usage_window_start_idx', ['windowStart'])
export class ApiKeyUsageEntity {
  @PrimaryColumn({ name: 'key_id', type: 'uuid' })
  keyId: string;

  @PrimaryColumn({ name: 'window_start', type: 'timestamptz' })
  windowStart: Date;

  @ManyToOne(() => ApiKeyEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'key_id', foreignKeyConstraintName: 'api_key_usage_key_id_fkey' })
  key?: ApiKeyEntity;

  @Column({ type: 'integer', default: 0 })
  requests: number;

  // bigint: pg returns int8 as a string.
  @Column({ type: 'bigint', default: 0 })
  tokens: string;
}
