import type { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { DATABASE_CONNECT_TIMEOUT_MS, KEEPALIVE_AFTER_MS } from './data-source-options';

const RECONNECT_DELAY_MS = 1_000;

export interface PostgresListenerOptions {
  /** The pool's URL (DATABASE_URL or the embedded server's), so the listener reaches the same database. */
  url: string | undefined;
  channel: string;
  applicationName: string;
  logger: Logger;
  onNotification: (payload: string) => void;
  /** After a reconnection: whatever was NOTIFYed while the connection was down never arrives. */
  onReconnected: () => Promise<void>;
}

/**
 * LISTEN on one channel over a dedicated connection (a pooled one would be handed to other queries
 * and lose the LISTEN), reconnecting after a second whenever the connection is lost.
 */
export class PostgresListener {
  private client?: Client;
  private reconnectTimer?: NodeJS.Timeout;
  private reconnecting = false;
  private stopped = false;

  constructor(private readonly options: PostgresListenerOptions) {}

  async start(): Promise<void> {
    if (this.stopped) return;
    const { url, channel, applicationName, logger } = this.options;
    const client = new Client({
      connectionString: url,
      application_name: applicationName,
      connectionTimeoutMillis: DATABASE_CONNECT_TIMEOUT_MS,
      // It only listens: without keepalive a host gone without a FIN would leave it waiting forever.
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_AFTER_MS,
    });
    const retry = (error?: Error) => {
      if (this.stopped || this.client !== client) return;
      this.client = undefined;
      if (error) logger.warn(`${channel} listener lost its connection (${error.message}); reconnecting`);
      client.end().catch(() => undefined);
      this.reconnecting = true;
      this.reconnectTimer = setTimeout(() => void this.start(), RECONNECT_DELAY_MS);
      this.reconnectTimer.unref();
    };
    this.client = client;
    client.on('error', retry);
    client.on('end', () => retry());
    client.on('notification', (message) => {
      if (message.channel === channel && message.payload) this.options.onNotification(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
      if (this.reconnecting) {
        this.reconnecting = false;
        await this.options.onReconnected();
      }
    } catch (error) {
      retry(error as Error);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
