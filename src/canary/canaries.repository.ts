import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, type EntityManager, type Repository } from 'typeorm';
import { ACTIVE_CANARIES_CHANNEL } from '../policies/active-canaries';
import { ACTIVE_STATES, type CanaryState, type StoredVerdict } from './canary.types';
import { CanaryEntity } from './entities/canary.entity';
import type { StoredShadowVerdict } from './shadow-decision';

/** Fields a change writes on the canary row. */
export type CanaryRowChanges = Partial<
  Pick<CanaryEntity, 'state' | 'stageIndex' | 'stageStartedAt' | 'stageFlagVersion' | 'updatedAt' | 'endedAt' | 'phase'>
>;

/** What a list of canaries holds: these states (all when left out), this flag's. */
export interface CanaryListFilter {
  states?: CanaryState[];
  flagKey?: string;
}

/** The verdict of one tick period, written only if this replica is the first to judge the period. */
export interface TickClaim {
  id: string;
  /** The stage the verdict was judged in: a manual action that moved the canary since makes it moot. */
  stageIndex: number;
  slotStart: Date;
  at: Date;
  verdict: StoredVerdict | StoredShadowVerdict;
}

/** Why a tick failed on a canary, when, and on which replica (canary_tick_failures: the last one). */
export interface TickFailure {
  canaryId: string;
  at: Date;
  reason: string;
  instance: string;
}

/** Every query on `canaries`. Writes take the transaction's EntityManager, so events and alerts go in with them. */
@Injectable()
export class CanariesRepository {
  constructor(@InjectRepository(CanaryEntity) private readonly canaries: Repository<CanaryEntity>) {}

  /** Reads a canary, optionally row-locked for a change; null when there is none. */
  find(manager: EntityManager, id: string, forUpdate = false): Promise<CanaryEntity | null> {
    const query = manager.getRepository(CanaryEntity).createQueryBuilder('canary').where('canary.id = :id', { id });
    if (forUpdate) query.setLock('pessimistic_write');
    return query.getOne();
  }

  /**
   * One page, newest first (keyset: `before` is the last canary of the previous page, so one created
   * meanwhile moves none across pages; canaries created at the same instant go by id).
   */
  page(filter: CanaryListFilter, limit: number, before?: string): Promise<CanaryEntity[]> {
    const query = this.canaries
      .createQueryBuilder('canary')
      .orderBy('canary.createdAt', 'DESC')
      .addOrderBy('canary.id', 'DESC')
      .limit(limit);
    if (filter.states) query.andWhere('canary.state IN (:...states)', { states: filter.states });
    if (filter.flagKey) query.andWhere('canary.flag_key = :flagKey', { flagKey: filter.flagKey });
    if (before) {
      query.andWhere('(canary.created_at, canary.id) < (SELECT created_at, id FROM canaries WHERE id = :before)', {
        before,
      });
    }
    return query.getMany();
  }

  async exists(id: string): Promise<boolean> {
    return (await this.canaries.countBy({ id })) > 0;
  }

