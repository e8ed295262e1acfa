import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import { OutcomeMetricHistoryEntity } from './entities/outcome-metric-history.entity';
import type { OutcomeHistoryAction } from './outcome.types';

export interface NewOutcomeHistoryRow {
  at: Date;
  metricKey: string;
  version: number;
  action: OutcomeHistoryAction;
  before: object | null;
  after: object;
  actor: string;
  reason: string | null;
}

/** Every query on `outcome_metric_history`. Only appends and reads: the table refuses anything else. */
@Injectable()
export class OutcomeMetricHistoryRepository {
  constructor(
    @InjectRepository(OutcomeMetricHistoryEntity) private readonly history: Repository<OutcomeMetricHistoryEntity>,
  ) {}

  async append(manager: EntityManager, row: NewOutcomeHistoryRow): Promise<void> {
    await manager.query(
      `INSERT INTO outcome_metric_history (metric_key, version, action, before, after, actor, reason, at)
       VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8)`,
      [
        row.metricKey,
        row.version,
        row.action,
        row.before === null ? null : JSON.stringify(row.before),
        JSON.stringify(row.after),
        row.actor,
        row.reason,
        row.at,
      ],
    );
  }

  /** Newest first; `before` is an id from a previous page. */
  list(metricKey: string, limit: number, before?: number): Promise<OutcomeMetricHistoryEntity[]> {
    const query = this.history
      .createQueryBuilder('entry')
      .where('entry.metric_key = :metricKey', { metricKey })
      .orderBy('entry.id', 'DESC')
      .limit(limit);
    if (before !== undefined) query.andWhere('entry.id < :before', { before });
    return query.getMany();
  }
}
