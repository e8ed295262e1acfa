import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { PrometheusMetrics } from '../metrics/prometheus-metrics';
import { appConfig, type AppConfig } from '../config/app.config';
import { databaseConfig, type DatabaseConfig } from '../config/database.config';
import { SpoolFolder } from '../database/batch-spool';
import { metricsConfig, type MetricsConfig } from '../config/metrics.config';
import { BatchWriter, drainBudgetMs } from '../database/batch-writer';
import { insertJsonRowsSql, jsonRowsParameter, type JsonRowColumn } from '../database/json-rows';
import { ShutdownDeadline } from '../database/shutdown-deadline';
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

const COLUMNS: readonly JsonRowColumn[] = [
  ['id', 'uuid'],
  ['metric_key', 'text'],
  ['value', 'float8'],
  ['request_id', 'text'],
  ['user_key', 'int8'],
  ['occurred_at', 'timestamptz'],
  ['received_at', 'timestamptz'],
  ['api_key_id', 'uuid'],
  ['source', 'text'],
];

/** One INSERT per batch (json-rows.ts); a duplicate id (same idempotency key) is skipped. */
const INSERT_SQL = insertJsonRowsSql('outcome_events', COLUMNS, 'ON CONFLICT (id) DO NOTHING');

/**
 * Writes accepted outcome events through a BatchWriter, off the request path, sized like the metric
 * rows' (METRICS_FLUSH_INTERVAL_MS, METRICS_BATCH_SIZE, METRICS_QUEUE_LIMIT). Unlike metric rows, an
 * event is only accepted when it fits in the queue, so a full queue refuses (503 to the caller)
 * instead of dropping; only what is still queued when shutdown's time is up is dropped, and counted.
 * A duplicate id (the same idempotency key, from a retry or another replica) is skipped by the INSERT.
 */
@Injectable()
export class OutcomeWriter implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly writer: BatchWriter<QueuedOutcome>;
  private readonly spoolFolder: SpoolFolder;
  private refused = 0;

  constructor(
    dataSource: DataSource,
    @Inject(metricsConfig.KEY) config: MetricsConfig,
    @Inject(appConfig.KEY) app: AppConfig,
    @Inject(databaseConfig.KEY) databaseSettings: DatabaseConfig,
    prometheus: PrometheusMetrics,
    shutdownDeadline: ShutdownDeadline,
  ) {
    const userKeyOf = userKeyHasher(config.userKeySecret);
    const storedForm = (event: QueuedOutcome): unknown[] => [
      event.id,
      event.metricKey,
      event.value,
      event.requestId,
      userKeyOf(event.userId),
      event.occurredAt.getTime(),
      event.receivedAt.getTime(),
      event.apiKeyId,
      event.source,
    ];
    // Accepted events are kept on disk too while the database does not take them (see MetricsWriter).
    this.spoolFolder = new SpoolFolder({
      dataDir: databaseSettings.dataDir,
      dataSource,
      insertSql: INSERT_SQL,
      writer: 'outcomes',
      name: OutcomeWriter.name,
      items: 'outcome events',
      batchSize: config.batchSize,
    });
    this.writer = new BatchWriter<QueuedOutcome>({
      name: OutcomeWriter.name,
      items: 'outcome events',
      insert: (batch) => dataSource.query(INSERT_SQL, jsonRowsParameter(batch, storedForm)),
      spool: { file: this.spoolFolder.spool, storedForm },
      batchSize: config.batchSize,
      flushIntervalMs: config.flushIntervalMs,
      queueLimit: config.queueLimit,
      backoff: { baseDelayMs: config.flushIntervalMs, maxDelayMs: MAX_RETRY_DELAY_MS },
      shutdownBudgetMs: drainBudgetMs(app.shutdownTimeoutMs),
      shutdownDeadline,
    });
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
    this.writer.start();
  }

  /** Writes the events an earlier process on this data folder kept on disk (killed during an outage). */
  onApplicationBootstrap(): void {
    this.spoolFolder.recover();
  }

  onModuleDestroy(): void {
    this.writer.stop();
    this.spoolFolder.stop();
  }

  /** How many more events the queue takes right now (none once the final flush has run). */
  get room(): number {
    return this.writer.room;
  }

  /** Queues the events that fit and refuses the rest (counted); never blocks. Returns how many were taken. */
  enqueue(events: readonly QueuedOutcome[]): number {
    const taken = Math.min(events.length, this.writer.room);
    // Within `room`, so the writer takes each one: it never drops an accepted event here.
    for (let i = 0; i < taken; i++) this.writer.enqueue(events[i]);
    this.refused += events.length - taken;
    return taken;
  }

  snapshot(): OutcomeWriterState {
    const { queued, written, dropped, failedFlushes, lastError } = this.writer.snapshot();
    return { queued, written, refused: this.refused, dropped, failedFlushes, lastError };
  }

  /** Resolves once every event queued so far has been written (or could not be, this time). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.writer.drain();
    await this.spoolFolder.release();
  }
}
