import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { pseudoFileSystemProblem } from './pseudo-file-system';

/** The first line of every spool file: which writer and which database its rows are for. */
interface SpoolHeader {
  spool: 1;
  writer: string;
  database: string;
  pid: number;
}

const SUFFIX = '.ndjson';
/** The spool files of writer instances alive in this process (several apps share one in tests). */
const liveHere = new Set<string>();

/**
 * A writer's rows on local disk while the database cannot take them, so a process killed during an
 * outage (kill -9, the OOM killer, a container stopped without its grace period) loses only what it
 * queued in its last flush interval; the next process on the same folder writes the rest
 * (`recoverSpools`). One file per writer instance, `<writer>-<pid>-<random>.ndjson`: a header line,
 * then one JSON array per row, each row in the stored form its INSERT takes. A row may be both in
 * the file and in the table (written after it was spooled): the INSERTs it is replayed with are
 * idempotent (ON CONFLICT on the row's id).
 *
 * Appends are chained, never concurrent, and each is one write of whole lines; a process killed in
 * the middle of one leaves at most a partial last line, which recovery skips and counts.
 */
export class BatchSpool {
  readonly file: string;
  private readonly header: string;
  private chain: Promise<void> = Promise.resolve();
  private created = false;

  constructor(
    private readonly dir: string,
    writer: string,
    database: string,
    private readonly onError: (error: Error) => void,
  ) {
    const name = `${writer}-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.file = join(dir, `${name}${SUFFIX}`);
    const header: SpoolHeader = { spool: 1, writer, database, pid: process.pid };
    this.header = `${JSON.stringify(header)}\n`;
    liveHere.add(this.file);
  }

  /** Adds `rows` to the file, after every earlier append or removal. Never rejects. */
  append(rows: readonly unknown[][]): Promise<void> {
    if (rows.length === 0) return this.chain;
    const text = linesOf(rows);
    return this.chained(async () => {
      await appendFile(this.file, this.created ? text : this.header + text, { mode: 0o600 });
      this.created = true;
    });
  }

  /** Removes the file: every row in it has been written. Never rejects. */
  clear(): Promise<void> {
    return this.chained(async () => {
      if (!this.created) return;
      await unlink(this.file).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      this.created = false;
    });
  }

  /** Waits for the appends and removals asked for so far. */
  settled(): Promise<void> {
    return this.chain;
  }

  /** Once its writer has finished: the file (if any) is left for recovery, also by this process. */
  async release(): Promise<void> {
    await this.chain;
    liveHere.delete(this.file);
  }

  private chained(step: () => Promise<void>): Promise<void> {
    this.chain = this.chain
      .then(async () => {
        if (!this.created) await ensureDir(this.dir);
        await step();
      })
      .catch((error: Error) => this.onError(error));
    return this.chain;
  }
}

export interface RecoveredSpool {
  file: string;
  /** The process that wrote it. */
  pid: number;
  rows: unknown[][];
  /** Lines that were not a row (a partial last line of a process killed mid-append). */
  unreadable: number;
}

/** A file of a process that is gone which recovery did not take, and why: the operator decides. */
export interface LeftSpool {
  file: string;
  why: string;
}

/**
 * The spool files in `dir` that `writer`'s rows for `database` were left in by processes that are
 * gone, each claimed for this process (renamed, so two replicas on one folder never both write a
 * file) and read. `write` gets each file's rows; the file is removed once it resolves, and kept
 * (claimed by no one alive, so taken again by the next try) if it rejects. Files for another database,
 * and files that are not spool files at all, are left alone (they belong to whoever runs against that
 * database) and reported in `leftAlone`, so that they are not forgotten on the disk.
 */
export async function recoverSpools(
  dir: string,
  writer: string,
  database: string,
  write: (spool: RecoveredSpool) => Promise<void>,
): Promise<{ recovered: RecoveredSpool[]; leftAlone: LeftSpool[] }> {
  const recovered: RecoveredSpool[] = [];
  const leftAlone: LeftSpool[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { recovered, leftAlone };
    throw error;
  }
  for (const name of names.filter((entry) => entry.startsWith(`${writer}-`))) {
    const path = join(dir, name);
    if (liveHere.has(path) || !name.endsWith(SUFFIX) || isAlive(ownerOf(name))) continue;
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const spool = await parseSpool(path, text, writer, database);
    if ('why' in spool) {
      leftAlone.push(spool);
      continue;
    }
    // Claimed: renamed to a name of this process, so no other replica takes it meanwhile.
    const claimed = join(dir, `${writer}-${process.pid}-claimed-${randomBytes(4).toString('hex')}${SUFFIX}`);
    try {
      await rename(path, claimed);
    } catch {
      continue; // Another replica claimed it first.
    }
    liveHere.add(claimed);
    try {
      await write({ ...spool, file: claimed });
      await unlink(claimed);
      recovered.push(spool);
    } finally {
      liveHere.delete(claimed);
    }
  }
  return { recovered, leftAlone };
}

/** Rows parsed between two turns of the event loop: a long outage's file is hundreds of thousands. */
const ROWS_PER_TURN = 2_000;

async function parseSpool(
  path: string,
  text: string,
  writer: string,
  database: string,
): Promise<RecoveredSpool | LeftSpool> {
  const lines = text.split('\n');
  let header: Partial<SpoolHeader> | undefined;
  try {
    header = JSON.parse(lines[0]) as Partial<SpoolHeader>;
  } catch {
    header = undefined;
  }
  if (header?.spool !== 1 || header.writer !== writer)
    return {
      file: path,
      why: 'its first line is not the header of a spool file this version writes; move it out of the folder',
    };
  if (header.database !== database)
    return {
      file: path,
      why: `its rows are for the database ${header.database}, not ${database}: a gateway on this folder against that database writes them; remove the file if none will`,
    };
  const rows: unknown[][] = [];
  let unreadable = 0;
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index];
    if (index % ROWS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
    if (line === '') continue;
    try {
      const row = JSON.parse(line) as unknown;
      if (Array.isArray(row)) rows.push(row);
      else unreadable++;
    } catch {
      unreadable++;
    }
  }
  return { file: path, pid: header.pid ?? 0, rows, unreadable };
}

/** The pid in `<writer>-<pid>-…`: of the process that wrote the file, or claimed it to write it. */
function ownerOf(name: string): number {
  const pid = Number(/^[^-]+-(\d+)-/.exec(name)?.[1]);
  return Number.isInteger(pid) ? pid : 0;
}

/**
 * Whether the process may still be writing its file. This process's own pid counts as gone (its
 * live files are in `liveHere`): in a container the next start often gets the pid the killed one had.
 */
function isAlive(pid: number): boolean {
  if (pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function linesOf(rows: readonly unknown[][]): string {
  let text = '';
  for (const row of rows) text += `${JSON.stringify(row)}\n`;
  return text;
}

/** A spool folder on /proc would hold a libuv thread for good (see pseudo-file-system.ts): the append fails instead. */
async function ensureDir(dir: string): Promise<void> {
  const pseudo = await pseudoFileSystemProblem(dir);
  if (pseudo) throw new Error(`${dir} cannot be created: ${pseudo}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/** The database a spool file's rows are for, as `host:port/name` (no credentials: the file is on disk). */
export function spoolDatabaseOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
}

/** How often the files earlier processes left are tried again while their rows cannot be written. */
const RECOVERY_RETRY_MS = 5_000;
const SPOOL_ERROR_LOG_EVERY = 1_000;

/**
 * A writer's spool folder (`<data dir>/spool`): its own file (`spool`), and the recovery of the files
 * processes that are gone left there for `dataSource`'s database, retried every 5 s while the
 * database refuses their rows. Rows are written with the writer's own `insert` (its INSERT of
 * json-rows.ts, one parameter) in batches of `batchSize`; what was written is logged, as rows arriving
 * late from an earlier process.
 */
export class SpoolFolder {
  readonly spool: BatchSpool;
  private readonly logger: Logger;
  private readonly dir: string;
  private readonly database: string;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private spoolErrors = 0;

