import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, type Repository } from 'typeorm';
import type { ReplicaReload } from './catalog-reload.types';
import { CatalogReloadEntity } from './entities/catalog-reload.entity';

/** Channel every replica LISTENs on; the payload is `{ id, instance }` of the reload to follow. */
export const CATALOG_CHANNEL = 'switchyard_catalog';

export type NewReload = Omit<CatalogReloadEntity, 'id' | 'replicas'>;

/** Every query on `catalog_reloads`. */
@Injectable()
export class CatalogReloadsRepository {
  constructor(
    private readonly dataSource: DataSource,
    @InjectRepository(CatalogReloadEntity) private readonly reloads: Repository<CatalogReloadEntity>,
  ) {}

  /**
   * Stores a reload. One that reached a catalog (applied or unchanged) also tells every replica to
   * reload, by a NOTIFY delivered only if the row commits: no replica follows a reload nobody recorded.
   */
  record(reload: NewReload, notify: boolean): Promise<CatalogReloadEntity> {
    return this.dataSource.transaction(async (manager) => {
      const saved = await manager.getRepository(CatalogReloadEntity).save({ ...reload, replicas: [] });
      if (notify) {
        const payload = JSON.stringify({ id: saved.id, instance: saved.instance });
        await manager.query('SELECT pg_notify($1, $2)', [CATALOG_CHANNEL, payload]);
      }
      return saved;
    });
  }

  /** Another replica's outcome of reload `id` (concurrent appends serialise on the row lock). */
  async appendReplica(id: string, replica: ReplicaReload): Promise<void> {
    await this.dataSource.query(`UPDATE catalog_reloads SET replicas = replicas || $2::jsonb WHERE id = $1`, [
      id,
      JSON.stringify([replica]),
    ]);
  }

  /** Newest first; `before` is an id from a previous page. */
  list(limit: number, before?: number): Promise<CatalogReloadEntity[]> {
    const query = this.reloads.createQueryBuilder('reload').orderBy('reload.id', 'DESC').limit(limit);
    if (before !== undefined) query.where('reload.id < :before', { before });
    return query.getMany();
  }
}
