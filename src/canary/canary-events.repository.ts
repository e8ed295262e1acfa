import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import type { CanaryEventType, CanaryState } from './canary.types';
import { CanaryEventEntity } from './entities/canary-event.entity';

export interface NewCanaryEvent {
  canaryId: string;
  at: Date;
  type: CanaryEventType;
  /** The canary's state and stage after the event; stage null in the shadow stage. */
  state: CanaryState;
  stage: number | null;
  message: string;
  evidence: Record<string, unknown> | null;
  actor: string;
  instance: string;
}

/** Every query on `canary_events`: appends (in the change's transaction) and pages. */
@Injectable()
export class CanaryEventsRepository {
  constructor(@InjectRepository(CanaryEventEntity) private readonly events: Repository<CanaryEventEntity>) {}

  async append(manager: EntityManager, event: NewCanaryEvent): Promise<void> {
    await manager.query(
      `INSERT INTO canary_events (canary_id, at, type, state, stage, message, evidence, actor, instance)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        event.canaryId,
        event.at,
        event.type,
        event.state,
        event.stage,
        event.message,
        event.evidence === null ? null : JSON.stringify(event.evidence),
        event.actor,
        event.instance,
      ],
    );
  }

  /**
   * Oldest first after the id `after` (keyset pagination); one row more than `limit` says there is a
   * next page. With `quietEvery`, a verdict that decided to wait is kept only if it is the first of
   * its clock slice of that many seconds: the slices do not move as events arrive, so every page and
   * every later poll keeps the same looks.
   */
  page(canaryId: string, limit: number, after: number, quietEvery?: number): Promise<CanaryEventEntity[]> {
    const query = this.events
      .createQueryBuilder('event')
      .where('event.canary_id = :canaryId AND event.id > :after', { canaryId, after });
    if (quietEvery !== undefined) {
      const slice = (alias: string) => `floor(extract(epoch FROM ${alias}.at) / :quietEvery)`;
      query.andWhere(
        `(NOT ${quiet('event')} OR event.id IN (
           SELECT DISTINCT ON (${slice('q')}) q.id FROM canary_events q
            WHERE q.canary_id = :canaryId AND ${quiet('q')}
            ORDER BY ${slice('q')}, q.id))`,
        { quietEvery },
      );
    }
    return query
      .orderBy('event.id', 'ASC')
      .limit(limit + 1)
      .getMany();
  }
}

/**
 * A look that changed nothing: a verdict (live or shadow stage) whose decision was to wait, or to
 * judge an extended stage on (its `stage_extended` event says so once).
 */
function quiet(alias: string): string {
  return `(${alias}.type = 'verdict' AND ${alias}.evidence->>'decision' IN ('wait', 'extend'))`;
}
