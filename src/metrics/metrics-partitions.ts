import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { DataSource, type EntityManager } from 'typeorm';
import { metricsConfig, type MetricsConfig } from '../config/metrics.config';
import { LockKey, lockForTransaction } from '../database/advisory-locks';

const DAY_MS = 86_400_000;
const PARTITION_NAME = /^request_metrics_p(\d{4})(\d{2})(\d{2})$/;
/** Catches rows no daily partition covers (a replica's clock far ahead, or a gap in maintenance). */
const DEFAULT_PARTITION = 'request_metrics_default';

/**
 * Keeps request_metrics' daily partitions: today's and the next few exist before rows arrive, and
 * partitions older than the retention are dropped whole (no DELETE, no bloat, no vacuum debt).
 * Rows that landed in the default partition move into their day's partition when it is created
 * (Postgres refuses to create it otherwise), and are deleted there once past the retention.
 * Runs at start-up and every hour, under an advisory lock.
 */
@Injectable()
export class MetricsPartitions implements OnApplicationBootstrap {
  private readonly logger = new Logger(MetricsPartitions.name);

  constructor(
    private readonly dataSource: DataSource,
    @Inject(metricsConfig.KEY) private readonly config: MetricsConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.maintain();
  }

  @Cron(CronExpression.EVERY_HOUR, { name: 'metrics-partitions' })
  async scheduledMaintenance(): Promise<void> {
    await this.maintain().catch((error: Error) => this.logger.error(`partition maintenance failed: ${error.message}`));
  }

  /** `now` is a parameter so retention can be exercised without waiting for days. */
  async maintain(now = new Date()): Promise<{ created: string[]; dropped: string[] }> {
    const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    return this.dataSource.transaction(async (manager) => {
      // Only one replica maintains partitions at a time.
      await lockForTransaction(manager, LockKey.MetricsPartitions);
      const existing: string[] = (
        await manager.query(
          `SELECT child.relname AS name FROM pg_inherits
             JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
             JOIN pg_class child ON child.oid = pg_inherits.inhrelid
            WHERE parent.relname = 'request_metrics'`,
        )
      ).map((row: { name: string }) => row.name);

      const created: string[] = [];
      for (let day = 0; day <= this.config.partitionsAheadDays; day++) {
        const start = new Date(today + day * DAY_MS);
        const name = partitionName(start);
        if (existing.includes(name)) continue;
        const end = new Date(start.getTime() + DAY_MS);
        await createPartition(manager, name, start, end);
        created.push(name);
      }

      // A day goes once all of it is older than the retention: rows are kept at least that long.
      const retainedFrom = now.getTime() - this.config.retentionDays * DAY_MS;
      const dropped = existing.filter((name) => {
        const start = partitionStart(name);
        return start !== undefined && start + DAY_MS <= retainedFrom;
      });
      for (const name of dropped) await manager.query(`DROP TABLE ${name}`);
      await manager.query(`DELETE FROM ${DEFAULT_PARTITION} WHERE at < $1`, [new Date(retainedFrom)]);
      if (created.length + dropped.length > 0) {
        this.logger.log(
          `request_metrics partitions: created ${created.join(', ') || 'none'}; dropped ${dropped.join(', ') || 'none'}`,
        );
      }
      return { created, dropped };
    });
  }
}

/**
 * A day's partition. If the default partition already holds rows of that day, they are set aside,
 * the partition created, and the rows put back through the parent, all in the caller's transaction.
 */
async function createPartition(manager: EntityManager, name: string, start: Date, end: Date): Promise<void> {
  const range = [start, end];
  const [{ stranded }] = await manager.query(
    `SELECT EXISTS (SELECT 1 FROM ${DEFAULT_PARTITION} WHERE at >= $1 AND at < $2) AS stranded`,
    range,
  );
  if (stranded) {
    await manager.query(`CREATE TEMP TABLE stranded_metrics (LIKE request_metrics) ON COMMIT DROP`);
    await manager.query(
      `WITH moved AS (DELETE FROM ${DEFAULT_PARTITION} WHERE at >= $1 AND at < $2 RETURNING *) INSERT INTO stranded_metrics SELECT * FROM moved`,
      range,
    );
  }
  await manager.query(
    `CREATE TABLE ${name} PARTITION OF request_metrics FOR VALUES FROM ('${start.toISOString()}') TO ('${end.toISOString()}')`,
  );
  if (stranded) {
    await manager.query(`INSERT INTO request_metrics SELECT * FROM stranded_metrics`);
    await manager.query(`DROP TABLE stranded_metrics`);
  }
}

function partitionName(day: Date): string {
  return `request_metrics_p${day.toISOString().slice(0, 10).replaceAll('-', '')}`;
}

function partitionStart(name: string): number | undefined {
  const match = PARTITION_NAME.exec(name);
  return match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : undefined;
}