  async runningIds(): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.canaries.query(
      `SELECT id FROM canaries WHERE state = 'running' ORDER BY created_at`,
    );
    return rows.map((row) => row.id);
  }

  /** Pending, running and paused canaries, oldest first (what Prometheus shows). */
  active(): Promise<CanaryEntity[]> {
    return this.canaries.find({ where: { state: In([...ACTIVE_STATES]) }, order: { createdAt: 'ASC' } });
  }

  /** Flags with a pending, running or paused canary. */
  async activeFlagKeys(): Promise<string[]> {
    const rows: Array<{ flag_key: string }> = await this.canaries.query(
      `SELECT flag_key FROM canaries WHERE state = ANY($1)`,
      [ACTIVE_STATES],
    );
    return rows.map((row) => row.flag_key);
  }

  /** The flag's running canary, if any, read in `manager`'s transaction. */
  async runningOn(manager: EntityManager, flagKey: string): Promise<{ id: string; state: string } | null> {
    const rows: Array<{ id: string; state: string }> = await manager.query(
      `SELECT id, state FROM canaries WHERE flag_key = $1 AND state = 'running'`,
      [flagKey],
    );
    return rows[0] ?? null;
  }

  /** The active canaries with an outcome gate on the metric, read in `manager`'s transaction. */
  async gatingOn(manager: EntityManager, metricKey: string): Promise<Array<{ id: string; state: string }>> {
    return manager.query(
      `SELECT id, state FROM canaries
        WHERE state = ANY($2) AND analysis->'outcomes' @> jsonb_build_array(jsonb_build_object('metric', $1::text))
        ORDER BY created_at`,
      [metricKey, ACTIVE_STATES],
    );
  }

  /** The flag's active canary, row-locked, so that a create in the same transaction cannot race another. */
  async findActiveForUpdate(manager: EntityManager, flagKey: string): Promise<{ id: string; state: string } | null> {
    const rows: Array<{ id: string; state: string }> = await manager.query(
      `SELECT id, state FROM canaries WHERE flag_key = $1 AND state = ANY($2) FOR UPDATE`,
      [flagKey, ACTIVE_STATES],
    );
    return rows[0] ?? null;
  }

  /** Inserts a canary; false when the partial unique index says the flag already has an active one. */
  async insert(manager: EntityManager, canary: Partial<CanaryEntity>): Promise<boolean> {
    try {
      await manager.insert(CanaryEntity, canary);
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === '23505') return false;
      throw error;
    }
  }

  /** Writes a change and NOTIFYs every replica at its commit (ACTIVE_CANARIES_CHANNEL). */
  async update(manager: EntityManager, id: string, changes: CanaryRowChanges): Promise<void> {
    await manager.update(CanaryEntity, { id }, changes);
    await manager.query('SELECT pg_notify($1, $2)', [ACTIVE_CANARIES_CHANNEL, id]);
  }

  /**
   * Claims the tick period `slotStart` for this verdict: one conditional UPDATE, true only for the
   * first claim of the period while the canary still runs in the stage the verdict was judged in.
   * It row-locks the canary until the transaction ends, so a second replica's claim waits, then
   * sees the period taken.
   */
  async claimTick(manager: EntityManager, claim: TickClaim): Promise<boolean> {
    const [, affected]: [unknown, number] = await manager.query(
      `UPDATE canaries
          SET last_slot_start = $3, last_tick_at = $4, last_verdict = $5::jsonb
        WHERE id = $1 AND state = 'running' AND stage_index = $2
          AND (last_slot_start IS NULL OR last_slot_start < $3)`,
      [claim.id, claim.stageIndex, claim.slotStart, claim.at, JSON.stringify(claim.verdict)],
    );
    return affected === 1;
  }

  /** Keeps the canary's latest tick failure, replacing the one before. */
  async recordTickFailure(failure: TickFailure): Promise<void> {
    await this.canaries.query(
      `INSERT INTO canary_tick_failures (canary_id, failed_at, reason, instance) VALUES ($1, $2, $3, $4)
       ON CONFLICT (canary_id) DO UPDATE
         SET failed_at = excluded.failed_at, reason = excluded.reason, instance = excluded.instance`,
      [failure.canaryId, failure.at, failure.reason, failure.instance],
    );
  }

  /** The latest tick failure of each of these canaries that has one. */
  async tickFailures(ids: string[]): Promise<Map<string, TickFailure>> {
    if (ids.length === 0) return new Map();
    const rows: Array<{ canary_id: string; failed_at: Date; reason: string; instance: string }> =
      await this.canaries.query(
        `SELECT canary_id, failed_at, reason, instance FROM canary_tick_failures WHERE canary_id = ANY($1)`,
        [ids],
      );
    return new Map(
      rows.map((row) => [
        row.canary_id,
        { canaryId: row.canary_id, at: row.failed_at, reason: row.reason, instance: row.instance },
      ]),
    );
  }
}
