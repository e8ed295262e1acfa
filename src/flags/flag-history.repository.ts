import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import { FlagHistoryEntity } from './entities/flag-history.entity';
import type { FlagAction, FlagSource } from './flag.types';

export interface NewHistoryRow {
  at: Date;
  flagKey: string;
  version: number;
  action: FlagAction;
  before: object | null;
  after: object;
  actor: string;
  source: FlagSource;
  reason: string | null;
}

/** Every query on `flag_history`. Only appends and reads: the table refuses anything else. */
@Injectable()
export class FlagHistoryRepository {
  constructor(@InjectRepository(FlagHistoryEntity) private readonly history: Repository<FlagHistoryEntity>) {}

  async append(manager: EntityManager, row: NewHistoryRow): Promise<void> {
    await manager.query(
      `INSERT INTO flag_history (flag_key, version, action, before, after, actor, source, reason, at)
       VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8, $9)`,
      [
        row.flagKey,
        row.version,
        row.action,
        row.before === null ? null : JSON.stringify(row.before),
        JSON.stringify(row.after),
        row.actor,
        row.source,
        row.reason,
        row.at,
      ],
    );
  }

  /** Newest first; `before` is an id from a previous page (keyset pagination, stable under appends). */
  list(flagKey: string, limit: number, before?: number): Promise<FlagHistoryEntity[]> {
    const query = this.history
      .createQueryBuilder('entry')
      .where('entry.flag_key = :flagKey', { flagKey })
      .orderBy('entry.id', 'DESC')
      .limit(limit);
    if (before !== undefined) query.andWhere('entry.id < :before', { before });
    return query.getMany();
  }
}
