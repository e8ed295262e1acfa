import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { assertServable, toDefinition } from './flag-mapper';
import type { FlagDefinition } from './flag.types';
import { FLAGS_CHANNEL, FlagsRepository } from './flags.repository';

const FULL_RELOAD_MS = 30_000;
const RECONNECT_DELAY_MS = 1_000;

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
  private listener?: Client;
  private reloadTimer?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private stopped = false;
  private everLoaded = false;

  constructor(
    private readonly repository: FlagsRepository,
    private readonly dataSource: DataSource,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.reloadAll();
    await this.listen();
    this.reloadTimer = setInterval(() => void this.reloadAll().catch(() => undefined), FULL_RELOAD_MS);
    this.reloadTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.reloadTimer);
    clearTimeout(this.reconnectTimer);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
  }

  /** True once the flags have been read from the database (readiness: routing can serve). */
  get loaded(): boolean {
    return this.everLoaded;
  }

  get(key: string): FlagDefinition | undefined {
    return this.flags.get(key);
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
      for (const entity of await this.repository.findAll(false)) {
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

  /** A dedicated connection: a pooled one would be handed to other queries and lose the LISTEN. */
  private async listen(): Promise<void> {
    if (this.stopped) return;
    // The pool's URL (DATABASE_URL or the embedded server's), so the listener reaches the same database.
    const { url } = this.dataSource.options as { url?: string };
    const client = new Client({ connectionString: url, application_name: 'switchyard-flags-listener' });
    const retry = (error?: Error) => {
      if (this.stopped || this.listener !== client) return;
      this.listener = undefined;
      if (error) this.logger.warn({ err: error }, 'flag listener lost its connection; reconnecting');
      client.end().catch(() => undefined);
      this.reconnectTimer = setTimeout(() => void this.listen(), RECONNECT_DELAY_MS);
      this.reconnectTimer.unref();
    };
    this.listener = client;
    client.on('error', retry);
    client.on('end', () => retry());
    client.on('notification', (message) => {
      if (message.channel === FLAGS_CHANNEL && message.payload) void this.reload(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${FLAGS_CHANNEL}`);
      // Changes made while we were not listening were never delivered to us.
      if (this.reconnectTimer) await this.reloadAll();
    } catch (error) {
      retry(error as Error);
    }
  }
}
