import type { DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

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
    extra: { max: poolSize, application_name: 'switchyard' },
  };
}
