import { timingSafeEqual } from 'node:crypto';
import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { SerialReload } from '../common/serial-reload';
import { PostgresListener } from '../database/postgres-listener';
import { prefixOf, sha256 } from './api-key-format';
import { API_KEYS_CHANNEL, ApiKeysRepository } from './api-keys.repository';
import type { ApiKeyEntity } from './entities/api-key.entity';
import type { Limits } from './rate-windows';
import { actorOf, type AuthenticatedCaller } from './scopes';

/** A safety net under NOTIFY (a connection lost between two reloads): every key, every 10 s. */
const FULL_RELOAD_MS = 10_000;
/** last_used_at is written in batches, not once per request. */
const LAST_USED_FLUSH_MS = 5_000;

export interface CachedApiKey {
  hash: Buffer;
  revokedAt: Date | null;
  limits: Limits;
  /** Frozen: handed to every request of this key. */
  caller: AuthenticatedCaller;
}

/**
 * Every key (revoked ones too, to say so) in memory by prefix, so a request is authenticated with one
 * SHA-256 and one map lookup, never a query. Kept fresh like the flag cache: this replica's own changes
 * at once, other replicas' through LISTEN/NOTIFY (well under a second), and a full reload every 10 s.
 * While the database is down the last known keys keep being served.
 */
@Injectable()
export class ApiKeyCache implements OnModuleDestroy {
  private readonly logger = new Logger(ApiKeyCache.name);
  private byPrefix = new Map<string, CachedApiKey>();
  /** Key id → when it was last used (epoch ms): stored as the use's time, not the flush's. */
  private used = new Map<string, number>();
  private limited = false;
  private listening?: { stop: () => void };
  private reloadTimer?: NodeJS.Timeout;
  private touchTimer?: NodeJS.Timeout;
  private readonly reloads = new SerialReload(
    () => this.repository.findAll(),
    (entities) => {
      const loaded = new Map<string, CachedApiKey>();
      for (const entity of entities) loaded.set(entity.prefix, toCached(entity));
      this.byPrefix = loaded;
      this.recount();
    },
  );

  constructor(
    private readonly repository: ApiKeysRepository,
    private readonly listener: PostgresListener,
  ) {}

  /** Called once the bootstrap key exists (ApiKeysService), before the server takes requests. */
  async start(): Promise<void> {
    await this.reloadAll(true);
    this.listening = await this.listener.listen({
      channel: API_KEYS_CHANNEL,
      onNotification: (id) => void this.reload(id),
      onReconnected: () => this.reloadAll(),
    });
    this.reloadTimer = setInterval(() => void this.reloadAll(), FULL_RELOAD_MS);
    this.reloadTimer.unref();
    this.touchTimer = setInterval(() => void this.flushLastUsed(), LAST_USED_FLUSH_MS);
    this.touchTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.reloadTimer);
    clearInterval(this.touchTimer);
    this.listening?.stop();
    await this.flushLastUsed();
  }

  get size(): number {
    return this.byPrefix.size;
  }

  /** Whether any active key has a requests or tokens limit (else the limiter has nothing to share). */
  get hasLimitedKeys(): boolean {
    return this.limited;
  }

  /** The key `token` is, if any (revoked or not): found by prefix, compared by hash in constant time. */
  find(token: string): CachedApiKey | undefined {
    const hash = sha256(token);
    const entry = this.byPrefix.get(prefixOf(token, hash));
    return entry && timingSafeEqual(entry.hash, hash) ? entry : undefined;
  }

  /** Every key's name by id (revoked keys too: reports still show their spend). */
  namesById(): Map<string, string> {
    const names = new Map<string, string>();
    for (const key of this.byPrefix.values()) names.set(key.caller.id, key.caller.name);
    return names;
  }

  /** The key with this id, if any (revoked or not). */
  findById(id: string): CachedApiKey | undefined {
    for (const key of this.byPrefix.values()) if (key.caller.id === id) return key;
    return undefined;
  }

  markUsed(id: string): void {
    this.used.set(id, Date.now());
  }

  /** A change this replica just committed: effective here at once, before its NOTIFY comes back. */
  put(entity: ApiKeyEntity): void {
    this.byPrefix.set(entity.prefix, toCached(entity));
    this.recount();
    this.reloads.changedHere();
  }

  async reloadAll(failHard = false): Promise<void> {
    try {
      await this.reloads.reload();
    } catch (error) {
      if (failHard) throw error;
      this.logger.warn(
        `API key reload failed (${(error as Error).message}); serving the ${this.byPrefix.size} last known keys`,
      );
    }
  }

  private recount(): void {
    this.limited = [...this.byPrefix.values()].some(
      (key) => !key.revokedAt && (key.limits.requestsPerMinute !== null || key.limits.tokensPerMinute !== null),
    );
  }

  private async reload(id: string): Promise<void> {
    try {
      const entity = await this.repository.findById(id);
      if (entity) this.put(entity);
    } catch (error) {
      this.logger.warn(`API key reload failed (${(error as Error).message}); the next full reload retries`);
    }
  }

  private async flushLastUsed(): Promise<void> {
    if (this.used.size === 0) return;
    const uses = this.used;
    this.used = new Map();
    try {
      await this.repository.touch(uses);
    } catch (error) {
      // Only timestamps: tried again with the next batch (a newer use of the same key wins).
      for (const [id, at] of uses) if (!this.used.has(id)) this.used.set(id, at);
      this.logger.warn(`could not record last use of ${uses.size} API keys (${(error as Error).message})`);
    }
  }
}

function toCached(entity: ApiKeyEntity): CachedApiKey {
  return {
    hash: Buffer.from(entity.keyHash, 'hex'),
    revokedAt: entity.revokedAt,
    limits: { requestsPerMinute: entity.requestsPerMinute, tokensPerMinute: entity.tokensPerMinute },
    caller: Object.freeze({
      id: entity.id,
      name: entity.name,
      prefix: entity.prefix,
      scopes: Object.freeze([...entity.scopes]),
      policies: entity.policies ? Object.freeze([...entity.policies]) : null,
      actor: actorOf(entity),
    }),
  };
}
