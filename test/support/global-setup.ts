import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgresServer } from '../../src/database/embedded-postgres';
import { freePort } from './free-port';

interface RunState {
  embeddedPostgres?: EmbeddedPostgresServer;
  runTempDir?: string;
  previousTmpDir?: string;
}

/**
 * Runs once before the test files, in jest's main process, whose environment the test workers
 * inherit.
 *
 * Every temporary file of the run (catalogs, Postgres data folders, logs) goes into one folder:
 * TMPDIR points there, so os.tmpdir() does too, in the tests and in the apps they spawn. Global
 * teardown removes it, so a run leaves nothing behind in the temp folder.
 *
 * e2e tests need a Postgres server in which each test file creates its own database. With
 * DATABASE_URL set (CI points it at the machine's Postgres) that server is used; otherwise an
 * embedded one is started for the run.
 */
export default async function globalSetup(): Promise<void> {
  const state = globalThis as RunState;
  const runTempDir = await mkdtemp(join(tmpdir(), 'switchyard-test-run-'));
  // As root, an embedded Postgres runs as the `postgres` user, which must be able to enter it.
  await chmod(runTempDir, 0o755);
  state.runTempDir = runTempDir;
  state.previousTmpDir = process.env.TMPDIR;
  process.env.TMPDIR = runTempDir;

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
  const dataDir = await mkdtemp(join(runTempDir, 'postgres-'));
  await chmod(dataDir, 0o755);
  const server = new EmbeddedPostgresServer({ dataDir, port: await freePort(), databaseName: 'postgres' });
  process.env.TEST_ADMIN_DATABASE_URL = await server.start();
  state.embeddedPostgres = server;
}
