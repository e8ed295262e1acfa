import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import type { AlertSeverity, AlertStatus, AlertType } from './alert.types';
import { AlertEntity } from './entities/alert.entity';

export interface NewAlertRow {
  type: AlertType;
  severity: AlertSeverity;
  dedupKey: string;
  flagKey: string | null;
  canaryId: string | null;
  stage: number | null;
  message: string;
  evidence: Record<string, unknown>;
  targetUrl: string | null;
}

export interface AlertFilter {
  status?: AlertStatus;
  type?: AlertType;
  flagKey?: string;
}

/** How an attempt ended, for `recordOutcome`. */
export type AttemptOutcome =
  | { status: 'delivered' }
  | { status: 'pending'; error: string; retryInMs: number }
  | { status: 'failed'; error: string };

/**
 * Every query on `alerts`. Writes that follow a claim are guarded by the attempt count the claim
 * saw, so a replica whose lease ran out cannot overwrite what the next claimant recorded.
 */
@Injectable()
export class AlertsRepository {
  constructor(@InjectRepository(AlertEntity) private readonly alerts: Repository<AlertEntity>) {}

  /** Null when an alert with the same dedup key exists (already raised, by anyone). */
  async insert(manager: EntityManager, row: NewAlertRow, due: Date): Promise<string | null> {
    const rows: Array<{ id: string }> = await manager.query(
      `INSERT INTO alerts (type, severity, dedup_key, flag_key, canary_id, stage, message, evidence, target_url, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)
       ON CONFLICT (dedup_key) DO NOTHING
       RETURNING id`,
      [
        row.type,
        row.severity,
        row.dedupKey,
        row.flagKey,
        row.canaryId,
        row.stage,
        row.message,
        JSON.stringify(row.evidence),
        row.targetUrl,
        due,
      ],
    );
    return rows[0]?.id ?? null;
  }

  /**
   * Takes up to `limit` due alerts for this replica. SKIP LOCKED lets replicas claim side by side
   * without waiting on or taking each other's rows; pushing next_attempt_at forward by `leaseMs`
   * keeps a claimed alert from being claimed again while it is being posted (the claim commits at
   * once, so no transaction stays open during HTTP). A replica that dies mid-post leaves the alert
   * to be retried when the lease ends. `now` is the Clock's, as are every time written here, so a
   * test's clock decides what is due.
   */
  async claimDue(limit: number, leaseMs: number, now: Date): Promise<AlertEntity[]> {
    const [rows]: [Array<Record<string, unknown>>, number] = await this.alerts.manager.query(
      `UPDATE alerts AS a
          SET next_attempt_at = $3::timestamptz + $2 * interval '1 millisecond'
         FROM (SELECT id FROM alerts
                WHERE status = 'pending' AND next_attempt_at <= $3
                ORDER BY next_attempt_at
                LIMIT $1
                FOR UPDATE SKIP LOCKED) AS due
        WHERE a.id = due.id
        RETURNING a.*`,
      [limit, leaseMs, now],
    );
    return rows.map(toEntity);
  }

  /** Records the outcome of attempt number `claimedAttempts + 1`; false if another claimant got there first. */
  async recordOutcome(
    manager: EntityManager,
    id: string,
    claimedAttempts: number,
    outcome: AttemptOutcome,
    now: Date,
  ): Promise<boolean> {
    const params: unknown[] = [id, claimedAttempts];
    let sets: string;
    if (outcome.status === 'delivered') {
      params.push(now);
      sets = `status = 'delivered', delivered_at = $3, last_error = NULL`;
    } else if (outcome.status === 'pending') {
      params.push(outcome.error, now, outcome.retryInMs);
      sets = `last_error = $3, next_attempt_at = $4::timestamptz + $5 * interval '1 millisecond'`;
    } else {
      params.push(outcome.error);
      sets = `status = 'failed', last_error = $3`;
    }
    const [, count]: [unknown[], number] = await manager.query(
      `UPDATE alerts SET ${sets}, attempts = attempts + 1
        WHERE id = $1 AND status = 'pending' AND attempts = $2`,
      params,
    );
    return count > 0;
  }

  /** Neither the alert nor the configuration names a webhook: kept, listed, never sent. */
  async markNoTarget(id: string, claimedAttempts: number, reason: string): Promise<void> {
    await this.alerts.manager.query(
      `UPDATE alerts SET status = 'no_target', last_error = $3 WHERE id = $1 AND status = 'pending' AND attempts = $2`,
      [id, claimedAttempts, reason],
    );
  }

  findById(id: string): Promise<AlertEntity | null> {
    return this.alerts.findOneBy({ id });
  }

  /** Newest first; `before` is the id of the last alert of the previous page (keyset pagination). */
  list(filter: AlertFilter, limit: number, before?: string): Promise<AlertEntity[]> {
    const query = this.alerts
      .createQueryBuilder('alert')
      .orderBy('alert.createdAt', 'DESC')
      .addOrderBy('alert.id', 'DESC')
      .limit(limit);
    if (filter.status) query.andWhere('alert.status = :status', { status: filter.status });
    if (filter.type) query.andWhere('alert.type = :type', { type: filter.type });
    if (filter.flagKey) query.andWhere('alert.flag_key = :flagKey', { flagKey: filter.flagKey });
    if (before) {
      query.andWhere('(alert.created_at, alert.id) < (SELECT created_at, id FROM alerts WHERE id = :before)', {
        before,
      });
    }
    return query.getMany();
  }

  async exists(id: string): Promise<boolean> {
    return (await this.alerts.countBy({ id })) > 0;
  }
}

function toEntity(row: Record<string, unknown>): AlertEntity {
  return Object.assign(new AlertEntity(), {
    id: row.id,
    type: row.type,
    severity: row.severity,
    dedupKey: row.dedup_key,
    flagKey: row.flag_key,
    canaryId: row.canary_id,
    stage: row.stage,
    message: row.message,
    evidence: row.evidence,
    targetUrl: row.target_url,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    deliveredAt: row.delivered_at,
    createdAt: row.created_at,
  });
}
