import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { fullJitterDelayMs } from '@switchyard/retry';
import { Counter, Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { PrometheusMetrics } from '../metrics/prometheus-metrics';
import { appConfig, type AppConfig } from '../config/app.config';
import { metricsConfig, type MetricsConfig } from '../config/metrics.config';
import { userKeyHasher } from '../metrics/user-key';
import type { OutcomeEvent } from './outcome-event';

const MAX_RETRY_DELAY_MS = 5_000;

/** An accepted event as queued: when it was received and by which key. */
export interface QueuedOutcome extends OutcomeEvent {
  receivedAt: Date;
  apiKeyId: string | null;
}

export interface OutcomeWriterState {
  queued: number;
  written: number;
  /** Events refused because the queue was full (the caller got 503 for them, nothing was silently lost). */
  refused: number;
  /** Accepted events that could not be written before shutdown. */
  dropped: number;
  failedFlushes: number;
  lastError: string | null;
}

const COLUMNS: ReadonlyArray<readonly [string, string, string]> = [
  ['id', 'id', 'uuid'],
  ['metricKey', 'metric_key', 'text'],
  ['value', 'value', 'float8'],
  ['requestId', 'request_id', 'text'],
  ['userKey', 'user_key', 'int8'],
  ['occurredAt', 'occurred_at', 'timestamptz'],
  ['receivedAt', 'received_at', 'timestamptz'],
  ['apiKeyId', 'api_key_id', 'uuid'],
  ['source', 'source', 'text'],
];

/** One INSERT per batch, rows as one JSON parameter; a duplicate id (same idempotency key) is skipped. */
const INSERT_SQL =
  `INSERT INTO outcome_events (${COLUMNS.map(([, column]) => column).join(', ')}) ` +
  `SELECT ${COLUMNS.map(([field]) => `"${field}"`).join(', ')} ` +
  `FROM json_to_recordset($1::json) AS row(${COLUMNS.map(([field, , type]) => `"${field}" ${type}`).join(', ')}) ` +
  `ON CONFLICT (id) DO NOTHING`;

/**
 * Writes accepted outcome events in batches, off the request path, the way MetricsWriter writes
 * metric rows (its METRICS_* settings: flush interval, batch size, queue bound): a bounded queue,
 * one INSERT per batch, retries with backoff while the database is down. An event is only
 * accepted when it fits in the queue, so a full queue refuses (503 to the caller) instead of
 * dropping; only what is still queued when shutdown's time is up is dropped, and counted.
 */
@Injectable()
export class OutcomeWriter implements OnModuleInit, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutcomeWriter.name);
  private queue: QueuedOutcome[] = [];
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private retryAt = 0;
  private consecutiveFailures = 0;
  private closed = false;
  private readonly userKeyOf: (userId: string | null) => string | null;
  private readonly state = { written: 0, refused: 0, dropped: 0, failedFlushes: 0, lastError: null as string | null };

  constructor(
    private readonly dataSource: DataSource,
    @Inject(metricsConfig.KEY) private readonly config: MetricsConfig,
    @Inject(appConfig.KEY) private readonly app: AppConfig,
    prometheus: PrometheusMetrics,
  ) {
    this.userKeyOf = userKeyHasher(config.userKeySecret);
    this.register(prometheus);
  }

  /** The writer's queue and counts on /metrics, next to the metric rows' own. */
  private register(prometheus: PrometheusMetrics): void {
    const registers = [prometheus.registry];
    const state = () => this.snapshot();
    new Gauge({
      name: 'switchyard_outcome_events_queue_depth',
      help: 'Accepted outcome events waiting for the batched writer',
      registers,
      collect() {
        this.set(state().queued);
      },
    });
    const counters: Array<[string, string, (snapshot: OutcomeWriterState) => number]> = [
      ['switchyard_outcome_events_written_total', 'Outcome events written to Postgres since start', (s) => s.written],
      [
        'switchyard_outcome_events_refused_total',
        'Outcome events refused with 503 because the queue was full (never accepted, so not lost)',
        (s) => s.refused,
      ],
      [
        'switchyard_outcome_events_dropped_total',
        'Accepted outcome events still unwritten when shutdown ran out of time',
        (s) => s.dropped,
      ],
    ];
    for (const [name, help, read] of counters) {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read(state()));
        },
      });
    }
  }

  onModuleInit(): void {
    this.timer = setInterval(() => this.flushSoon(), this.config.flushIntervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** How many more events the queue takes right now. */
  get room(): number {
    return this.closed ? 0 : Math.max(0, this.config.queueLimit - this.queue.length);
  }

  /** Queues events that fit (check `room` first); never blocks. Returns how many were taken. */
  enqueue(events: readonly QueuedOutcome[]): number {
    const taken = Math.min(events.length, this.room);
    for (let i = 0; i < taken; i++) this.queue.push(events[i]);
    this.state.refused += events.length - taken;
    if (this.queue.length >= this.config.batchSize) this.flushSoon();
    return taken;
  }

  snapshot(): OutcomeWriterState {
    return { queued: this.queue.length, ...this.state };
  }

  /** Resolves once every event queued so far has been written (or could not be, this time). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.retryAt = 0;
    await this.startFlush();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    const deadline = Date.now() + Math.max(this.app.shutdownTimeoutMs / 2 - 2_000, 1_000);
    while (this.queue.length > 0 && Date.now() < deadline) {
      await this.flush();
      if (this.queue.length > 0)
        await new Promise((resolve) => setTimeout(resolve, Math.min(500, Math.max(0, deadline - Date.now()))));
    }
    if (this.queue.length > 0) {
      this.state.dropped += this.queue.length;
      this.logger.error(
        `shutting down with ${this.queue.length} outcome events unwritten (${this.state.lastError}); counted as dropped`,
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
      const rows = batch.map(({ userId, windowSeconds: _window, ...event }) => ({
        ...event,
        userKey: this.userKeyOf(userId),
      }));
      try {
        await this.dataSource.query(INSERT_SQL, [JSON.stringify(rows)]);
      } catch (error) {
        this.noteFailure(error as Error);
        return;
      }
      this.queue.splice(0, batch.length);
      this.state.written += batch.length;
      if (this.consecutiveFailures > 0)
        this.logger.log(`outcome writes recovered after ${this.consecutiveFailures} failed attempts`);
      this.consecutiveFailures = 0;
      this.state.lastError = null;
    }
  }

  private noteFailure(error: Error): void {
    this.state.failedFlushes++;
    this.consecutiveFailures++;
    this.state.lastError = error.message;
    this.retryAt =
      Date.now() +
      fullJitterDelayMs(this.consecutiveFailures - 1, {
        baseDelayMs: this.config.flushIntervalMs,
        maxDelayMs: MAX_RETRY_DELAY_MS,
      });
    if (this.consecutiveFailures === 1 || this.consecutiveFailures % 20 === 0)
      this.logger.warn(
        `could not write ${this.queue.length} queued outcome events (${error.message}); retrying, nothing is lost`,
      );
  }
}
