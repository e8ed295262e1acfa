import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import { FlagEntity } from './entities/flag.entity';
import type { FlagArchivedFilter, FlagDefinition } from './flag.types';

/** Channel every replica LISTENs on; the payload is the changed flag's key. */
export const FLAGS_CHANNEL = 'switchyard_flags';

export type FlagChanges = Partial<
  Pick<
    FlagDefinition,
    'description' | 'enabled' | 'variants' | 'defaultVariant' | 'rollout' | 'rules' | 'salt' | 'archivedAt'
  >
>;

export interface FlagListFilter {
  archived: FlagArchivedFilter;
  search?: string;
}

const COLUMNS: Record<keyof FlagChanges, { column: string; json: boolean }> = {
  description: { column: 'description', json: false },
  enabled: { column: 'enabled', json: false },
  variants: { column: 'variants', json: true },
  defaultVariant: { column: 'default_variant', json: false },
  rollout: { column: 'rollout', json: true },
  rules: { column: 'rules', json: true },
  salt: { column: 'salt', json: false },
  archivedAt: { column: 'archived_at', json: false },
};

/** Every query on `flags`. Writes take the transaction's EntityManager so history goes in with them. */
@Injectable()
export class FlagsRepository {
  constructor(@InjectRepository(FlagEntity) private readonly flags: Repository<FlagEntity>) {}

  /** Every active (not archived) flag, by key: what the cache serves and the guardrail watches. */
  findAll(): Promise<FlagEntity[]> {
    return this.flags.createQueryBuilder('flag').where('flag.archived_at IS NULL').orderBy('flag.key', 'ASC').getMany();
  }

  /**
   * One page by key (keyset: `after` is the last key of the previous page, so a flag created meanwhile
   * moves no other across pages). `search` is matched as plain text, letter case aside: strpos, not
   * LIKE, so `%` and `_` mean themselves.
   */
  findPage(filter: FlagListFilter, limit: number, after?: string): Promise<FlagEntity[]> {
    const query = this.flags.createQueryBuilder('flag').orderBy('flag.key', 'ASC').limit(limit);
    if (filter.archived === 'true') query.andWhere('flag.archived_at IS NOT NULL');
    if (filter.archived === 'false') query.andWhere('flag.archived_at IS NULL');
    if (filter.search !== undefined)
      query.andWhere('(strpos(lower(flag.key), :search) > 0 OR strpos(lower(flag.description), :search) > 0)', {
        search: filter.search.toLowerCase(),
      });
    if (after !== undefined) query.andWhere('flag.key > :after', { after });
    return query.getMany();
  }

  findByKey(key: string): Promise<FlagEntity | null> {
    return this.flags.findOneBy({ key });
  }

  /** Reads and row-locks a flag inside a transaction, so the change is computed from what it replaces. */
  findForUpdate(manager: EntityManager, key: string): Promise<FlagEntity | null> {
    return manager
      .getRepository(FlagEntity)
      .createQueryBuilder('flag')
      .setLock('pessimistic_write')
      .where('flag.key = :key', { key })
      .getOne();
  }

  /** Inserts version 1; returns null when the key is taken (by an active or an archived flag). */
  async insert(
    manager: EntityManager,
    at: Date,
    flag: Omit<FlagDefinition, 'version' | 'createdAt' | 'updatedAt' | 'archivedAt'>,
  ): Promise<FlagEntity | null> {
    const rows: unknown[] = await manager.query(
      `INSERT INTO flags (key, description, enabled, variants, default_variant, rollout, rules, salt, version, created_at, updated_at)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6::jsonb, $7::jsonb, $8, 1, $9, $9)
       ON CONFLICT (key) DO NOTHING
       RETURNING key`,
      [
        flag.key,
        flag.description,
        flag.enabled,
        JSON.stringify(flag.variants),
        flag.defaultVariant,
        JSON.stringify(flag.rollout),
        JSON.stringify(flag.rules),
        flag.salt,
        at,
      ],
    );
    if (rows.length === 0) return null;
    return manager.getRepository(FlagEntity).findOneByOrFail({ key: flag.key });
  }

  /**
   * Optimistic concurrency: applies the changes only if the row is still at `expectedVersion`, and
   * bumps the version. Returns null (nothing written) when another change got there first. `at` is
   * the clock's time: the guardrail judges a variant only on traffic since the flag's last change.
   */
  async updateIfVersion(
    manager: EntityManager,
    key: string,
    expectedVersion: number,
    changes: FlagChanges,
    at: Date,
  ): Promise<FlagEntity | null> {
    const sets: string[] = [];
    const params: unknown[] = [key, expectedVersion, at];
    for (const [field, value] of Object.entries(changes) as [keyof FlagChanges, unknown][]) {
      if (value === undefined) continue;
      const { column, json } = COLUMNS[field];
      params.push(json ? JSON.stringify(value) : value);
      sets.push(`${column} = $${params.length}${json ? '::jsonb' : ''}`);
    }
    const rows: unknown[] = await manager.query(
      `UPDATE flags SET ${[...sets, 'version = version + 1', 'updated_at = $3'].join(', ')}
       WHERE key = $1 AND version = $2
       RETURNING key`,
      params,
    );
    // pg returns [rows, count] for UPDATE ... RETURNING through TypeORM's postgres driver.
    const updated = Array.isArray(rows[0]) ? (rows[0] as unknown[]) : rows;
    if (updated.length === 0) return null;
    return manager.getRepository(FlagEntity).findOneByOrFail({ key });
  }

  /** Tells every replica (this one included) to reload `key`; delivered only if the transaction commits. */
  async notifyChanged(manager: EntityManager, key: string): Promise<void> {
    await manager.query('SELECT pg_notify($1, $2)', [FLAGS_CHANNEL, key]);
  }
}
