import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { EmbeddedPostgresServer } from '../src/database/embedded-postgres';
import { freePort } from './processes';

export interface ScratchDatabase {
  url: string;
  stop: () => Promise<void>;
}

/**
 * A database for one bench script, dropped when it stops: a new database on DATABASE_URL's server,
 * or, without it, an embedded Postgres in a temporary folder. `name` tells runs apart in listings.
 */
export async function scratchDatabase(name: string): Promise<ScratchDatabase> {
  const base = process.env.DATABASE_URL;
  if (base) {
    const database = `switchyard_${name.replaceAll('-', '_')}_${Date.now().toString(36)}`;
    const run = async (sql: string) => {
      const admin = await new DataSource({ type: 'postgres', url: base }).initialize();
      await admin.query(sql);
      await admin.destroy();
    };
    await run(`CREATE DATABASE ${database}`);
    const url = new URL(base);
    url.pathname = `/${database}`;
    return { url: url.toString(), stop: () => run(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`) };
  }
  const dataDir = mkdtempSync(join(tmpdir(), `switchyard-${name}-`));
  chmodSync(dataDir, 0o755); // the embedded Postgres (postgres user) must reach its data dir
  const server = new EmbeddedPostgresServer({ dataDir, port: await freePort() });
  const url = await server.start();
  return {
    url,
    stop: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
