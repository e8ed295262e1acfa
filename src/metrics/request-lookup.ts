import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MetricsWriter } from './metrics-writer';

/** How long a lookup waits for the writer's queue to reach the table before it rejects. */
export const QUEUED_ROWS_WAIT_MS = 2_000;

/**
 * Which requests exist, by the request id their callers got (x-switchyard-request-id), and when
 * each arrived: what an outcome reported for a request attaches to. Reads request_metrics through
 * its request_id index; a request this replica answered a moment ago may still be in the writer's
 * queue, so ids not found are looked up again once that queue is written (rejecting when that takes
 * longer than QUEUED_ROWS_WAIT_MS).
 */
@Injectable()
export class RequestLookup {
  constructor(
    private readonly dataSource: DataSource,
    private readonly writer: MetricsWriter,
  ) {}

  /** Request id → its arrival; ids without a row are absent. Rejects when the database cannot be read. */
  async arrivals(requestIds: readonly string[]): Promise<Map<string, Date>> {
    const found = await this.read(requestIds);
    const missing = requestIds.filter((id) => !found.has(id));
    if (missing.length === 0) return found;
    await this.writer.flushWithin(QUEUED_ROWS_WAIT_MS);
    for (const [id, at] of await this.read(missing)) found.set(id, at);
    return found;
  }

  private async read(requestIds: readonly string[]): Promise<Map<string, Date>> {
    if (requestIds.length === 0) return new Map();
    const rows: Array<{ request_id: string; at: Date }> = await this.dataSource.query(
      `SELECT request_id, min(at) AS at FROM request_metrics WHERE request_id = ANY($1) GROUP BY request_id`,
      [requestIds],
    );
    return new Map(rows.map((row) => [row.request_id, new Date(row.at)]));
  }
}
