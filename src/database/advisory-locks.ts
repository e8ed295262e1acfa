import type { DataSource, EntityManager } from 'typeorm';

/**
 * Every Postgres advisory lock the app takes, in one place, so two jobs can never pick the same
 * number by accident. The values are stored nowhere but in Postgres' lock table while held; changing
 * one is safe only when no replica of an older version runs.
 */
export enum LockKey {
  Migrations = 7_305_001,
  MetricsPartitions = 7_305_002,
  /** With a second key: the canary id's hashtext(). */
  CanaryTick = 7_305_003,
  Guardrail = 7_305_004,
  /** Budget threshold, exhaustion and burn-rate alerts: one replica looks at a time. */
  BudgetWatch = 7_305_005,
  /** With a second key: the table whose rows past the retention are being deleted. */
  Retention = 7_305_006,
  /** The admin keys: creating the first at start-up, and revoking one (never the last). */
  BootstrapAdminKey = 7_305_010,
}

/**
 * Runs `work` only if this session gets the lock at once (another replica holding it means the work
 * is being done there); answers undefined when it did not run. The lock is a session lock on a
 * connection of its own, released when `work` ends, however it ends. That connection comes from the
 * pool and is held while `work` uses others: a new job that uses this counts in DATABASE_POOL_SIZE's
 * floor (database.config.ts).
 */
export async function tryWithLock<T>(
  dataSource: DataSource,
  key: LockKey,
  work: () => Promise<T>,
  subKey?: string,
): Promise<{ ran: true; value: T } | { ran: false }> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  const args = subKey === undefined ? [key] : [key, subKey];
  const lockCall = subKey === undefined ? '$1' : '$1, hashtext($2)';
  try {
    const [{ locked }] = await runner.query(`SELECT pg_try_advisory_lock(${lockCall}) AS locked`, args);
    if (!locked) return { ran: false };
    try {
      return { ran: true, value: await work() };
    } finally {
      await runner.query(`SELECT pg_advisory_unlock(${lockCall})`, args).catch(() => undefined);
    }
  } finally {
    await runner.release();
  }
}

/** Waits for the lock for the rest of `manager`'s transaction (released at commit or rollback). */
export async function lockForTransaction(manager: EntityManager, key: LockKey): Promise<void> {
  await manager.query('SELECT pg_advisory_xact_lock($1)', [key]);
}
