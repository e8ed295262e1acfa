import { Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { databaseConfig, type DatabaseConfig } from '../config/database.config';
import { buildDataSourceOptions } from './data-source-options';
import { DatabaseServer } from './database-server';
import { runMigrationsUnderLock } from './run-migrations';
import { ShutdownDeadlineModule } from './shutdown-deadline';

@Module({ providers: [DatabaseServer], exports: [DatabaseServer] })
class DatabaseServerModule {}

@Module({
  imports: [
    DatabaseServerModule,
    ShutdownDeadlineModule,
    TypeOrmModule.forRootAsync({
      imports: [DatabaseServerModule],
      inject: [DatabaseServer, databaseConfig.KEY],
      useFactory: async (server: DatabaseServer, config: DatabaseConfig) => ({
        ...buildDataSourceOptions(await server.connectionUrl(), config.poolSize),
        retryAttempts: 5,
        retryDelay: 2000,
      }),
      // Migrations run before any module can query, so every table exists once the app is up.
      dataSourceFactory: async (options) => {
        const dataSource = await new DataSource(options!).initialize();
        const applied = await runMigrationsUnderLock(dataSource);
        if (applied.length > 0) new Logger('Migrations').log(`applied ${applied.join(', ')}`);
        return dataSource;
      },
    }),
  ],
  exports: [DatabaseServerModule],
})
export class DatabaseModule {}
