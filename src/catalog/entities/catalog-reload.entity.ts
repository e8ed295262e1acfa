import { Check, Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { CatalogChangeEntry, ReloadOutcome, ReloadTrigger, ReplicaReload } from '../catalog-reload.types';

/** A row of `catalog_reloads`: who reloaded the catalog, when, what changed, and how every replica took it. */
@Entity({ name: 'catalog_reloads' })
@Check('catalog_reloads_trigger_check', "trigger IN ('api', 'signal')")
@Check('catalog_reloads_outcome_check', "outcome IN ('applied', 'unchanged', 'refused')")
export class CatalogReloadEntity {
  // bigserial: pg returns int8 as a string, so the id stays a string until it reaches the wire.
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  at: Date;

  /** The API key (`key:<id> (<name>)`) or the signal (`signal:SIGHUP`). */
  @Column({ type: 'text' })
  actor: string;

  @Column({ type: 'text' })
  trigger: ReloadTrigger;

  /** The replica that read the catalog first and told the others. */
  @Column({ type: 'text' })
  instance: string;

  /** The catalog file (or "default catalog"). */
  @Column({ type: 'text' })
  source: string;

  @Column({ type: 'text' })
  outcome: ReloadOutcome;

  /** The catalog read (its content, never its keys); null when it could not be read or parsed. */
  @Column({ type: 'text', nullable: true })
  sha256: string | null;

  @Column({ type: 'jsonb', default: () => "'[]'" })
  changes: CatalogChangeEntry[];

  @Column({ type: 'jsonb', default: () => "'[]'" })
  problems: string[];

  /** Every other replica's outcome, appended as each one reloads. */
  @Column({ type: 'jsonb', default: () => "'[]'" })
  replicas: ReplicaReload[];
}
