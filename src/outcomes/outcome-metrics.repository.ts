import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import { OutcomeMetricEntity } from './entities/outcome-metric.entity';

export type OutcomeMetricChanges = Partial<
  Pick<OutcomeMetricEntity, 'description' | 'direction' | 'attributionWindowSeconds' | 'archivedAt'>
> & { updatedAt: Date };

/** Every query on `outcome_metrics`. */
@Injectable()
export class OutcomeMetricsRepository {
  constructor(@InjectRepository(OutcomeMetricEntity) private readonly metrics: Repository<OutcomeMetricEntity>) {}

  findAll(): Promise<OutcomeMetricEntity[]> {
    return this.metrics.find({ order: { key: 'ASC' } });
  }

  findByKey(key: string): Promise<OutcomeMetricEntity | null> {
    return this.metrics.findOneBy({ key });
  }

  /** Null when the key is taken (archived keys too: they are never reused). */
  async insert(
    manager: EntityManager,
    row: Omit<OutcomeMetricEntity, 'version' | 'archivedAt'>,
  ): Promise<OutcomeMetricEntity | null> {
    const rows: Array<{ key: string }> = await manager.query(
      `INSERT INTO outcome_metrics (key, description, type, direction, unit, attribution_window_seconds, created_by, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (key) DO NOTHING
       RETURNING key`,
      [
        row.key,
        row.description,
        row.type,
        row.direction,
        row.unit,
        row.attributionWindowSeconds,
        row.createdBy,
        row.createdAt,
        row.updatedAt,
      ],
    );
    if (rows.length === 0) return null;
    return manager.getRepository(OutcomeMetricEntity).findOneByOrFail({ key: row.key });
  }

  /** The row locked for a change in `manager`'s transaction. */
  lock(manager: EntityManager, key: string): Promise<OutcomeMetricEntity | null> {
    return manager
      .getRepository(OutcomeMetricEntity)
      .createQueryBuilder('metric')
      .setLock('pessimistic_write')
      .where('metric.key = :key', { key })
      .getOne();
  }

  async update(manager: EntityManager, key: string, changes: OutcomeMetricChanges): Promise<OutcomeMetricEntity> {
    await manager
      .getRepository(OutcomeMetricEntity)
      .createQueryBuilder()
      .update()
      .set({ ...changes, version: () => 'version + 1' })
      .where('key = :key', { key })
      .execute();
    return manager.getRepository(OutcomeMetricEntity).findOneByOrFail({ key });
  }
}
