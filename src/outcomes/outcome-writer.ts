import {
  Inject,
  Injectable,
  Logger,
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
  /** Events stored; a retry of a stored one with the same content counts too (it is stored, once). */
  written: number;
  /** Events refused because the queue was full (the caller got 503 for them, nothing was silently lost). */
  refused: number;
  /** Accepted events that could not be written before shutdown. */
  dropped: number;
  /**
   * Accepted events not stored because their idempotency key was already stored with another value,
   * request or user: the first is kept. The caller had its 202 (ingestion does not read the table).
   */
  conflicts: number;
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

const at = (name: string) => COLUMNS.findIndex(([column]) => column === name);
const ID = at('id');
const METRIC_KEY = at('metric_key');
const VALUE = at('value');
const REQUEST_ID = at('request_id');
const USER_KEY = at('user_key');
/**
 * A row as sent (and spooled) holds the idempotency key after the columns: the INSERT does not read
 * it, a conflict is logged by it. A row an older version spooled has none.
 */
const IDEMPOTENCY_KEY = COLUMNS.length;

/**
 * One INSERT per batch (json-rows.ts); a duplicate id (same idempotency key) is skipped. The ids it
 * stored come back, so the writer knows which rows it skipped.
 */
const INSERT_SQL = insertJsonRowsSql('outcome_events', COLUMNS, 'ON CONFLICT (id) DO NOTHING RETURNING id');
/** What is stored under the ids an INSERT skipped: the content a retry must repeat to be one. */
const STORED_SQL =
  'SELECT id, value, request_id, user_key::text AS user_key FROM outcome_events WHERE id = ANY($1::uuid[])';
/** Conflicts named in the one log line of a batch; the rest are counted. */
const LOGGED_CONFLICTS = 10;

/** What a skipped row is compared with, as STORED_SQL reads it. */
export interface StoredOutcome {
  id: string;
  value: number;
  request_id: string | null;
  user_key: string | null;
}

/** An event not stored: its id (metric + idempotency key) holds other content, which is kept. */
export interface IdempotencyConflict {
  id: string;
  metricKey: string;
  idempotencyKey: string | null;
  value: number;
  /** Whether it attaches to another request or user than the stored one (else only the value differs). */
  otherSubject: boolean;
  stored: StoredOutcome;
}

/**
 * The ids of `rows` the INSERT skipped, given the ids it returned: an id stored once skips the
 * batch's other rows with that id, and an id already in the table skips them all.
 */
export function skippedIds(rows: readonly unknown[][], inserted: readonly string[]): string[] {
  const storedOnce = new Set(inserted);
  const skipped = new Set<string>();
  for (const row of rows) {
    const id = row[ID] as string;
    if (!storedOnce.delete(id)) skipped.add(id);
  }
  return [...skipped];
}

/**
 * The rows whose content differs from what is stored under their id: the value, or the request or
 * user it counts for. Not occurredAt: a retry that leaves it out is given its own now. A row the
 * same as the stored one (a retry, or the very row stored) is no conflict.
 */
export function conflictsAmong(rows: readonly unknown[][], stored: readonly StoredOutcome[]): IdempotencyConflict[] {
  const byId = new Map(stored.map((row) => [row.id, row]));
  return rows.flatMap((row) => {
    const kept = byId.get(row[ID] as string);
    if (!kept) return [];
    const otherSubject = row[REQUEST_ID] !== kept.request_id || row[USER_KEY] !== kept.user_key;
    if (!otherSubject && row[VALUE] === kept.value) return [];
    return [
      {
        id: kept.id,
        metricKey: row[METRIC_KEY] as string,
        idempotencyKey: (row[IDEMPOTENCY_KEY] as string | null | undefined) ?? null,
        value: row[VALUE] as number,
        otherSubject,
        stored: kept,
      },
    ];
  });
}

/**
 * Writes accepted outcome events through a BatchWriter, off the request path, sized like the metric
 * rows' (METRICS_FLUSH_INTERVAL_MS, METRICS_BATCH_SIZE, METRICS_QUEUE_LIMIT). Unlike metric rows, an
 * event is only accepted when it fits in the queue, so a full queue refuses (503 to the caller)
 * instead of dropping; only what is still queued when shutdown's time is up is dropped, and counted.
 * A duplicate id (the same idempotency key, from a retry or another replica) is skipped by the INSERT;
 * one whose content differs from the stored row's is an event not stored, counted as dropped (reason
 * idempotency_conflict) and logged. Ingestion cannot tell: it answers before the table is read.
 */
@Injectable()
export class OutcomeWriter implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutcomeWriter.name);
  private readonly writer: BatchWriter<QueuedOutcome>;
  private readonly spoolFolder: SpoolFolder;
  private refused = 0;
  /** Conflicts in the writer's own batches, which the BatchWriter counts as written. */
  private batchConflicts = 0;
  /** Conflicts in the rows earlier processes spooled. */
  private recoveredConflicts = 0;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(metricsConfig.KEY) config: MetricsConfig,
    @Inject(appConfig.KEY) app: AppConfig,
    @Inject(databaseConfig.KEY) databaseSettings: DatabaseConfig,
    prometheus: PrometheusMetrics,
    shutdownDeadline: ShutdownDeadline,
  ) {
    const userKeyOf = userKeyHasher(config.userKeySecret);
    const rowOf = (event: QueuedOutcome): unknown[] => [
      event.id,
      event.metricKey,
      event.value,
      event.requestId,
      userKeyOf(event.userId),
      event.occurredAt.getTime(),
      event.receivedAt.getTime(),
      event.apiKeyId,
      event.source,
      event.idempotencyKey,
    ];
    // Accepted events are kept on disk too while the database does not take them (see MetricsWriter).
    this.spoolFolder = new SpoolFolder({
      dataDir: databaseSettings.dataDir,
      dataSource,
      insert: async (rows) => {
        this.recoveredConflicts += await this.write(rows);
      },
      writer: 'outcomes',
      name: OutcomeWriter.name,
      items: 'outcome events',
      batchSize: config.batchSize,
    });
    this.writer = new BatchWriter<QueuedOutcome>({
      name: OutcomeWriter.name,
      items: 'outcome events',
      insert: async (batch) => {
        this.batchConflicts += await this.write(batch.map(rowOf));
      },
      spool: { file: this.spoolFolder.spool, storedForm: rowOf },
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
    new Counter({
      name: 'switchyard_outcome_events_dropped_total',
      help:
        'Accepted outcome events not stored, by reason: shutdown (still unwritten when shutdown ran out of time), ' +
        'idempotency_conflict (the idempotency key was already stored with another value, request or user; the first is kept)',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        const { dropped, conflicts } = state();
        this.inc({ reason: 'shutdown' }, dropped);
        this.inc({ reason: 'idempotency_conflict' }, conflicts);
      },
    });
  }

  /**
   * One INSERT of `rows` (stored form), then, only if it skipped some, what is stored under their ids:
   * a retry with the same content is what idempotency keys are for; other content under a stored key
   * is an event not stored, logged here and counted by the caller. A failed read fails the write: the
   * batch is sent again, all of it skipped then, so every row is compared.
   */
  private async write(rows: unknown[][]): Promise<number> {
    const inserted: Array<{ id: string }> = await this.dataSource.query(
      INSERT_SQL,
      jsonRowsParameter(rows, (row) => row),
    );
    const skipped = skippedIds(
      rows,
      inserted.map((row) => row.id),
    );
    if (skipped.length === 0) return 0;
    const stored: StoredOutcome[] = await this.dataSource.query(STORED_SQL, [skipped]);
    const conflicts = conflictsAmong(rows, stored);
    if (conflicts.length > 0) this.logger.warn(conflictLine(conflicts));
    return conflicts.length;
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
    return {
      queued,
      written: written - this.batchConflicts,
      refused: this.refused,
      dropped,
      conflicts: this.batchConflicts + this.recoveredConflicts,
      failedFlushes,
      lastError,
    };
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

/** One line per batch: the count, and the first conflicts by metric and idempotency key (user ids are not at hand). */
export function conflictLine(conflicts: readonly IdempotencyConflict[]): string {
  const named = conflicts.slice(0, LOGGED_CONFLICTS).map((conflict) => {
    const key =
      conflict.idempotencyKey === null
        ? `id ${conflict.id}`
        : `idempotencyKey ${JSON.stringify(conflict.idempotencyKey)}`;
    const what = conflict.otherSubject
      ? `another ${conflict.stored.request_id !== null ? 'request' : 'user'}`
      : `value ${conflict.value}, stored ${conflict.stored.value}`;
    return `${conflict.metricKey} ${key} (${what})`;
  });
  const more = conflicts.length > LOGGED_CONFLICTS ? `; ${conflicts.length - LOGGED_CONFLICTS} more` : '';
  return (
    `${conflicts.length} outcome events not stored: their idempotency key was already stored with other content, ` +
    `which is kept (counted as dropped, reason idempotency_conflict): ${named.join('; ')}${more}`
  );
}
