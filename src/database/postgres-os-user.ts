import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { StartupError } from '../config/startup-error';

const run = promisify(execFile);

/** The system user the Postgres processes run as when Switchyard runs as root. */
export interface RunAs {
  user: string;
  uid: number;
  gid: number;
}

const POSTGRES_USER = 'postgres';

/**
 * Postgres refuses to run as root. When Switchyard runs as root (containers, CI), its embedded
 * server runs as the `postgres` system user instead, created here if the system has none.
 * Undefined when Switchyard does not run as root: Postgres then runs as the same user.
 */
export async function postgresRunAs(): Promise<RunAs | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const existing = await lookUp(POSTGRES_USER);
  if (existing) return existing;
  try {
    await run('useradd', ['--system', '--user-group', '--no-create-home', POSTGRES_USER]);
  } catch (error) {
    throw new StartupError(
      `embedded Postgres cannot run as root and there is no "${POSTGRES_USER}" user to run it as (useradd failed: ${(error as Error).message.split('\n')[0]}); ` +
        `create one (useradd --system --user-group ${POSTGRES_USER}), run Switchyard as a non-root user, or set DATABASE_URL`,
    );
  }
  const created = await lookUp(POSTGRES_USER);
  if (!created)
    throw new StartupError(`created the "${POSTGRES_USER}" user but cannot find it (id -u ${POSTGRES_USER})`);
  return created;
}

async function lookUp(user: string): Promise<RunAs | undefined> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
    return { user, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return undefined;
  }
}

/**
 * The first folder on the way to `path` (its ancestors and itself) that `runAs` cannot enter, with
 * its mode, or undefined when every existing one can be entered. Folders that do not exist yet are
 * created later by Switchyard with mode 0755 and are fine. Only the primary group counts: a process
 * started with another uid loses its supplementary groups.
 */
export async function firstFolderClosedTo(
  path: string,
  runAs: RunAs,
): Promise<{ folder: string; mode: string } | undefined> {
  for (const folder of foldersOnTheWayTo(resolve(path))) {
    const info = await stat(folder).catch(() => undefined);
    if (!info) return undefined;
    if (!info.isDirectory()) continue;
    if (!permits(info, runAs, 0o1)) return { folder, mode: (info.mode & 0o7777).toString(8).padStart(4, '0') };
  }
  return undefined;
}

/** Whether `runAs` may execute `file` (its execute bit for the class `runAs` falls in). */
export async function canExecute(file: string, runAs: RunAs): Promise<boolean> {
  const info = await stat(file).catch(() => undefined);
  return info !== undefined && permits(info, runAs, 0o1);
}

/** `bit` is 0o1 (execute/search), 0o2 (write) or 0o4 (read), checked in the owner, group or other class. */
function permits(info: { uid: number; gid: number; mode: number }, runAs: RunAs, bit: number): boolean {
  if (info.uid === runAs.uid) return (info.mode & (bit << 6)) !== 0;
  if (info.gid === runAs.gid) return (info.mode & (bit << 3)) !== 0;
  return (info.mode & bit) !== 0;
}

/** `/a/b/c` -> `/`, `/a`, `/a/b`, `/a/b/c`. */
export function foldersOnTheWayTo(path: string): string[] {
  const folders = [path];
  for (let parent = dirname(path); parent !== folders[0]; parent = dirname(parent)) folders.unshift(parent);
  return folders;
}
