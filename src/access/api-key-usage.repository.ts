import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { WindowRow } from './rate-windows';

interface UsageRow {
  key_id: string;
  window_start: Date;
  requests: number;
  tokens: string;
}

const toWindowRow = (row: UsageRow): WindowRow => ({
  keyId: row.key_id,
  windowStart: new Date(row.window_start).getTime(),
  requests: Number(row.requests),
  tokens: Number(row.tokens),
});

/** Every query on `api_key_usage`: the per-key minute windows every replica adds its counts to. */
@Injectable()
export class ApiKeyUsageRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Adds each replica-local delta to its window and returns the windows' totals over every replica.
   * The same statement records `sync` as the replica's receipt, so whether it committed can be
   * learnt later (`lastCommitted`) even if its answer never arrives.
   */
  async add(deltas: WindowRow[], replica: string, sync: number): Promise<WindowRow[]> {
    if (deltas.length === 0) return [];
    const rows: UsageRow[] = await this.dataSource.query(
      `WITH receipt AS (
         INSERT INTO api_key_usage_receipts (replica, last_sync, updated_at) VALUES ($5, $6, now())
         ON CONFLICT (replica) DO UPDATE SET last_sync = excluded.last_sync, updated_at = excluded.updated_at
       )
       INSERT INTO api_key_usage (key_id, window_start, requests, tokens)
       SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::int[], $4::bigint[])
       ON CONFLICT (key_id, window_start) DO UPDATE
         SET requests = api_key_usage.requests + excluded.requests,
             tokens = api_key_usage.tokens + excluded.tokens
       RETURNING key_id, window_start, requests, tokens`,
      [
        deltas.map((d) => d.keyId),
        deltas.map((d) => new Date(d.windowStart).toISOString()),
        deltas.map((d) => d.requests),
        deltas.map((d) => d.tokens),
        replica,
        sync,
      ],
    );
    return rows.map(toWindowRow);
  }

  /**
   * The replica's last committed sync (0: none). An upsert, not a plain read: a sync still
   * committing on a connection we lost holds the row, and the upsert waits to see its outcome.
   */
  async lastCommitted(replica: string): Promise<number> {
    const [row]: Array<{ last_sync: string }> = await this.dataSource.query(
      `INSERT INTO api_key_usage_receipts AS r (replica, last_sync, updated_at) VALUES ($1, 0, now())
       ON CONFLICT (replica) DO UPDATE SET last_sync = r.last_sync
       RETURNING r.last_sync`,
      [replica],
    );
    return Number(row.last_sync);
  }

  /** Every key's totals in one window (one row per key that was used in it, by any replica). */
  async totals(windowStart: number): Promise<WindowRow[]> {
    const rows: UsageRow[] = await this.dataSource.query(
      `SELECT key_id, window_start, requests, tokens FROM api_key_usage WHERE window_start = $1`,
      [new Date(windowStart).toISOString()],
    );
    return rows.map(toWindowRow);
  }

  /** Windows older than `before` matter to nobody: admission only reads the current minute. */
  async deleteBefore(before: Date): Promise<number> {
    // A receipt settles a sync of windows this old at most: past them it has nothing left to settle.
    await this.dataSource.query(`DELETE FROM api_key_usage_receipts WHERE updated_at < $1`, [before.toISOString()]);
    const result: unknown = await this.dataSource.query(`DELETE FROM api_key_usage WHERE window_start < $1`, [
      before.toISOString(),
    ]);
    return Array.isArray(result) && typeof result[1] === 'number' ? result[1] : 0;
  }
}
