import { Inject, Injectable, Logger, type Type } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { metricsConfig, type MetricsConfig } from '../config/metrics.config';
import { LockKey, tryWithLock } from './advisory-locks';

const DAY_MS = 86_400_000;
/** Rows per DELETE: each statement stays short, so no lock or WAL piles up behind one huge delete. */
const DELETE_BATCH = 5_000;

/** An append-only table kept by age, with an index on (keyColumn, timeColumn). */
export interface RetainedTable {
  table: string;
  keyColumn: string;
  timeColumn: string;
  /** What its rows are, for the log line. */
  rows: string;
  /** The hourly job's name. */
  job: string;
}

export interface RetentionJob {
  /** `now` is a parameter so retention can be exercised without waiting for days. */
  deleteExpired(now?: Date): Promise<number | null>;
}

/**
 * The hourly job that deletes a table's rows older than METRICS_RETENTION_DAYS (the request rows
 * they are about are gone by then), for its owner to provide: `class X extends RetentionJobFor(…) {}`.
 * A failure is logged and left to the next hour.
 */
export function RetentionJobFor(spec: RetainedTable): Type<RetentionJob> {
  @Injectable()
  class Retention implements RetentionJob {
    private readonly logger = new Logger(spec.job);

    constructor(
      private readonly dataSource: DataSource,
      @Inject(metricsConfig.KEY) private readonly config: MetricsConfig,
    ) {}

    @Cron(CronExpression.EVERY_HOUR, { name: spec.job })
    async scheduledRetention(): Promise<void> {
      await this.deleteExpired();
    }

    async deleteExpired(now = new Date()): Promise<number | null> {
      const days = this.config.retentionDays;
      try {
        const deleted = await deleteExpiredRows(this.dataSource, spec, new Date(now.getTime() - days * DAY_MS));
        if (deleted) this.logger.log(`deleted ${deleted} ${spec.rows} older than ${days} days`);
        return deleted;
      } catch (error) {
        this.logger.warn(
          `${spec.rows} past the retention not deleted (${(error as Error).message}); the next hour tries again`,
        );
        return null;
      }
    }
  }
  return Retention;
}

/**
 * Deletes the rows of `spec.table` older than `before`, one replica at a time (null: another is at
 * it). Postgres 15 has no skip scan, so the (key, time) index is walked key by key: the distinct keys
 * by a recursive probe of the index, then per key DELETE_BATCH rows per statement, which also keeps a
 * first run over months of rows from holding anything long. Returns how many rows went.
 */
export async function deleteExpiredRows(
  dataSource: DataSource,
  spec: RetainedTable,
  before: Date,
): Promise<number | null> {
  const { table, keyColumn: key, timeColumn: time } = spec;
  const run = await tryWithLock(
    dataSource,
    LockKey.Retention,
    async () => {
      const keys: Array<{ key: unknown }> = await dataSource.query(
        `WITH RECURSIVE keys AS (
           (SELECT ${key} AS key FROM ${table} ORDER BY ${key} LIMIT 1)
           UNION ALL
           SELECT (SELECT ${key} FROM ${table} WHERE ${key} > keys.key ORDER BY ${key} LIMIT 1)
             FROM keys WHERE keys.key IS NOT NULL
         )
         SELECT key FROM keys WHERE key IS NOT NULL`,
      );
      let deleted = 0;
      for (const row of keys) {
        for (;;) {
          const result: unknown = await dataSource.query(
            `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(
               SELECT ctid FROM ${table} WHERE ${key} = $1 AND ${time} < $2 LIMIT ${DELETE_BATCH}))`,
            [row.key, before],
          );
          const count = Array.isArray(result) && typeof result[1] === 'number' ? result[1] : 0;
          deleted += count;
          if (count < DELETE_BATCH) break;
        }
      }
      return deleted;
    },
    table,
  );
  return run.ran ? run.value : null;
}
