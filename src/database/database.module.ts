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

/** The pool, opened: a database it cannot reach stops start-up with one line that says where and what to do. */
async function connect(options: DataSourceOptions): Promise<DataSource> {
  try {
    return await new DataSource(options).initialize();
  } catch (error) {
    if (!databaseUnavailableFrom(error)) throw error;
    const url = 'url' in options && options.url ? new URL(options.url) : undefined;
    throw new StartupError(
      `cannot reach the database at ${url?.host ?? 'DATABASE_URL'} (${(error as Error).message}): ` +
        'start Postgres there, or correct DATABASE_URL (unset, Switchyard starts a Postgres of its own)',
      { cause: error },
    );
  }
}
