import { Injectable, Logger, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ShadowPairRow } from './shadow-pairs.repository';
import { ShadowPairsRepository } from './shadow-pairs.repository';
import { ShadowCounters } from './shadow-counters';

/** Pairs waiting for their INSERT at most: beyond, new ones are dropped and counted. */
const QUEUE_LIMIT = 10_000;
const FLUSH_INTERVAL_MS = 100;
const BATCH = 500;

/**
 * Writes shadow pairs in batches off the request path, like MetricsWriter writes rows: a bounded
 * queue, one INSERT per batch every 100 ms, kept and retried while the database is down, drained on
 * shutdown; a pair that finds the queue full is dropped and counted (result="not_recorded").
 */
@Injectable()
export class ShadowPairWriter implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(ShadowPairWriter.name);
  private queue: ShadowPairRow[] = [];
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;

  constructor(
    private readonly pairs: ShadowPairsRepository,
    private readonly counters: ShadowCounters,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    await this.flush();
  }

  enqueue(row: ShadowPairRow, flag: string): void {
    if (this.queue.length >= QUEUE_LIMIT) {
      this.counters.count(flag, 'not_recorded');
      return;
    }
    this.queue.push(row);
  }

  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async write(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, BATCH);
      try {
        await this.pairs.insert(batch);
        this.queue = this.queue.slice(batch.length);
      } catch (error) {
        // Kept for the next flush: the pairs wait out a database outage in the bounded queue.
        this.logger.warn(`shadow pairs not written yet (${batch.length}): ${(error as Error).message}`);
        return;
      }
    }
  }
}
