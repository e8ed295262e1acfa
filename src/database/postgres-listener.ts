import { Global, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { DATABASE_CONNECT_TIMEOUT_MS, KEEPALIVE_AFTER_MS } from './data-source-options';

const RECONNECT_DELAY_MS = 1_000;
/** At shutdown, how long a goodbye to a database that does not answer may take before the socket is closed. */
const CLOSE_WAIT_MS = 1_000;

export interface ChannelSubscription {
  channel: string;
  onNotification: (payload: string) => void;
  /** After a reconnection: whatever was NOTIFYed while the connection was down never arrives. */
  onReconnected: () => Promise<void>;
}

/**
 * The process's one LISTEN connection, shared by every channel (flags, API keys, catalog, canaries,
 * budgets): a pooled connection would be handed to other queries and lose its LISTENs, and one
 * connection per channel would cost Postgres five per process. Reconnects a second after the
 * connection is lost, LISTENs every channel again and tells each subscriber to catch up.
 */
@Injectable()
export class PostgresListener implements OnApplicationShutdown {
  private readonly logger = new Logger(PostgresListener.name);
  private readonly subscriptions = new Map<string, ChannelSubscription>();
  private client?: Client;
  private connecting?: Promise<Client | undefined>;
  private reconnectTimer?: NodeJS.Timeout;
  private lost = false;
  private stopped = false;

  constructor(private readonly dataSource: DataSource) {}

  /**
   * LISTENs on the subscription's channel from now on. Resolves once listening, or once the
   * database was found unreachable (reconnections go on, and `onReconnected` says when it is back).
   */
  async listen(subscription: ChannelSubscription): Promise<{ stop: () => void }> {
    if (this.subscriptions.has(subscription.channel)) {
      throw new Error(`channel ${subscription.channel} is listened to already`);
    }
    this.subscriptions.set(subscription.channel, subscription);
    const stop = () => void this.subscriptions.delete(subscription.channel);
    // Lost: the reconnection LISTENs every channel, this one included, and tells it to catch up.
    if (this.reconnectTimer) return { stop };
    const client = this.client ?? (await this.connect());
    // On a connection there before, or just opened (its LISTENs may have begun before this channel
    // came): LISTEN is idempotent.
    if (client && client === this.client) {
      await this.listenOn(client, [subscription.channel]).catch((error: Error) => this.onLost(client, error));
    }
    return { stop };
  }

  /** After every subscriber stopped: their modules are done with notifications. */
  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    // A database that hangs never answers the goodbye: the socket is closed instead.
    const ended = await Promise.race([
      client.end().then(
        () => true,
        () => true,
      ),
      new Promise<false>((resolve) => setTimeout(resolve, CLOSE_WAIT_MS, false).unref()),
    ]);
    if (!ended) (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  }

  /** One connection attempt at a time; undefined when it failed (a reconnection is then scheduled). */
  private connect(): Promise<Client | undefined> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<Client | undefined> {
    if (this.stopped) return undefined;
    const client = new Client({
      connectionString: (this.dataSource.options as { url?: string }).url,
      application_name: 'switchyard-listener',
      connectionTimeoutMillis: DATABASE_CONNECT_TIMEOUT_MS,
      // It only listens: without keepalive a host gone without a FIN would leave it waiting forever.
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_AFTER_MS,
    });
    client.on('error', (error) => this.onLost(client, error));
    client.on('end', () => this.onLost(client));
    client.on('notification', (message) => {
      const subscription = this.subscriptions.get(message.channel);
      if (subscription && message.payload) subscription.onNotification(message.payload);
    });
    try {
      await client.connect();
      await this.listenOn(client, [...this.subscriptions.keys()]);
    } catch (error) {
      this.onLost(client, error as Error);
      return undefined;
    }
    // The app shut down while this connection was being made: it would keep the process alive.
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return undefined;
    }
    this.client = client;
    if (this.lost) {
      this.lost = false;
      this.logger.log(`listening again on ${[...this.subscriptions.keys()].join(', ')}`);
      for (const subscription of this.subscriptions.values()) {
        await subscription.onReconnected().catch((error: Error) => {
          this.logger.warn(`${subscription.channel}: catching up after the reconnection failed (${error.message})`);
        });
      }
    }
    return client;
  }

  private async listenOn(client: Client, channels: string[]): Promise<void> {
    for (const channel of channels) await client.query(`LISTEN ${channel}`);
  }

  private onLost(client: Client, error?: Error): void {
    client.end().catch(() => undefined);
    if (this.stopped || this.reconnectTimer) return;
    if (this.client !== undefined && this.client !== client) return;
    this.client = undefined;
    if (!this.lost && error) {
      this.logger.warn(
        `the LISTEN connection was lost (${error.message}); reconnecting every ${RECONNECT_DELAY_MS / 1000} s`,
      );
    }
    this.lost = true;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, RECONNECT_DELAY_MS);
    this.reconnectTimer.unref();
  }
}

/** Global: five modules listen, over the one connection. */
@Global()
@Module({ providers: [PostgresListener], exports: [PostgresListener] })
export class PostgresListenerModule {}
