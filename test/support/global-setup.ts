import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgresServer } from '../../src/database/embedded-postgres';
import { freePort } from './free-port';

/**
 * e2e tests need a Postgres server in which each test file creates its own database. With
 * DATABASE_URL set (CI points it at the machine's Postgres) that server is used; otherwise an
 * embedded one is started for the run.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    const client = new Client({ connectionString: process.env.DATABASE_URL });
    await client.connect().catch((error: Error) => {
      throw new Error(
        `DATABASE_URL is set but does not answer (${error.message}); unset it to test on an embedded Postgres`,
      );
    });
    await client.end();
    process.env.TEST_ADMIN_DATABASE_URL = process.env.DATABASE_URL;
    return;
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-test-pg-'));
  // Postgres runs as the `postgres` user when tests run as root; it must be able to enter the folder.
  await chmod(dataDir, 0o755);
  const server = new EmbeddedPostgresServer({ dataDir, port: await freePort(), databaseName: 'postgres' });
  process.env.TEST_ADMIN_DATABASE_URL = await server.start();
  (globalThis as { embeddedPostgres?: EmbeddedPostgresServer }).embeddedPostgres = server;
}
