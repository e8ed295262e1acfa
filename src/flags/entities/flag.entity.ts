import { Check, Column, Entity, PrimaryColumn } from 'typeorm';
import type { FlagRule, FlagVariant } from '../flag.types';

/** A row of `flags` (see the CreateFlags migration). Weights are basis points. */
@Entity({ name: 'flags' })
@Check('flags_version_check', 'version >= 1')
export class FlagEntity {
  @PrimaryColumn({ type: 'text' })
  key: string;

  @Column({ type: 'text', default: '' })
  description: string;

  @Column({ type: 'boolean', default: true })
  enabled: boolean;

  @Column({ type: 'jsonb' })
  /** Variant name -> a catalog model id, or { model, params?, systemPrompt? }. */
  variants: Record<string, FlagVariant>;

  @Column({ name: 'default_variant', type: 'text' })
  defaultVariant: string;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  rollout: Record<string, number>;

  @Column({ type: 'jsonb', default: () => "'[]'" })
  rules: FlagRule[];

  @Column({ type: 'text' })
  salt: string;

  @Column({ type: 'integer', default: 1 })
  version: number;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;

  @Column({ name: 'archived_at', type: 'timestamptz', nullable: true })
  archivedAt: Date | null;
}
