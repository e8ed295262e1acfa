import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../common/manual-clock';
import { BatchSpool, recoverSpools, spoolDatabaseOf, type RecoveredSpool } from './batch-spool';
import { BatchWriter } from './batch-writer';

const DATABASE = '127.0.0.1:5432/switchyard';

/** The pid of a process that has exited: nothing can be writing its files any more. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

/** The rows of every spool file in `dir`, header lines left out. */
async function spooledRows(dir: string): Promise<unknown[][]> {
  const rows: unknown[][] = [];
  for (const name of await readdir(dir).catch(() => [])) {
    const lines = (await readFile(join(dir, name), 'utf8')).split('\n').filter(Boolean);
    rows.push(...lines.slice(1).map((line) => JSON.parse(line) as unknown[]));
  }
  return rows;
}

describe('BatchWriter with a spool', () => {
  let dir: string;
  let table: { rows: string[]; down: boolean; insert: (batch: string[]) => Promise<void> };
  let clock: ManualClock;
  let errors: Error[];

  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'spool-')), 'spool');
    clock = new ManualClock(1_000_000);
    errors = [];
    table = {
      rows: [],
      down: false,
      insert: async (batch) => {
        if (table.down) throw new Error('connection refused');
        table.rows.push(...batch);
      },
    };
  });

  function writer(shutdownBudgetMs = 1_000, spoolDir = dir) {
    const file = new BatchSpool(spoolDir, 'test', DATABASE, (error) => errors.push(error));
    const batchWriter = new BatchWriter<string>({
      name: 'TestWriter',
      items: 'test rows',
      insert: table.insert,
      batchSize: 2,
      flushIntervalMs: 100,
      queueLimit: 100,
      backoff: { baseDelayMs: 100, maxDelayMs: 100 },
      shutdownBudgetMs,
      time: clock,
      random: () => 0.999,
      spool: { file, storedForm: (row) => [row, row.length] },
    });
    return { batchWriter, file };
  }

  it('keeps nothing on disk while the database takes every batch', async () => {
    const { batchWriter, file } = writer();
    for (const row of ['a', 'b', 'c']) batchWriter.enqueue(row);
    await batchWriter.flush();
    await file.settled();
    expect(table.rows).toEqual(['a', 'b', 'c']);
    expect(existsSync(dir)).toBe(false);
  });

  it('puts the queue on disk in its stored form once a write fails, adds what comes after, and removes the file once all is written', async () => {
    const { batchWriter, file } = writer();
    table.down = true;
    for (const row of ['a', 'bb', 'ccc']) batchWriter.enqueue(row);
    await batchWriter.flush();
    await file.settled();
    expect(await spooledRows(dir)).toEqual([
      ['a', 1],
      ['bb', 2],
      ['ccc', 3],
    ]);
    batchWriter.enqueue('dddd');
    await batchWriter.flush(); // fails again: the new row joins the file
    await file.settled();
    expect(await spooledRows(dir)).toEqual([
      ['a', 1],
      ['bb', 2],
      ['ccc', 3],
      ['dddd', 4],
    ]);
    table.down = false;
    await batchWriter.flush();
    await file.settled();
    expect(table.rows).toEqual(['a', 'bb', 'ccc', 'dddd']);
    expect(await readdir(dir)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('puts the queue on disk when a write goes unanswered for a second (a database that hangs)', async () => {
    // The first INSERT gets no answer until `answer`; those after it are answered at once.
    let answer: () => void = () => undefined;
    let answering = false;
    table.insert = (batch) =>
      new Promise<void>((resolve) => {
        answer = () => {
          answering = true;
          table.rows.push(...batch);
          resolve();
        };
        if (answering) answer();
      });
    const { batchWriter, file } = writer();
    batchWriter.enqueue('a');
    const flushed = batchWriter.flush();
    // A full batch makes the writer look at its queue at once, as its interval timer does.
    clock.advance(900);
    batchWriter.enqueue('bb');
    batchWriter.enqueue('c');
    await file.settled();
    expect(existsSync(dir)).toBe(false);
    clock.advance(200);
    batchWriter.enqueue('dd');
    await file.settled();
    expect(await spooledRows(dir)).toEqual([
      ['a', 1],
      ['bb', 2],
      ['c', 1],
      ['dd', 2],
    ]);
    answer();
    await flushed;
    await batchWriter.flush();
    await file.settled();
    expect(table.rows).toEqual(['a', 'bb', 'c', 'dd']);
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps what is unwritten at shutdown on disk, also rows queued after the last failure', async () => {
    // No time to try again at shutdown: what is queued is left as it is.
    const { batchWriter, file } = writer(0);
    table.down = true;
    batchWriter.enqueue('a');
    await batchWriter.flush();
    batchWriter.enqueue('b');
    await batchWriter.drain();
    expect(batchWriter.snapshot()).toMatchObject({ queued: 0, dropped: 2, written: 0 });
    expect(await spooledRows(dir)).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
    expect(file.file.startsWith(join(dir, `test-${process.pid}-`))).toBe(true);
  });

  it('reports a spool it cannot write and goes on with the rows in memory', async () => {
    await writeFile(join(dir, '..', 'blocker'), '');
    const { batchWriter, file } = writer(1_000, join(dir, '..', 'blocker', 'spool'));
    table.down = true;
    batchWriter.enqueue('a');
    await batchWriter.flush();
    await file.settled();
    expect(errors.map((error) => (error as NodeJS.ErrnoException).code)).toEqual(['ENOTDIR']);
    table.down = false;
    await batchWriter.flush();
    expect(table.rows).toEqual(['a']);
    // Its file's removal fails too: within this test, not in the next one's errors.
    await file.settled();
  });

  it('reports a spool folder on /proc at once, instead of an mkdir that never returns', async () => {
    // Node's recursive mkdir spins there for good, on a thread of the pool every file operation needs.
    const { batchWriter, file } = writer(1_000, '/proc/switchyard-data/spool');
    table.down = true;
    batchWriter.enqueue('a');
    await batchWriter.flush();
    await file.settled();
    expect(errors.map((error) => error.message)).toEqual([
      '/proc/switchyard-data/spool cannot be created: /proc is on proc, a pseudo file system of the kernel, not a disk',
    ]);
    table.down = false;
    await batchWriter.flush();
    expect(table.rows).toEqual(['a']);
    await file.settled();
  });
});

describe('recoverSpools', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-'));
  });

  async function leftBy(pid: number, name: string, lines: string[], database = DATABASE): Promise<string> {
    const file = join(dir, `metrics-${pid}-${name}.ndjson`);
    const header = JSON.stringify({ spool: 1, writer: 'metrics', database, pid });
    await writeFile(file, [header, ...lines].join('\n'));
    return file;
  }

  it('writes the rows of a process that is gone, skipping a line cut off when it was killed, and removes its file', async () => {
    const pid = await deadPid();
    await leftBy(pid, 'a1', ['["r1",1]', '["r2",2]', '["r3",']);
    const written: RecoveredSpool[] = [];
    const { recovered } = await recoverSpools(dir, 'metrics', DATABASE, async (spool) => {
      written.push(spool);
    });
    expect(written.map(({ rows, unreadable, pid: owner }) => ({ rows, unreadable, owner }))).toEqual([
      {
        rows: [
          ['r1', 1],
          ['r2', 2],
        ],
        unreadable: 1,
        owner: pid,
      },
    ]);
    expect(recovered).toHaveLength(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it('leaves alone the files of a live process, of this process, another writer, another database and no spool, naming the last two', async () => {
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      const pid = await deadPid();
      const otherDatabase = await leftBy(pid, 'other', ['["y"]'], '10.0.0.9:5432/elsewhere');
      const notSpool = join(dir, `metrics-${pid}-copied.ndjson`);
      await writeFile(notSpool, 'id,at\n1,2\n');
      const kept = [await leftBy(sleeper.pid!, 'live', ['["x"]']), otherDatabase, notSpool];
      const ours = new BatchSpool(dir, 'metrics', DATABASE, (error) => {
        throw error;
      });
      await ours.append([['mine']]);
      const outcomeFile = join(dir, `outcomes-${pid}-z.ndjson`);
      await writeFile(
        outcomeFile,
        `${JSON.stringify({ spool: 1, writer: 'outcomes', database: DATABASE, pid })}\n["o"]\n`,
      );
      const { recovered, leftAlone } = await recoverSpools(dir, 'metrics', DATABASE, async () => undefined);
      expect(recovered).toEqual([]);
      expect(leftAlone.sort((a, b) => a.file.localeCompare(b.file))).toEqual([
        {
          file: notSpool,
          why: 'its first line is not the header of a spool file this version writes; move it out of the folder',
        },
        {
          file: otherDatabase,
          why: `its rows are for the database 10.0.0.9:5432/elsewhere, not ${DATABASE}: a gateway on this folder against that database writes them; remove the file if none will`,
        },
      ]);
      expect((await readdir(dir)).map((name) => join(dir, name)).sort()).toEqual(
        [...kept, ours.file, outcomeFile].sort(),
      );
    } finally {
      sleeper.kill();
    }
  });

  it('keeps a file whose rows could not be written, and writes it on the next try', async () => {
    const pid = await deadPid();
    await leftBy(pid, 'b2', ['["r1"]']);
    await expect(
      recoverSpools(dir, 'metrics', DATABASE, async () => {
        throw new Error('connection refused');
      }),
    ).rejects.toThrow('connection refused');
    expect(await readdir(dir)).toHaveLength(1);
    const rows: unknown[][] = [];
    await recoverSpools(dir, 'metrics', DATABASE, async (spool) => {
      rows.push(...spool.rows);
    });
    expect(rows).toEqual([['r1']]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('names the database without its credentials', () => {
    expect(spoolDatabaseOf('postgres://app:s3cret@db.internal:6432/gateway?sslmode=require')).toBe(
      'db.internal:6432/gateway',
    );
    expect(spoolDatabaseOf('postgres://app@db.internal/gateway')).toBe('db.internal:5432/gateway');
  });
});
