import type { DataSource } from 'typeorm';
import { LockKey } from './advisory-locks';

/**
 * Runs pending migrations under a Postgres advisory lock, so replicas starting together migrate
 * once: the first takes the lock and migrates, the others wait and then find nothing to do.
 */
export async function runMigrationsUnderLock(dataSource: DataSource): Promise<string[]> {
  const lockHolder = dataSource.createQueryRunner();
  await lockHolder.connect();
  try {
    await lockHolder.query('SELECT pg_advisory_lock($1)', [LockKey.Migrations]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await lockHolder.query('SELECT pg_advisory_unlock($1)', [LockKey.Migrations]).catch(() => undefined);
    await lockHolder.release();
  }
}
