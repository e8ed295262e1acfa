import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { within } from '../common/within';
import { appConfig, type AppConfig } from '../config/app.config';
import { databaseConfig, type DatabaseConfig } from '../config/database.config';
import { SpoolFolder } from '../database/batch-spool';
import { metricsConfig, type MetricsConfig } from '../config/metrics.config';
import { BatchWriter, drainBudgetMs, type BatchWriterState } from '../database/batch-writer';
import { ShutdownDeadline } from '../database/shutdown-deadline';
import { jsonRowsParameter } from '../database/json-rows';
import { INSERT_METRICS_SQL, storedValues, type RequestMetric } from './request-metric';
import { userKeyHasher } from './user-key';

const MAX_RETRY_DELAY_MS = 5_000;

export type WriterState = BatchWriterState;

/**
 * Writes metric rows through a BatchWriter, off the request path, sized by METRICS_FLUSH_INTERVAL_MS,
 * METRICS_BATCH_SIZE and METRICS_QUEUE_LIMIT: while the database is down the rows stay queued and are
 * retried with backoff; only when the queue is full are new rows dropped, and each one is counted
 * (Prometheus, /health/ready).
 */
@Injectable()
export class MetricsWriter implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly writer: BatchWriter<RequestMetric>;
  private readonly spoolFolder: SpoolFolder;

  constructor(
    dataSource: DataSource,
    @Inject(metricsConfig.KEY) private readonly config: MetricsConfig,
    @Inject(appConfig.KEY) app: AppConfig,
    @Inject(databaseConfig.KEY) databaseSettings: DatabaseConfig,
    shutdownDeadline: ShutdownDeadline,
  ) {
    // User ids are hashed here, at flush time, off the request path.
    const userKeyOf = userKeyHasher(config.userKeySecret);
    this.spoolFolder = new SpoolFolder({
      dataDir: databaseSettings.dataDir,
      dataSource,
      insert: (rows) =>
        dataSource.query(
          INSERT_METRICS_SQL,
          jsonRowsParameter(rows, (row) => row),
        ),
      writer: 'metrics',
      name: MetricsWriter.name,
      items: 'metric rows',
      batchSize: config.batchSize,
    });
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
      spool: { file: this.spoolFolder.spool, storedForm: (row) => storedValues(row, userKeyOf) },
    });
  }

  /** Writes the rows an earlier process on this data folder kept on disk (killed during an outage). */
  onApplicationBootstrap(): void {
    this.spoolFolder.recover();
  }

  onModuleInit(): void {
    this.writer.start();
  }

  onModuleDestroy(): void {
    this.writer.stop();
    this.spoolFolder.stop();
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
  async beforeApplicationShutdown(): Promise<void> {
    await this.writer.drain();
    await this.spoolFolder.release();
  }
}
