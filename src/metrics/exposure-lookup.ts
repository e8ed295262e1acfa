import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { metricsConfig, type MetricsConfig } from '../config/metrics.config';
import { ELIGIBLE } from './canary-window-reader';
import { MetricsWriter } from './metrics-writer';
import { QUEUED_ROWS_WAIT_MS } from './request-lookup';
import { userKeyHasher } from './user-key';

/**
 * A user's exposure: a request_metrics row of theirs that a flag routed, counted as the canary counts
 * a user-unit outcome's exposures (canary-window-reader.ts, outcomeBuckets: a user key, a judged
 * request). Shadow rows are left out: the user saw the primary's answer, which has its own row.
 * The first two terms are the predicate of request_metrics_user_exposure_idx, which every read
 * here goes through (user_key, at).
 */
const EXPOSURE = `user_key IS NOT NULL AND flag IS NOT NULL AND NOT shadow AND ${ELIGIBLE}`;

/** The user-unit events of a batch as columns: the user's key, and each event's window [from, to]. */
const EVENTS = `unnest($1::int8[], $2::timestamptz[], $3::timestamptz[]) WITH ORDINALITY AS q(q_key, q_from, q_to, q_index)`;

/**
 * The events (their 1-based position) with an exposure in their window: per event, one probe of
 * the index in the partitions of its window. $4 and $5 bound the whole batch's windows: they let
 * the planner drop the other partitions before it costs the plan (with all of them counted, a batch
 * of 1 000 costs enough to be JIT-compiled, some 200 ms for a query that takes 5).
 */
const EXPOSED_SQL = `
  SELECT q_index::int AS i FROM ${EVENTS}
   CROSS JOIN LATERAL (SELECT 1 FROM request_metrics
                        WHERE user_key = q_key AND at >= q_from AND at <= q_to AND at >= $4 AND at <= $5 AND ${EXPOSURE}
                        LIMIT 1) AS exposure`;

/**
 * For events without one: the user's last exposure up to the event and first one after it, which
 * tell why. Unbounded in time, so every partition's index is probed: only refused events get here.
 */
const NEAREST_SQL = `
  SELECT q_index::int AS i,
         (SELECT max(at) FROM request_metrics WHERE user_key = q_key AND at <= q_to AND ${EXPOSURE}) AS last_at,
         (SELECT min(at) FROM request_metrics WHERE user_key = q_key AND at > q_to AND ${EXPOSURE}) AS next_at
    FROM ${EVENTS}`;

/** A user-unit outcome to place: it needs an exposure of its user in [occurredAt - window, occurredAt]. */
export interface ExposureQuestion {
  userId: string;
  occurredAt: Date;
  windowSeconds: number;
}

/**
 * What was found for one question. `never`: the user has no exposure at all; `before`: every one
 * is after the event (the first at `firstAt`); `expired`: the last one before the event, at
 * `lastAt`, is older than the window.
 */
export type ExposureAnswer =
  { kind: 'exposed' } | { kind: 'never' } | { kind: 'before'; firstAt: Date } | { kind: 'expired'; lastAt: Date };

/**
 * Whether users were exposed when their outcomes happened: what a user-unit outcome attaches to.
 * The user id is hashed with the writer's key (user-key.ts) and looked up by user_key, the raw id
 * never leaves the process. One query per batch; a user whose request this replica answered a
 * moment ago may still be in the writer's queue, so events without an exposure are looked up again
 * once that queue is written (as RequestLookup does for request ids, with the same bound).
 */
@Injectable()
export class ExposureLookup {
  private readonly userKeyOf: (userId: string | null) => string | null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly writer: MetricsWriter,
    @Inject(metricsConfig.KEY) config: MetricsConfig,
  ) {
    this.userKeyOf = userKeyHasher(config.userKeySecret);
  }

  /** An answer per question, in order. Rejects when the database cannot be read. */
  async check(questions: readonly ExposureQuestion[]): Promise<ExposureAnswer[]> {
    const answers: ExposureAnswer[] = questions.map(() => ({ kind: 'exposed' }));
    if (questions.length === 0) return answers;
    const params = this.parameters(questions);
    const [, froms, tos] = params;
    const bounds = [new Date(Math.min(...froms.map(Number))), new Date(Math.max(...tos.map(Number)))];
    const exposed = new Set(
      ((await this.dataSource.query(EXPOSED_SQL, [...params, ...bounds])) as Array<{ i: number }>).map(
        (row) => row.i - 1,
      ),
    );
    const missing = questions.map((_, index) => index).filter((index) => !exposed.has(index));
    if (missing.length === 0) return answers;
    await this.writer.flushWithin(QUEUED_ROWS_WAIT_MS);
    const nearest: Array<{ i: number; last_at: Date | null; next_at: Date | null }> = await this.dataSource.query(
      NEAREST_SQL,
      this.parameters(missing.map((index) => questions[index])),
    );
    for (const row of nearest) {
      const index = missing[row.i - 1];
      if (row.last_at !== null && new Date(row.last_at) >= froms[index]) continue;
      answers[index] =
        row.last_at !== null
          ? { kind: 'expired', lastAt: new Date(row.last_at) }
          : row.next_at !== null
            ? { kind: 'before', firstAt: new Date(row.next_at) }
            : { kind: 'never' };
    }
    return answers;
  }

  private parameters(questions: readonly ExposureQuestion[]): [string[], Date[], Date[]] {
    return [
      questions.map((question) => this.userKeyOf(question.userId) as string),
      questions.map((question) => new Date(question.occurredAt.getTime() - question.windowSeconds * 1000)),
      questions.map((question) => question.occurredAt),
    ];
  }
}
