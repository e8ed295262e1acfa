import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { within } from '../common/within';
import { appConfig, type AppConfig } from '../config/app.config';
import { databaseConfig, type DatabaseConfig } from '../config/database.config';
import { BatchSpool, recoverSpools, spoolDatabaseOf } from '../database/batch-spool';
import { metricsConfig, type MetricsConfig } from '../config/metrics.config';
import { BatchWriter, drainBudgetMs, type BatchWriterState } from '../database/batch-writer';
import { ShutdownDeadline } from '../database/shutdown-deadline';
import { jsonRowsParameter } from '../database/json-rows';
import { INSERT_METRICS_SQL, storedValues, type RequestMetric } from './request-metric';
import { userKeyHasher } from './user-key';

const MAX_RETRY_DELAY_MS = 5_000;
/** How often rows an earlier process left in the spool folder are tried again while they cannot be written. */
const RECOVERY_RETRY_MS = 5_000;
const SPOOL_WRITER = 'metrics';

export type WriterState = BatchWriterState;

/**
 * Writes metric rows through a BatchWriter, off the request path, sized by METRICS_FLUSH_INTERVAL_MS,
 * METRICS_BATCH_SIZE and METRICS_QUEUE_LIMIT: while the database is down the rows stay queued and are
 * retried with backoff; only when the queue is full are new rows dropped, and each one is counted
 * (Prometheus, /health/ready).
 */
@Injectable()
export class MetricsWriter implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(MetricsWriter.name);
  private readonly writer: BatchWriter<RequestMetric>;
  private readonly spoolDir: string;
  private readonly database: string;
  private recoveryTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(metricsConfig.KEY) private readonly config: MetricsConfig,
    @Inject(appConfig.KEY) app: AppConfig,
    @Inject(databaseConfig.KEY) databaseSettings: DatabaseConfig,
    shutdownDeadline: ShutdownDeadline,
  ) {
    // User ids are hashed here, at flush time, off the request path.
    const userKeyOf = userKeyHasher(config.userKeySecret);
    this.spoolDir = join(databaseSettings.dataDir, 'spool');
    this.database = spoolDatabaseOf((dataSource.options as { url: string }).url);
    const spool = new BatchSpool(this.spoolDir, SPOOL_WRITER, this.database, (error) =>
      this.logger.warn(`could not keep queued metric rows on disk (${error.message}); they stay in memory only`),
    );
    this.writer = new BatchWriter<RequestMetric>({
      name: MetricsWriter.name,
      items: 'metric rows',
      insert: (batch) =>
        dataSource.query(
          INSERT_METRICS_SQL,
          jsonRowsParameter(batch, (row) => storedValues(row, userKeyOf)),
        ),
      batchSize: config.batchSize,
      flushIntervalMs: config.flushIntervalMs,
      queueLimit: config.queueLimit,
      backoff: { baseDelayMs: config.flushIntervalMs, maxDelayMs: MAX_RETRY_DELAY_MS },
      shutdownBudgetMs: drainBudgetMs(app.shutdownTimeoutMs),
      shutdownDeadline,
      describe: (row) => `request ${row.requestId} outlived the shutdown`,
      spool: { file: spool, storedForm: (row) => storedValues(row, userKeyOf) },
    });
  }

  onApplicationBootstrap(): void {
    void this.recoverSpooled();
  }

  onModuleInit(): void {
    this.writer.start();
  }

  onModuleDestroy(): void {
    this.writer.stop();
    this.stopped = true;
    clearTimeout(this.recoveryTimer);
  }

  /**
   * Writes the rows an earlier process on this data folder kept on disk when it could not write them
   * (killed during a database outage); tried again every few seconds while the database refuses.
   */
  private async recoverSpooled(): Promise<void> {
    try {
      const recovered = await recoverSpools(this.spoolDir, SPOOL_WRITER, this.database, async ({ rows }) => {
        for (let start = 0; start < rows.length; start += this.config.batchSize)
          await this.dataSource.query(INSERT_METRICS_SQL, [
            JSON.stringify(rows.slice(start, start + this.config.batchSize)),
          ]);
      });
      for (const { file, pid, rows, unreadable } of recovered) {
        const lost = unreadable ? `; ${unreadable} unreadable lines (cut off when it was killed) skipped` : '';
        this.logger.warn(`wrote ${rows.length} metric rows that process ${pid} left unwritten in ${file}${lost}`);
      }
    } catch (error) {
      // The files stay for the next start.
      if (this.stopped) return;
      this.logger.warn(
        `could not yet write the metric rows an earlier process left on disk (${(error as Error).message}); retrying in ${RECOVERY_RETRY_MS / 1000} s`,
      );
      this.recoveryTimer = setTimeout(() => void this.recoverSpooled(), RECOVERY_RETRY_MS);
      this.recoveryTimer.unref();
    }
  }

  /** Never blocks and never throws: the request that produced the row has already been answered. */
  enqueue(row: RequestMetric): void {
    if (this.config.enabled) this.writer.enqueue(row);
  }

  snapshot(): WriterState {
    return this.writer.snapshot();
  }

  /** Resolves once every row queued so far has been written (or the queue could not be written). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /**
   * The flush, for a reader that needs this replica's queued rows in the table (the outcome
   * lookups): rejects once `ms` have passed without it, as a database that cannot be read would, so
   * a database that takes writes but never answers them holds no request.
   */
  async flushWithin(ms: number): Promise<void> {
    if (!(await within(this.writer.flush(), ms))) throw new Error(`queued metric rows not written within ${ms} ms`);
  }

  /**
   * Writes every queued row before the connection pool goes away. The shutdown coordinator
   * (bootstrap) has already closed the HTTP server and let in-flight requests finish, so every row
   * a request will ever produce is queued by now; one that still arrives is counted as dropped.
   */
  beforeApplicationShutdown(): Promise<void> {
    return this.writer.drain();
  }
}
