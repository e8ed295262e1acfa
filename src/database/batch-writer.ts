import { Logger } from '@nestjs/common';
import { fullJitterDelayMs, type BackoffPolicy } from '@switchyard/retry';
import { within } from '../common/within';
import type { BatchSpool } from './batch-spool';
import { DATABASE_STOP_MARGIN_MS } from './shutdown-deadline';

/** Why `enqueue` could not take an item: the queue is at its bound, or the final flush has run. */
export type DropReason = 'queue_full' | 'closed';

export interface BatchWriterOptions<T> {
  /** Names the writer in its logs (the owning class, e.g. "MetricsWriter"). */
  name: string;
  /** What the items are, plural, for log lines: "metric rows". */
  items: string;
  /** Writes one batch in one statement; a rejection keeps the whole batch queued for the next try. */
  insert: (batch: T[]) => Promise<unknown>;
  /** Items per INSERT; a queue this long is flushed at once rather than on the next interval. */
  batchSize: number;
  flushIntervalMs: number;
  /** Items queued at most: beyond, `enqueue` drops and counts. */
  queueLimit: number;
  /** Wait before the next try after a failed write (full jitter, doubling per consecutive failure). */
  backoff: BackoffPolicy;
  /** How long `drain` keeps trying to write what is queued before counting it as dropped. */
  shutdownBudgetMs: number;
  /**
   * The shutdown's shared end for every writer (ShutdownDeadline): `drain` stops there at the latest,
   * and once it has come the writer counts what is left even if `drain` never ran (an earlier
   * shutdown hook stuck on a database that hangs).
   */
  shutdownDeadline?: { get(): number | undefined; whenReached(callback: () => void): void };
  /**
   * Where items also go while writes fail, and what is unwritten at shutdown, in each item's stored
   * form (what its INSERT takes): a process killed during an outage leaves them for the next one
   * (recoverSpools). Without it they live in memory only.
   */
  spool?: { file: BatchSpool; storedForm: (item: T) => unknown[] };
  /** Says which item arrived after the final flush, for the log line ("request …"). */
  describe?: (item: T) => string;
  /** Called for an item `enqueue` refused, after it is counted in `dropped` (per-item counters, logs). */
  onDropped?: (item: T, reason: DropReason) => void;
  /** Called with the items still unwritten when `drain` ran out of time, after they are counted in `dropped`. */
  onAbandoned?: (items: readonly T[]) => void;
  /**
   * The time retries and the shutdown budget are measured in. Real time by default, not the app's
   * Clock: these waits are about the database coming back, and e2e tests that hold a ManualClock
   * still take the database down and expect the rows to follow once it is up. Unit tests pass one.
   */
  time?: { nowMs(): number };
  /** The backoff's jitter, in [0, 1); Math.random by default. Unit tests pin it. */
  random?: () => number;
}

export interface BatchWriterState {
  queued: number;
  /** Of the queued items, those also handed to the spool file (0 without one). */
  spooled: number;
  /**
   * The database is not taking the items: the last write failed, or the one under way has gone
   * unanswered longer than a healthy one takes (a database that hangs). False again once one succeeds.
   */
  failing: boolean;
  written: number;
  /** Items refused by `enqueue` (queue full, or after the final flush) and items `drain` could not write. */
  dropped: number;
  failedFlushes: number;
  lastError: string | null;
  lastFlushAt: Date | null;
}

const realTime = { nowMs: () => Date.now() };
/** Full-queue drops are logged on the first one and every this many after. */
const DROP_LOG_EVERY = 10_000;
/** Consecutive failed writes are logged on the first one and every this many after. */
const FAILURE_LOG_EVERY = 20;
/** The longest pause between two tries of the final flush. */
const DRAIN_PAUSE_MS = 500;
/**
 * A write unanswered this long is taken for a database that hangs: what is queued goes to the spool,
 * as after a failed write. A healthy INSERT of a full batch takes a few tens of milliseconds.
 */
const STUCK_WRITE_MS = 1_000;

/**
 * The one way rows are written off the request path (metric rows, outcome events, shadow pairs):
 * items wait in a bounded in-memory queue and go out in one INSERT per batch, every flush interval
 * or as soon as a batch is full. While the database is down the items stay queued and the write is
 * retried with backoff; only what the queue cannot take, or what is still queued when the shutdown
 * budget is spent, is dropped — and every such item is counted, never lost silently.
 *
 * `enqueue` is on the request path: it allocates nothing and never throws. The owner calls `start`,
 * `stop` and `drain` from its Nest lifecycle hooks.
 */
