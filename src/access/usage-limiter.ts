import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { newReplicaName } from '../common/replica-name';
import { accessConfig, type AccessConfig } from '../config/access.config';
import { KeyLimitReached } from './access-denied.exception';
import { ApiKeyCache, type CachedApiKey } from './api-key-cache';
import { ApiKeyUsageRepository } from './api-key-usage.repository';
import { RateWindows, WINDOW_MS, type Admission } from './rate-windows';

/** Windows older than this are deleted every ten minutes; admission only reads the current one. */
const USAGE_RETENTION_MS = 60 * 60_000;

/**
 * Requests- and tokens-per-minute limits of each key, shared by every replica through Postgres
 * without a query on the request path: admission is decided in memory (RateWindows), and every
 * RATE_LIMIT_SYNC_MS (200 ms) this replica's counts are added to `api_key_usage` in one upsert and
 * the current minute's totals of every key are read back (two small queries, and none at all when no
 * key has a limit). If Postgres is unreachable each replica goes on with what it knows. A sync whose
 * answer never came (the connection died, perhaps after the commit) keeps its counts in flight until
 * the replica's receipt says whether they were added, so they are added once.
 */
@Injectable()
export class UsageLimiter implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(UsageLimiter.name);
  private readonly windows = new RateWindows();
  /** Per app, not per process: two apps in one test process are two replicas. */
  readonly replica = newReplicaName();
  private syncsStarted = 0;
  /** A sync whose counts went to Postgres without an answer: they stay in flight until its receipt is read. */
  private unsettledSync: number | null = null;
  private timer?: NodeJS.Timeout;
  private syncing?: Promise<void>;
  private failing = false;

  constructor(
    private readonly usage: ApiKeyUsageRepository,
    private readonly cache: ApiKeyCache,
    @Inject(accessConfig.KEY) private readonly config: AccessConfig,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.sync(), this.config.usageSyncMs);
    this.timer.unref();
  }

  /** What this replica counted goes to the shared windows before it stops. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sync();
  }

  /**
   * Counts the request if the key's limits let it through. Returns undefined for a key without limits
   * (nothing to count, no headers); throws KeyLimitReached (429 with Retry-After and x-ratelimit-*) when over a limit.
   */
  admit(key: CachedApiKey, now = Date.now()): Admission | undefined {
    const { limits } = key;
    if (limits.requestsPerMinute === null && limits.tokensPerMinute === null) return undefined;
    const admission = this.windows.admit(key.caller.id, limits, now);
    if (admission.allowed) return admission;
    const exceeded =
      admission.exceeded === 'requests'
        ? { requestsPerMinute: limits.requestsPerMinute! }
        : { tokensPerMinute: limits.tokensPerMinute! };
    throw new KeyLimitReached(key.caller, exceeded, {
      retryAfterSeconds: admission.retryAfterSeconds,
      headers: admission.headers,
    });
  }

  /** Prompt + completion tokens of a finished request of a key with a token limit. */
  addTokens(key: CachedApiKey, tokens: number, now = Date.now()): void {
    if (key.limits.tokensPerMinute === null) return;
    this.windows.addTokens(key.caller.id, tokens, now);
  }

  /** One upsert of what was counted here, one read of the current window's totals; never overlapping. */
  sync(): Promise<void> {
    this.syncing ??= this.syncOnce().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  @Cron(CronExpression.EVERY_10_MINUTES, { name: 'api-key-usage-cleanup' })
  async scheduledCleanup(): Promise<void> {
    await this.deleteOldWindows().catch((error: Error) =>
      this.logger.warn(`usage window cleanup failed: ${error.message}`),
    );
  }

  /** Every replica runs it; the DELETE is idempotent, so no lock is needed. */
  async deleteOldWindows(now = Date.now()): Promise<number> {
    return this.usage.deleteBefore(new Date(now - USAGE_RETENTION_MS - WINDOW_MS));
  }

  private async syncOnce(): Promise<void> {
    if (this.unsettledSync === null && this.windows.size === 0 && !this.cache.hasLimitedKeys) return;
    try {
      if (this.unsettledSync !== null) {
        if ((await this.usage.lastCommitted(this.replica)) >= this.unsettledSync) this.windows.inFlightStored();
        else this.windows.failSync();
        this.unsettledSync = null;
      }
      const batch = this.windows.startSync(Date.now());
      const sync = ++this.syncsStarted;
      // Unsettled until Postgres answers: if the answer never comes, the receipt will tell.
      if (batch.deltas.length > 0) this.unsettledSync = sync;
      const added = await this.usage.add(batch.deltas, this.replica, sync);
      this.unsettledSync = null;
      this.windows.completeSync(added, batch.currentWindowStart);
      this.windows.completeSync(await this.usage.totals(batch.currentWindowStart), batch.currentWindowStart);
      if (this.failing) this.logger.log('rate-limit windows are shared across replicas again');
      this.failing = false;
    } catch (error) {
      if (!this.failing) {
        this.logger.warn(
          `could not share rate-limit counts (${(error as Error).message}); each replica limits on its own counts until Postgres answers`,
        );
      }
      this.failing = true;
    }
  }
}
