import type { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
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
}

/**
 * Deletes what is older than `retentionDays` before `now` (see deleteExpiredRows) and logs how much
 * went; a failure is logged and left to the next run. Each owner's hourly job calls it.
 */
export async function applyRetention(
  dataSource: DataSource,
  logger: Logger,
  spec: RetainedTable,
  retentionDays: number,
  now: Date,
): Promise<number | null> {
  try {
    const deleted = await deleteExpiredRows(dataSource, spec, new Date(now.getTime() - retentionDays * DAY_MS));
    if (deleted) logger.log(`deleted ${deleted} ${spec.rows} older than ${retentionDays} days`);
    return deleted;
  } catch (error) {
    logger.warn(`${spec.rows} past the retention not deleted (${(error as Error).message}); the next hour tries again`);
    return null;
  }
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
