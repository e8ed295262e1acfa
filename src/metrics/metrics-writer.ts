import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { fullJitterDelayMs } from '@switchyard/retry';
import { DataSource } from 'typeorm';
import { appConfig, type AppConfig } from '../config/app.config';
import { metricsConfig, type MetricsConfig } from '../config/metrics.config';
import { INSERT_METRICS_SQL, insertParameters, type RequestMetric } from './request-metric';
import { userKeyHasher } from './user-key';

const MAX_RETRY_DELAY_MS = 5_000;

export interface WriterState {
  queued: number;
  written: number;
  dropped: number;
  failedFlushes: number;
  lastError: string | null;
  lastFlushAt: Date | null;
}

/**
 * Writes metric rows in batches, off the request path. Rows wait in a bounded in-memory queue and go
 * out in one multi-row INSERT every flush interval or as soon as a batch is full. While the database
 * is down the rows stay queued and the flush is retried with backoff; only when the queue is full
 * are new rows dropped, and each one is counted (Prometheus, /health/ready).
 */
@Injectable()
export class MetricsWriter implements OnModuleInit, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(MetricsWriter.name);
  private queue: RequestMetric[] = [];
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private retryAt = 0;
  private consecutiveFailures = 0;
  /** Set once the final flush has run: a row arriving after it can only be counted as dropped. */
  private closed = false;
  /** Hashes user ids here, at flush time, off the request path. */
  private readonly userKeyOf: (userId: string | null) => string | null;
  private readonly state = {
    written: 0,
    dropped: 0,
    failedFlushes: 0,
    lastError: null as string | null,
    lastFlushAt: null as Date | null,
  };

  constructor(
    private readonly dataSource: DataSource,
    @Inject(metricsConfig.KEY) private readonly config: MetricsConfig,
    @Inject(appConfig.KEY) private readonly app: AppConfig,
  ) {
    this.userKeyOf = userKeyHasher(config.userKeySecret);
  }

  onModuleInit(): void {
    this.timer = setInterval(() => this.flushSoon(), this.config.flushIntervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Never blocks and never throws: the request that produced the row has already been answered. */
  enqueue(row: RequestMetric): void {
    if (!this.config.enabled) return;
    if (this.closed) {
      this.state.dropped++;
      this.logger.error(
        `a metric row arrived after the final flush (request ${row.requestId} outlived the shutdown); counted as dropped`,
      );
      return;
    }
    if (this.queue.length >= this.config.queueLimit) {
      this.state.dropped++;
      if (this.state.dropped === 1 || this.state.dropped % 10_000 === 0) {
        this.logger.error(
          `metrics queue full (${this.config.queueLimit} rows): ${this.state.dropped} rows dropped so far`,
        );
      }
      return;
    }
    this.queue.push(row);
    if (this.queue.length >= this.config.batchSize) this.flushSoon();
  }

  snapshot(): WriterState {
    return { queued: this.queue.length, ...this.state };
  }

  /** Resolves once every row queued so far has been written (or the queue could not be written). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.retryAt = 0;
    await this.startFlush();
  }

  /**
   * Writes every queued row before the connection pool goes away. The shutdown coordinator
   * (bootstrap) has already closed the HTTP server and let in-flight requests finish, so every row
   * a request will ever produce is queued by now. Gets half the shutdown budget, less a margin for
   * stopping the database after it.
   */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    const deadline = Date.now() + Math.max(this.app.shutdownTimeoutMs / 2 - 2_000, 1_000);
    while (this.queue.length > 0 && Date.now() < deadline) {
      await this.flush();
      if (this.queue.length > 0) await sleep(Math.min(500, deadline - Date.now()));
    }
    if (this.queue.length > 0) {
      this.state.dropped += this.queue.length;
      this.logger.error(
        `shutting down with ${this.queue.length} metric rows unwritten (${this.state.lastError}); counted as dropped`,
      );
      this.queue = [];
    }
    this.closed = true;
  }

  private flushSoon(): void {
    if (this.flushing || this.queue.length === 0 || Date.now() < this.retryAt) return;
    void this.startFlush();
  }

  private startFlush(): Promise<void> {
    this.flushing = this.writeQueued().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async writeQueued(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.config.batchSize);
      try {
        await this.dataSource.query(INSERT_METRICS_SQL, insertParameters(batch, this.userKeyOf));
      } catch (error) {
        this.noteFailure(error as Error);
        return;
      }
      this.queue.splice(0, batch.length);
      this.state.written += batch.length;
      this.state.lastFlushAt = new Date();
      if (this.consecutiveFailures > 0)
        this.logger.log(`metrics writes recovered after ${this.consecutiveFailures} failed attempts`);
      this.consecutiveFailures = 0;
      this.state.lastError = null;
    }
  }

  private noteFailure(error: Error): void {
    this.state.failedFlushes++;
    this.consecutiveFailures++;
    this.state.lastError = error.message;
    const delay = fullJitterDelayMs(this.consecutiveFailures - 1, {
      baseDelayMs: this.config.flushIntervalMs,
      maxDelayMs: MAX_RETRY_DELAY_MS,
    });
    this.retryAt = Date.now() + delay;
    if (this.consecutiveFailures === 1 || this.consecutiveFailures % 20 === 0) {
      this.logger.warn(
        `could not write ${this.queue.length} queued metric rows (${error.message}); retrying, nothing is dropped until the queue is full`,
      );
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(ms, 0)));
}
