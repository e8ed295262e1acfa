import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { PostgresListener } from '../database/postgres-listener';
import { assertServable, toDefinition } from './flag-mapper';
import type { FlagDefinition } from './flag.types';
import { FLAGS_CHANNEL, FlagsRepository } from './flags.repository';

const FULL_RELOAD_MS = 30_000;

/**
 * Every active flag in memory, so evaluation never waits on the database. Kept fresh three ways:
 * the service puts its own changes in at once; LISTEN on `switchyard_flags` brings other replicas'
 * changes (each change NOTIFYs in its transaction); a full reload every 30 s catches anything a
 * dropped connection lost. When the database is down the last known flags keep being served.
 */
@Injectable()
export class FlagCache implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(FlagCache.name);
  private flags = new Map<string, FlagDefinition>();
  private listening?: { stop: () => void };
  private reloadTimer?: NodeJS.Timeout;
  private everLoaded = false;

  constructor(
    private readonly repository: FlagsRepository,
    private readonly listener: PostgresListener,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.reloadAll();
    this.listening = await this.listener.listen({
      channel: FLAGS_CHANNEL,
      onNotification: (key) => void this.reload(key),
      onReconnected: () => this.reloadAll(),
    });
    this.reloadTimer = setInterval(() => void this.reloadAll().catch(() => undefined), FULL_RELOAD_MS);
    this.reloadTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.reloadTimer);
    this.listening?.stop();
  }

  /** True once the flags have been read from the database (readiness: routing can serve). */
  get loaded(): boolean {
    return this.everLoaded;
  }

  get(key: string): FlagDefinition | undefined {
    return this.flags.get(key);
  }

  /** Every flag served now (active ones). */
  all(): FlagDefinition[] {
    return [...this.flags.values()];
  }

  /** A change this replica just committed: visible here at once, before its NOTIFY comes back. */
  put(flag: FlagDefinition): void {
    const current = this.flags.get(flag.key);
    if (current && current.version > flag.version) return;
    if (flag.archivedAt) this.flags.delete(flag.key);
    else this.flags.set(flag.key, flag);
  }

  async reloadAll(): Promise<void> {
    try {
      const loaded = new Map<string, FlagDefinition>();
      for (const entity of await this.repository.findAll()) {
        const flag = this.servable(toDefinition(entity));
        if (!flag) continue;
        // A change that landed here while the query ran must not be replaced by the older row.
        const current = this.flags.get(flag.key);
        loaded.set(flag.key, current && current.version > flag.version ? current : flag);
      }
      this.flags = loaded;
      this.everLoaded = true;
    } catch (error) {
      this.logger.warn({ err: error }, `flag reload failed; serving the ${this.flags.size} last known flags`);
    }
  }

  async reload(key: string): Promise<void> {
    try {
      const entity = await this.repository.findByKey(key);
      if (!entity) {
        this.flags.delete(key);
        return;
      }
      const flag = this.servable(toDefinition(entity));
      if (flag) this.put(flag);
    } catch (error) {
      this.logger.warn({ err: error, flag: key }, 'flag reload failed; the next full reload retries');
    }
  }

  private servable(flag: FlagDefinition): FlagDefinition | undefined {
    try {
      assertServable(flag);
      return Object.freeze(flag);
    } catch (error) {
      this.logger.error({ flag: flag.key }, `flag not loaded: ${(error as Error).message}`);
      return undefined;
    }
  }
}
