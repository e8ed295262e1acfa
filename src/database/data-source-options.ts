import type { ClientBase, QueryConfig } from 'pg';
import type { DataSourceOptions } from 'typeorm';
import { BoundedClient } from './bounded-client';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

/**
 * How long opening a connection, or waiting for one from a full pool, may take. pg waits forever by
 * default: a database that hangs, or an address nothing answers from, would hold start-up and every
 * query that needs a new connection for as long. Its error is a DatabaseUnavailable (503).
 */
export const DATABASE_CONNECT_TIMEOUT_MS = 5_000;

/** How long an idle pooled connection waits before TCP asks whether Postgres is still there. */
export const KEEPALIVE_AFTER_MS = 10_000;
/**
 * Postgres' side of the keepalive, in seconds. A replica cut off while its session holds an advisory
 * lock (a canary's tick, the budget watch: the lock's connection idles while the job works on
 * others) keeps that lock as long as the session lives, by the OS default two hours before Postgres
 * notices: the job would stop on every replica. Probed after 10 s idle, every 5 s, 3 times.
 */
const SERVER_KEEPALIVE = 'SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3';
/** After Postgres' own statement_timeout, how long the app still waits for its cancellation to arrive. */
const ANSWER_GRACE_MS = 1_000;

/**
 * The bounds of the app's pool on a database that stops answering. `statementTimeoutMs`:
 * - Postgres cancels a statement of ours that runs (or waits on a lock) longer;
 * - Postgres ends a session of ours idle in a transaction that long: its client is gone (no
 *   transaction of ours waits on anything but its next statement), and its row locks would hold
 *   every other replica's budget syncs;
 * - the app closes a connection whose statement got no answer a second after that (BoundedClient).
 * And TCP keepalive on both ends: the app finds out an idle connection to a host that went away,
 * Postgres a session whose replica went away (its locks released within ~25 s).
 */
export function databaseBounds(statementTimeoutMs: number): Record<string, unknown> {
  return {
    Client: BoundedClient,
    // Run by the pool on each new connection before lending it, with the pool's error listener
    // already on the client: a connection lost meanwhile fails the statement that waited for it.
    // Statements, not startup parameters, which poolers such as PgBouncer refuse unless told to
    // ignore them. Part of connecting, so bounded like connecting: unanswered, BoundedClient closes it.
    onConnect: (client: ClientBase) =>
      client.query({
        text:
          `SET statement_timeout = ${statementTimeoutMs}; ` +
          `SET idle_in_transaction_session_timeout = ${statementTimeoutMs}; ${SERVER_KEEPALIVE}`,
        query_timeout: DATABASE_CONNECT_TIMEOUT_MS,
      } as QueryConfig),
    query_timeout: statementTimeoutMs + ANSWER_GRACE_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_AFTER_MS,
  };
}

/**
 * The one set of TypeORM options, shared by the app and by the TypeORM CLI (ormconfig.ts), so that
 * `npm run migration:run` and the app's start-up migrate the same way. `bounds` (databaseBounds)
 * for the app's pool only: a migration may rightly take longer than any statement of the app.
 */
export function buildDataSourceOptions(
  url: string,
  poolSize = 10,
  bounds: Record<string, unknown> = {},
): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    entities: ENTITIES,
    extra: {
      max: poolSize,
      application_name: 'switchyard',
      connectionTimeoutMillis: DATABASE_CONNECT_TIMEOUT_MS,
      ...bounds,
    },
  };
}
