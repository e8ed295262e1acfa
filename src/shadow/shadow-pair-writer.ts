import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { appConfig, type AppConfig } from '../config/app.config';
import { BatchWriter, drainBudgetMs, type BatchWriterState } from '../database/batch-writer';
import { ShutdownDeadline } from '../database/shutdown-deadline';
import { ShadowCounters } from './shadow-counters';
import type { ShadowPairRow } from './shadow-pairs.repository';
import { ShadowPairsRepository } from './shadow-pairs.repository';

/** Pairs waiting for their INSERT at most: beyond, new ones are dropped and counted. */
const QUEUE_LIMIT = 10_000;
const FLUSH_INTERVAL_MS = 100;
const BATCH = 500;
const MAX_RETRY_DELAY_MS = 5_000;

/** A pair as queued: with its flag, the label it is counted under if it cannot be written. */
interface QueuedPair {
  row: ShadowPairRow;
  flag: string;
}

/**
 * Writes shadow pairs through a BatchWriter, off the request path: one INSERT per batch every
 * 100 ms, kept and retried with backoff while the database is down, drained on shutdown. A pair
 * that finds the queue full, arrives after the final flush or is still unwritten when shutdown's
 * time is up is counted as result="not_recorded" in switchyard_shadow_calls_total.
 */
@Injectable()
export class ShadowPairWriter implements OnModuleInit, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly writer: BatchWriter<QueuedPair>;

  constructor(
    pairs: ShadowPairsRepository,
    counters: ShadowCounters,
    @Inject(appConfig.KEY) app: AppConfig,
    shutdownDeadline: ShutdownDeadline,
  ) {
    const notRecorded = (pair: QueuedPair) => counters.count(pair.flag, 'not_recorded');
    this.writer = new BatchWriter<QueuedPair>({
      name: ShadowPairWriter.name,
      items: 'shadow pairs',
      insert: (batch) => pairs.insert(batch.map((pair) => pair.row)),
      batchSize: BATCH,
      flushIntervalMs: FLUSH_INTERVAL_MS,
      queueLimit: QUEUE_LIMIT,
      backoff: { baseDelayMs: FLUSH_INTERVAL_MS, maxDelayMs: MAX_RETRY_DELAY_MS },
      shutdownBudgetMs: drainBudgetMs(app.shutdownTimeoutMs),
      shutdownDeadline,
      onDropped: notRecorded,
      onAbandoned: (unwritten) => unwritten.forEach(notRecorded),
    });
  }

  onModuleInit(): void {
    this.writer.start();
  }

  onModuleDestroy(): void {
    this.writer.stop();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.writer.drain();
  }

  enqueue(row: ShadowPairRow, flag: string): void {
    this.writer.enqueue({ row, flag });
  }

  snapshot(): BatchWriterState {
    return this.writer.snapshot();
  }

  /** Resolves once every pair queued so far has been written (or could not be, this time). */
  flush(): Promise<void> {
    return this.writer.flush();
  }
}
