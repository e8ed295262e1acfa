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

  /** Adds each replica-local delta to its window and returns the windows' totals over every replica. */
  async add(deltas: WindowRow[]): Promise<WindowRow[]> {
    if (deltas.length === 0) return [];
    const rows: UsageRow[] = await this.dataSource.query(
      `INSERT INTO api_key_usage (key_id, window_start, requests, tokens)
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
      ],
    );
    return rows.map(toWindowRow);
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
    const result: unknown = await this.dataSource.query(`DELETE FROM api_key_usage WHERE window_start < $1`, [
      before.toISOString(),
    ]);
    return Array.isArray(result) && typeof result[1] === 'number' ? result[1] : 0;
  }
}
