import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, type EntityManager, type Repository } from 'typeorm';
import { LockKey, lockForTransaction } from '../database/advisory-locks';
import { ApiKeyEntity } from './entities/api-key.entity';
import type { Scope } from './scopes';

/** Channel every replica LISTENs on; the payload is the id of the key created or revoked. */
export const API_KEYS_CHANNEL = 'switchyard_api_keys';

export interface NewApiKeyRow {
  name: string;
  prefix: string;
  keyHash: string;
  scopes: Scope[];
  policies: string[] | null;
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  createdBy: string;
}

/** Every query on `api_keys`. */
@Injectable()
export class ApiKeysRepository {
  constructor(
    @InjectRepository(ApiKeyEntity) private readonly keys: Repository<ApiKeyEntity>,
    private readonly dataSource: DataSource,
  ) {}

  findAll(): Promise<ApiKeyEntity[]> {
    return this.keys.find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  findById(id: string): Promise<ApiKeyEntity | null> {
    return this.keys.findOneBy({ id });
  }

  count(manager: EntityManager): Promise<number> {
    return manager.getRepository(ApiKeyEntity).count();
  }

  /** Inserts and NOTIFYs in one statement's transaction; null when the prefix or hash is taken. */
  async insert(manager: EntityManager, row: NewApiKeyRow): Promise<ApiKeyEntity | null> {
    const rows: Array<{ id: string }> = await manager.query(
      `INSERT INTO api_keys (name, prefix, key_hash, scopes, policies, requests_per_minute, tokens_per_minute, created_by)
       VALUES ($1, $2, $3, $4::text[], $5::text[], $6, $7, $8)
       ON CONFLICT DO NOTHING
       RETURNING id`,
      [
        row.name,
        row.prefix,
        row.keyHash,
        row.scopes,
        row.policies,
        row.requestsPerMinute,
        row.tokensPerMinute,
        row.createdBy,
      ],
    );
    if (rows.length === 0) return null;
    await this.notifyChanged(manager, rows[0].id);
    return manager.getRepository(ApiKeyEntity).findOneByOrFail({ id: rows[0].id });
  }

  findByHash(manager: EntityManager, keyHash: string): Promise<ApiKeyEntity | null> {
    return manager.getRepository(ApiKeyEntity).findOneBy({ keyHash });
  }

  /**
   * Sets revoked_at unless it is set already, or unless the key is the last admin key not revoked:
   * without one, nobody could manage keys again until a restart with a new SWITCHYARD_ADMIN_KEY.
   * Returns the row either way (null: no such key). Under the admin-key lock, so two admins revoking
   * each other at once cannot both succeed.
   */
  async revoke(id: string): Promise<{ key: ApiKeyEntity; revokedNow: boolean; lastAdmin: boolean } | null> {
    return this.dataSource.transaction(async (manager) => {
      await lockForTransaction(manager, LockKey.BootstrapAdminKey);
      const rows: unknown[] = await manager.query(
        `UPDATE api_keys SET revoked_at = now()
          WHERE id = $1 AND revoked_at IS NULL
            AND (NOT 'admin' = ANY(scopes)
                 OR EXISTS (SELECT 1 FROM api_keys AS other
                             WHERE other.id <> $1 AND other.revoked_at IS NULL AND 'admin' = ANY(other.scopes)))
          RETURNING id`,
        [id],
      );
      const updated = Array.isArray(rows[0]) ? (rows[0] as unknown[]) : rows;
      if (updated.length > 0) await this.notifyChanged(manager, id);
      const key = await manager.getRepository(ApiKeyEntity).findOneBy({ id });
      if (!key) return null;
      const revokedNow = updated.length > 0;
      return { key, revokedNow, lastAdmin: !revokedNow && key.revokedAt === null };
    });
  }

  /** One statement for every key used since the last call. */
  /** Each key's last use (epoch ms), never moved back by a batch that arrives late. */
  async touch(uses: ReadonlyMap<string, number>): Promise<void> {
    await this.dataSource.query(
      `UPDATE api_keys AS k SET last_used_at = greatest(coalesce(k.last_used_at, u.at), u.at)
         FROM unnest($1::uuid[], $2::float8[]) AS used(id, ms), LATERAL (SELECT to_timestamp(used.ms / 1000) AS at) AS u
        WHERE k.id = used.id`,
      [[...uses.keys()], [...uses.values()]],
    );
  }

  /** Delivered to every replica (this one too) only if the transaction commits. */
  private async notifyChanged(manager: EntityManager, id: string): Promise<void> {
    await manager.query('SELECT pg_notify($1, $2)', [API_KEYS_CHANNEL, id]);
  }
}
