import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A fresh folder in the test run's temp folder (global setup points TMPDIR at one folder per run
 * and global teardown removes it, so nothing is left behind). Mode 0755: when tests run as root,
 * an embedded Postgres in it runs as the `postgres` user, which must be able to enter it.
 */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `switchyard-${prefix}-`));
  await chmod(dir, 0o755);
  return dir;
}
