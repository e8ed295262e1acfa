import type { DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

/**
 * How long opening a connection, or waiting for one from a full pool, may take. pg waits forever by
 * default: a database that hangs, or an address nothing answers from, would hold start-up and every
 * query that needs a new connection for as long. Its error is a DatabaseUnavailable (503).
 */
export const DATABASE_CONNECT_TIMEOUT_MS = 5_000;

/**
 * The one set of TypeORM options, shared by the app and by the TypeORM CLI (ormconfig.ts), so that
 * `npm run migration:run` and the app's start-up migrate the same way.
 */
export function buildDataSourceOptions(url: string, poolSize = 10): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    entities: ENTITIES,
    extra: { max: poolSize, application_name: 'switchyard', connectionTimeoutMillis: DATABASE_CONNECT_TIMEOUT_MS },
  };
}
