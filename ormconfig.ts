import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { databaseConfig } from './src/config/database.config';
import { buildDataSourceOptions } from './src/database/data-source-options';

/**
 * The DataSource the TypeORM CLI uses (`npm run migration:generate|run|revert`), built from the
 * same options as the app's. The CLI needs a running server: set DATABASE_URL (the embedded one
 * runs only while the app does; its URL is postgres://postgres:<.data/postgres-password>@127.0.0.1:54329/switchyard).
 */
const config = databaseConfig();
if (!config.url) {
  throw new Error('Set DATABASE_URL to the Postgres the migration command should work on.');
}

export default new DataSource(buildDataSourceOptions(config.url, 2));
