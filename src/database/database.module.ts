import { Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { databaseUnavailableFrom } from '../common/database-unavailable';
import { databaseConfig, type DatabaseConfig } from '../config/database.config';
import { StartupError } from '../config/startup-error';
import { buildDataSourceOptions, databaseBounds } from './data-source-options';
import { DatabaseServer } from './database-server';
import { PostgresListenerModule } from './postgres-listener';
import { runMigrationsUnderLock } from './run-migrations';
import { ShutdownDeadlineModule } from './shutdown-deadline';

@Module({ providers: [DatabaseServer], exports: [DatabaseServer] })
class DatabaseServerModule {}

@Module({
  imports: [
    DatabaseServerModule,
    ShutdownDeadlineModule,
    PostgresListenerModule,
    TypeOrmModule.forRootAsync({
      imports: [DatabaseServerModule],
      inject: [DatabaseServer, databaseConfig.KEY],
      useFactory: async (server: DatabaseServer, config: DatabaseConfig) => ({
        ...buildDataSourceOptions(
          await server.connectionUrl(),
          config.poolSize,
          databaseBounds(config.statementTimeoutMs),
        ),
        retryAttempts: 5,
        retryDelay: 2000,
        // Only a server that is not up yet (or not reachable yet) may answer differently a moment
        // later; one that refused the login or has no such database gives the same answer again.
        toRetry: (error: unknown) => databaseUnavailableFrom(error) !== undefined,
      }),
      // Migrations run before any module can query, so every table exists once the app is up.
      dataSourceFactory: async (options) => {
        await migrate((options as { url: string }).url);
        return connect(options!);
      },
    }),
  ],
  exports: [DatabaseServerModule],
})
export class DatabaseModule {}

/** On connections of their own, without the app pool's statement bounds: an index build may take long. */
async function migrate(url: string): Promise<void> {
  const migrator = await connect(buildDataSourceOptions(url, 2));
  try {
    const applied = await runMigrationsUnderLock(migrator);
    if (applied.length > 0) new Logger('Migrations').log(`applied ${applied.join(', ')}`);
  } finally {
    await migrator.destroy();
  }
}

/**
 * The pool, opened: a database it cannot reach, or that refuses DATABASE_URL, stops start-up with one
 * line that says where and what to do.
 */
async function connect(options: DataSourceOptions): Promise<DataSource> {
  try {
    return await new DataSource(options).initialize();
  } catch (error) {
    const url = 'url' in options && options.url ? new URL(options.url) : undefined;
    const refusal = refusalAdvice(error);
    if (refusal) {
      throw new StartupError(
        `the database server at ${url?.host ?? 'DATABASE_URL'} refused DATABASE_URL (${(error as Error).message}): ${refusal}`,
        { cause: error },
      );
    }
    if (!databaseUnavailableFrom(error)) throw error;
    throw new StartupError(
      `cannot reach the database at ${url?.host ?? 'DATABASE_URL'} (${(error as Error).message}): ` +
        'start Postgres there, or correct DATABASE_URL (unset, Switchyard starts a Postgres of its own)',
      { cause: error },
    );
  }
}

/**
 * What to do when the server answered but refused the connection DATABASE_URL describes: its login
 * (SQLSTATE class 28: unknown role, wrong password, no pg_hba.conf entry) or its database (3D000).
 */
function refusalAdvice(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  if (code.startsWith('28')) {
    return 'correct the user name or password in DATABASE_URL, or let that user log in from this host (CREATE ROLE … LOGIN; pg_hba.conf)';
  }
  if (code === '3D000') {
    return 'create that database there (CREATE DATABASE), or correct the database name in DATABASE_URL';
  }
  return undefined;
}