  constructor(
    private readonly options: {
      dataDir: string;
      dataSource: DataSource;
      /** Writes one batch of rows in stored form, idempotently (a row already in the table is skipped). */
      insert: (rows: unknown[][]) => Promise<unknown>;
      /** Names the files, and whose files recovery takes: "metrics", "outcomes". */
      writer: string;
      /** Names the writer in its logs (the owning class). */
      name: string;
      /** What the rows are, plural, for log lines: "metric rows". */
      items: string;
      batchSize: number;
    },
  ) {
    this.logger = new Logger(options.name);
    this.dir = join(options.dataDir, 'spool');
    this.database = spoolDatabaseOf((options.dataSource.options as { url: string }).url);
    this.spool = new BatchSpool(this.dir, options.writer, this.database, (error) => {
      // An append is tried every flush interval while the database is out: one line per thousand.
      if (this.spoolErrors++ % SPOOL_ERROR_LOG_EVERY !== 0) return;
      this.logger.warn(
        `could not keep queued ${options.items} on disk (${error.message}); they stay in memory only (${this.spoolErrors} failed appends so far)`,
      );
    });
  }

  /** Writes what earlier processes left; in the background, retried until it succeeds or `stop`. */
  recover(): void {
    void this.tryRecovery();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** After the writer's final flush: what is left in its file is for the next start to write. */
  release(): Promise<void> {
    return this.spool.release();
  }

  private async tryRecovery(): Promise<void> {
    const { writer, items, batchSize, insert } = this.options;
    try {
      const { recovered, leftAlone } = await recoverSpools(this.dir, writer, this.database, async ({ rows }) => {
        for (let start = 0; start < rows.length; start += batchSize) await insert(rows.slice(start, start + batchSize));
      });
      for (const { file, pid, rows, unreadable } of recovered) {
        const skipped = unreadable ? `; ${unreadable} unreadable lines (cut off when it was killed) skipped` : '';
        this.logger.warn(`wrote ${rows.length} ${items} that process ${pid} left unwritten in ${file}${skipped}`);
      }
      for (const { file, why } of leftAlone) this.logger.warn(`left ${file} alone: ${why}`);
    } catch (error) {
      // Stopped: the files stay for the next start.
      if (this.stopped) return;
      this.logger.warn(
        `could not yet write the ${items} an earlier process left on disk (${(error as Error).message}); retrying in ${RECOVERY_RETRY_MS / 1000} s`,
      );
      this.timer = setTimeout(() => void this.tryRecovery(), RECOVERY_RETRY_MS);
      this.timer.unref();
    }
  }
}
