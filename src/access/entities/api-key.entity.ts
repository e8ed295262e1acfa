import { Check, Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';
import type { Scope } from '../scopes';

/** A row of `api_keys`: the key's hash and visible prefix, never the key. Revoked keys stay (history, metrics). */
@Entity({ name: 'api_keys' })
@Unique('api_keys_prefix_key', ['prefix'])
@Unique('api_keys_key_hash_key', ['keyHash'])
@Check('api_keys_scopes_check', "cardinality(scopes) > 0 AND scopes <@ ARRAY['gateway', 'read', 'admin']::text[]")
@Check('api_keys_limits_check', 'requests_per_minute > 0 AND tokens_per_minute > 0')
export class ApiKeyEntity {
  // DEFAULT gen_random_uuid() in the migration (core Postgres since 13, no extension).
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  name: string;

  /** The first characters of the key (`sy_` + 10), or `env_` + 8 hex of the hash for SWITCHYARD_ADMIN_KEY. */
  @Column({ type: 'text' })
  prefix: string;

  /** SHA-256 of the whole key, hex. */
  @Column({ name: 'key_hash', type: 'text' })
  keyHash: string;

  @Column({ type: 'text', array: true })
  scopes: Scope[];

  /** null: every policy (and concrete models); otherwise only these policies. */
  @Column({ type: 'text', array: true, nullable: true })
  policies: string[] | null;

  @Column({ name: 'requests_per_minute', type: 'integer', nullable: true })
  requestsPerMinute: number | null;

  @Column({ name: 'tokens_per_minute', type: 'integer', nullable: true })
  tokensPerMinute: number | null;

  @Column({ name: 'created_by', type: 'text' })
  createdBy: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  /** Written in batches every few seconds, not per request. */
  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;
}
