// CI: TypeORM's schema-drift check. Migrates a fresh database with the migrations, then asks the
// TypeORM CLI (`migration:generate --check`, through ormconfig.ts, as a developer would generate
// one) whether the entities need anything more; it exits 1 and prints the SQL when they do.
// Runs on DATABASE_URL's server when set (in a database of its own, dropped afterwards), otherwise
// on an embedded Postgres in a temporary folder. Needs `npm run build` first.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import embedded from '../dist/src/database/embedded-postgres.js';

const database = `switchyard_drift_${process.pid}`;

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function adminServer() {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => undefined };
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-drift-'));
  chmodSync(dataDir, 0o755);
  const server = new embedded.EmbeddedPostgresServer({ dataDir, port: await freePort(), databaseName: 'postgres' });
  const url = await server.start();
  return {
    url,
    stop: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function onAdmin(url, sql) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Runs the TypeORM CLI; its query log is shown only when it fails (then it shows what drifted). */
function typeorm(url, ...args) {
  try {
    execFileSync('npx', ['typeorm', '-d', 'dist/ormconfig.js', ...args], {
      env: { ...process.env, DATABASE_URL: url },
      stdio: 'pipe',
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    process.stdout.write(error.stdout ?? '');
    process.stderr.write(error.stderr ?? '');
    throw error;
  }
}

const server = await adminServer();
let failed = false;
try {
  await onAdmin(server.url, `CREATE DATABASE ${database}`);
  const url = new URL(server.url);
  url.pathname = `/${database}`;
  try {
    typeorm(url.toString(), 'migration:run');
    typeorm(url.toString(), 'migration:generate', 'src/database/migrations/SchemaDrift', '--check');
    console.log('schema drift: none (the migrated schema matches the entities)');
  } catch {
    console.error(
      'schema drift: the entities differ from what the migrations create; write a migration (npm run migration:generate)',
    );
    failed = true;
  } finally {
    await onAdmin(server.url, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  }
} finally {
  await server.stop();
}
process.exit(failed ? 1 : 0);
