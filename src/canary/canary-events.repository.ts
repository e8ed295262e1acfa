import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import type { CanaryEventType, CanaryState } from './canary.types';
import { CanaryEventEntity } from './entities/canary-event.entity';

export interface NewCanaryEvent {
  canaryId: string;
  at: Date;
  type: CanaryEventType;
  /** The canary's state and stage after the event. */
  state: CanaryState;
  stage: number;
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

  /** Oldest first after the id `after` (keyset pagination); one row more than `limit` says there is a next page. */
  page(canaryId: string, limit: number, after: number): Promise<CanaryEventEntity[]> {
    return this.events
      .createQueryBuilder('event')
      .where('event.canary_id = :canaryId AND event.id > :after', { canaryId, after })
      .orderBy('event.id', 'ASC')
      .limit(limit + 1)
      .getMany();
  }
}