export class BatchWriter<T> {
  private readonly logger: Logger;
  private readonly time: { nowMs(): number };
  private queue: T[] = [];
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private retryAt = 0;
  private consecutiveFailures = 0;
  /** Set once the final flush has run: an item arriving after it can only be counted as dropped. */
  private closed = false;
  /** The batch of the INSERT under way, if any, and when it was sent. */
  private inFlight?: T[];
  private inFlightSince = 0;
  /** An INSERT the final flush stopped waiting for, its rows counted as dropped: it may still succeed. */
  private abandonedInFlight?: T[];
  /** How many items at the front of the queue are in the spool file too. */
  private spooled = 0;
  /** Whether anything was spooled since the file was last cleared. */
  private spoolInUse = false;
  private readonly state = {
    written: 0,
    dropped: 0,
    failedFlushes: 0,
    lastError: null as string | null,
    lastFlushAt: null as Date | null,
  };

  constructor(private readonly options: BatchWriterOptions<T>) {
    this.logger = new Logger(options.name);
    this.time = options.time ?? realTime;
    options.shutdownDeadline?.whenReached(() => this.close());
  }

  /** Flushes on the interval from now on; the timer does not keep the process alive. */
  start(): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => this.flushSoon(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** How many more items `enqueue` takes right now (0 once the final flush has run). */
  get room(): number {
    return this.closed ? 0 : Math.max(0, this.options.queueLimit - this.queue.length);
  }

  /** Queues the item, or drops and counts it. Never blocks and never throws. */
  enqueue(item: T): boolean {
    if (this.closed) {
      this.drop(item, 'closed');
      return false;
    }
    if (this.queue.length >= this.options.queueLimit) {
      this.drop(item, 'queue_full');
      return false;
    }
    this.queue.push(item);
    if (this.queue.length >= this.options.batchSize) this.flushSoon();
    return true;
  }

  snapshot(): BatchWriterState {
    const failing = this.consecutiveFailures > 0 || this.writeStuck();
    return { queued: this.queue.length, spooled: this.spooled, failing, ...this.state };
  }

  /** Resolves once every item queued so far has been written (or could not be, this time). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.retryAt = 0;
    await this.startFlush();
  }

  /**
   * The final flush: tries to write everything queued until the shutdown budget is spent (or the
   * shutdown's shared deadline has come), then counts what is left as dropped. An INSERT still
   * unanswered then (a database that hangs rather than refuses) is not waited for: its rows are
   * counted too, so the count is reported before the process's own bound ends it; should it succeed
   * after all, its rows move back from dropped to written, with a log line. From then on `enqueue`
   * drops (and counts) what still arrives.
   */
  async drain(): Promise<void> {
    this.stop();
    const deadline = Math.min(
      this.time.nowMs() + this.options.shutdownBudgetMs,
      this.options.shutdownDeadline?.get() ?? Infinity,
    );
    while (this.queue.length > 0 && this.time.nowMs() < deadline) {
      if (!(await within(this.flush(), deadline - this.time.nowMs()))) break;
      if (this.queue.length > 0) await pause(Math.min(DRAIN_PAUSE_MS, deadline - this.time.nowMs()));
    }
    this.close();
    await this.options.spool?.file.settled();
  }

  /**
   * The end of the final flush (drain's, or the shared deadline's when it comes first): what is
   * still queued is counted as dropped and logged, and `enqueue` drops from now on. Runs once.
   */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stop();
    if (this.queue.length === 0) return;
    const abandoned = this.queue;
    this.spoolQueued();
    this.queue = [];
    this.spooled = 0;
    // An INSERT still under way, whether drain started it or found it, is not waited for.
    this.abandonedInFlight = this.inFlight;
    this.state.dropped += abandoned.length;
    // Sent but unconfirmed: once the pool closes, the database may still store them, unseen by us.
    const why = this.inFlight
      ? `the database did not answer in time; it may still store the ${this.inFlight.length} of them already sent`
      : (this.state.lastError ?? 'the shutdown deadline came before they could be written');
    const kept = this.options.spool
      ? `; kept in ${this.options.spool.file.file} for the next start on this folder to write`
      : '';
    this.logger.error(
      `shutting down with ${abandoned.length} ${this.options.items} unwritten (${why}); counted as dropped${kept}`,
    );
    this.options.onAbandoned?.(abandoned);
  }

  private drop(item: T, reason: DropReason): void {
    this.state.dropped++;
    if (reason === 'closed') {
      const which = this.options.describe ? ` (${this.options.describe(item)})` : '';
      this.logger.error(`one of the ${this.options.items} arrived after the final flush${which}; counted as dropped`);
    } else if (this.state.dropped === 1 || this.state.dropped % DROP_LOG_EVERY === 0) {
      this.logger.error(
        `queue full (${this.options.queueLimit} ${this.options.items}): ${this.state.dropped} ${this.options.items} dropped so far`,
      );
    }
    this.options.onDropped?.(item, reason);
  }

  private flushSoon(): void {
    if (this.consecutiveFailures > 0 || this.writeStuck()) this.spoolQueued();
    if (this.flushing || this.queue.length === 0 || this.time.nowMs() < this.retryAt) return;
    void this.startFlush();
  }

  private writeStuck(): boolean {
    return this.inFlight !== undefined && this.time.nowMs() - this.inFlightSince > STUCK_WRITE_MS;
  }

  private startFlush(): Promise<void> {
    this.flushing = this.writeQueued().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async writeQueued(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.options.batchSize);
      this.inFlight = batch;
      this.inFlightSince = this.time.nowMs();
      try {
        await this.options.insert(batch);
      } catch (error) {
        // An abandoned INSERT that fails late changes nothing: its rows are already counted as dropped.
        if (batch !== this.abandonedInFlight) this.noteFailure(error as Error);
        return;
      } finally {
        this.inFlight = undefined;
      }
      if (batch === this.abandonedInFlight) {
        this.writtenAfterAll(batch);
        return;
      }
      // Items queued meanwhile were appended behind the batch, which is still at the front.
      this.queue.splice(0, batch.length);
      this.spooled = Math.max(0, this.spooled - batch.length);
      // Everything ever spooled has left the queue by being written: the file has nothing left to keep.
      if (this.queue.length === 0 && this.spoolInUse) {
        this.spoolInUse = false;
        void this.options.spool?.file.clear();
      }
      this.state.written += batch.length;
      this.state.lastFlushAt = new Date(this.time.nowMs());
      if (this.consecutiveFailures > 0)
        this.logger.log(`${this.options.items} written again after ${this.consecutiveFailures} failed attempts`);
      this.consecutiveFailures = 0;
      this.state.lastError = null;
    }
  }

  /** The final flush counted these as dropped when their INSERT did not answer in time; it has now. */
  private writtenAfterAll(batch: readonly T[]): void {
    this.abandonedInFlight = undefined;
    this.state.dropped -= batch.length;
    this.state.written += batch.length;
    this.logger.warn(
      `${batch.length} ${this.options.items} counted as dropped at shutdown were written after all; no longer counted as dropped`,
    );
  }

  /** Adds the queued items not yet in the spool file to it. */
  private spoolQueued(): void {
    const spool = this.options.spool;
    if (!spool || this.spooled >= this.queue.length) return;
    const rows = this.queue.slice(this.spooled).map(spool.storedForm);
    this.spooled = this.queue.length;
    this.spoolInUse = true;
    void spool.file.append(rows);
  }

  private noteFailure(error: Error): void {
    this.spoolQueued();
    this.state.failedFlushes++;
    this.consecutiveFailures++;
    this.state.lastError = error.message;
    this.retryAt =
      this.time.nowMs() + fullJitterDelayMs(this.consecutiveFailures - 1, this.options.backoff, this.options.random);
    if (this.consecutiveFailures === 1 || this.consecutiveFailures % FAILURE_LOG_EVERY === 0) {
      this.logger.warn(
        `could not write ${this.queue.length} queued ${this.options.items} (${error.message}); retrying, nothing is dropped until the queue is full`,
      );
    }
  }
}

/**
 * A writer's share of SHUTDOWN_TIMEOUT_MS for its final flush: half (the other half waited for the
 * requests that produce its rows), less a margin for stopping the database after it; at least a second.
 */
export function drainBudgetMs(shutdownTimeoutMs: number): number {
  return Math.max(shutdownTimeoutMs / 2 - DATABASE_STOP_MARGIN_MS, 1_000);
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(ms, 0)));
}
