import { ManualClock } from '../common/manual-clock';
import { BatchWriter, drainBudgetMs, type BatchWriterOptions, type DropReason } from './batch-writer';
import { ShutdownDeadline } from './shutdown-deadline';

/**
 * A table in memory standing in for Postgres: it stores each batch it is given, or rejects it while
 * `down`. `duringInsert` runs inside an attempt (time passing while the database does not answer).
 */
class FakeTable {
  readonly rows: string[] = [];
  readonly attempts: string[][] = [];
  down = false;
  duringInsert?: () => Promise<void>;

  readonly insert = async (batch: string[]): Promise<void> => {
    this.attempts.push([...batch]);
    await this.duringInsert?.();
    if (this.down) throw new Error('connection refused');
    this.rows.push(...batch);
  };
}

/**
 * The shared deadline in the test's clock: `get` as ShutdownDeadline's, and `reach` runs what waits
 * for it (ShutdownDeadline itself runs that on a real timer).
 */
class ManualDeadline {
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly atMs: number) {}
  get(): number {
    return this.atMs;
  }
  whenReached(callback: () => void): void {
    this.waiting.push(callback);
  }
  reach(): void {
    for (const callback of this.waiting.splice(0)) callback();
  }
}

/** Every promise chain started so far has run to its end (the writer's background flushes included). */
const settled = () => new Promise((resolve) => setImmediate(resolve));

function writerFor(table: FakeTable, clock: ManualClock, options: Partial<BatchWriterOptions<string>> = {}) {
  const dropped: Array<[string, DropReason]> = [];
  const abandoned: string[] = [];
  const writer = new BatchWriter<string>({
    name: 'TestWriter',
    items: 'test rows',
    insert: table.insert,
    batchSize: 3,
    flushIntervalMs: 100,
    queueLimit: 10,
    backoff: { baseDelayMs: 100, maxDelayMs: 1_000 },
    shutdownBudgetMs: 1_000,
    onDropped: (item, reason) => dropped.push([item, reason]),
    onAbandoned: (items) => abandoned.push(...items),
    time: clock,
    // The longest wait the backoff allows, so the test knows exactly when the next try is due.
    random: () => 0.999,
    ...options,
  });
  return { writer, dropped, abandoned };
}

describe('BatchWriter', () => {
  let clock: ManualClock;
  let table: FakeTable;

  beforeEach(() => {
    clock = new ManualClock(1_000_000);
    table = new FakeTable();
  });

  it('writes what is queued in batches of batchSize, in order, one insert per batch', async () => {
    const { writer } = writerFor(table, clock, { batchSize: 3, queueLimit: 100 });
    for (const row of ['a', 'b']) writer.enqueue(row);
    expect(table.attempts).toEqual([]); // not a full batch: waits for the interval
    await writer.flush();
    expect(table.attempts).toEqual([['a', 'b']]);

    // A full batch goes at once, without waiting for the interval; what arrives meanwhile follows it.
    for (const row of ['c', 'd', 'e']) writer.enqueue(row);
    expect(table.attempts).toHaveLength(2);
    for (const row of ['f', 'g', 'h', 'i']) writer.enqueue(row);
    await settled();
    expect(table.attempts).toEqual([['a', 'b'], ['c', 'd', 'e'], ['f', 'g', 'h'], ['i']]);
    expect(table.rows).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 9, dropped: 0, failedFlushes: 0, lastError: null });
    expect(writer.snapshot().lastFlushAt).toEqual(clock.now());
  });

  it('keeps the rows while the database is down, retries only after the backoff, and writes them all once it is back', async () => {
    const { writer, dropped } = writerFor(table, clock, { batchSize: 1 });
    table.down = true;
    writer.enqueue('a'); // a full batch: tried at once, fails
    await settled();
    expect(table.attempts).toHaveLength(1);
    expect(writer.snapshot()).toMatchObject({ queued: 1, failedFlushes: 1, lastError: 'connection refused' });

    // A row arriving `ms` later makes the writer try again only once the backoff has passed.
    const attemptsAfter = async (ms: number, row: string) => {
      await clock.advance(ms);
      writer.enqueue(row);
      await settled();
      return table.attempts.length;
    };
    // First retry no earlier than ~100 ms (base), the next ~200 ms after that (doubled).
    expect(await attemptsAfter(90, 'b')).toBe(1);
    expect(await attemptsAfter(10, 'c')).toBe(2);
    expect(await attemptsAfter(190, 'd')).toBe(2);
    expect(await attemptsAfter(10, 'e')).toBe(3);
    expect(writer.snapshot()).toMatchObject({ queued: 5, written: 0, dropped: 0, failedFlushes: 3 });

    table.down = false;
    await attemptsAfter(400, 'f');
    expect(table.rows).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 6, dropped: 0, failedFlushes: 3, lastError: null });
    expect(dropped).toEqual([]);
  });

  it('drops beyond the queue limit, counting and reporting each row it drops', async () => {
    const { writer, dropped } = writerFor(table, clock, { queueLimit: 4, batchSize: 100 });
    table.down = true;
    const taken = ['a', 'b', 'c', 'd', 'e', 'f'].map((row) => writer.enqueue(row));
    expect(taken).toEqual([true, true, true, true, false, false]);
    expect(writer.room).toBe(0);
    expect(dropped).toEqual([
      ['e', 'queue_full'],
      ['f', 'queue_full'],
    ]);
    await writer.flush();
    expect(writer.snapshot()).toMatchObject({ queued: 4, dropped: 2, failedFlushes: 1 });

    table.down = false;
    await writer.flush();
    expect(writer.room).toBe(4);
    expect(table.rows).toEqual(['a', 'b', 'c', 'd']);
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 4, dropped: 2 });
  });

  it('writes everything queued in the final flush, and counts a row arriving after it as dropped', async () => {
    const { writer, dropped, abandoned } = writerFor(table, clock, { batchSize: 2, queueLimit: 100 });
    for (const row of ['a', 'b', 'c', 'd', 'e']) writer.enqueue(row);
    await writer.drain();
    expect(table.rows).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 5, dropped: 0 });
    expect(abandoned).toEqual([]);

    expect(writer.room).toBe(0);
    expect(writer.enqueue('late')).toBe(false);
    await writer.flush();
    expect(table.rows).not.toContain('late');
    expect(dropped).toEqual([['late', 'closed']]);
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 5, dropped: 1 });
  });

  it('keeps trying in the final flush while there is time, so a database back within the budget loses nothing', async () => {
    const { writer, abandoned } = writerFor(table, clock);
    writer.enqueue('a');
    table.down = true;
    // The first attempt takes 100 ms and fails; the database is back for the next one.
    table.duringInsert = async () => {
      await clock.advance(100);
      table.down = table.attempts.length < 2;
    };
    await writer.drain();
    expect(table.attempts).toEqual([['a'], ['a']]);
    expect(table.rows).toEqual(['a']);
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 1, dropped: 0, failedFlushes: 1 });
    expect(abandoned).toEqual([]);
  });

  it('counts what the final flush could not write within its budget as dropped, and hands it back', async () => {
    const { writer, abandoned } = writerFor(table, clock, { shutdownBudgetMs: 1_000 });
    for (const row of ['a', 'b', 'c']) writer.enqueue(row);
    await settled();
    expect(table.rows).toEqual(['a', 'b', 'c']);
    writer.enqueue('d');
    writer.enqueue('e');
    table.down = true;
    // Each attempt takes 600 ms: the second one ends past the budget.
    table.duringInsert = () => clock.advance(600);
    await writer.drain();
    expect(table.attempts.slice(1)).toEqual([
      ['d', 'e'],
      ['d', 'e'],
    ]);
    expect(abandoned).toEqual(['d', 'e']);
    expect(writer.snapshot()).toMatchObject({
      queued: 0,
      written: 3,
      dropped: 2,
      failedFlushes: 2,
      lastError: 'connection refused',
    });
  });

  it("ends the final flush at the shutdown's shared deadline when it comes before the writer's own budget", async () => {
    // Another writer's drain ran first and used most of the shutdown: 300 ms are left of this one's 1 s.
    const deadline = new ManualDeadline(clock.nowMs() + 300);
    const { writer, abandoned } = writerFor(table, clock, { shutdownBudgetMs: 1_000, shutdownDeadline: deadline });
    writer.enqueue('a');
    table.down = true;
    table.duringInsert = () => clock.advance(200);
    await writer.drain();
    expect(table.attempts).toEqual([['a'], ['a']]);
    expect(clock.nowMs()).toBeLessThan(1_000_000 + 1_000);
    expect(abandoned).toEqual(['a']);
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 0, dropped: 1 });
  });

  it('counts the rows of an INSERT the database never answers once the final flush is out of time', async () => {
    const { writer, abandoned } = writerFor(table, clock, { shutdownBudgetMs: 300 });
    writer.enqueue('a');
    writer.enqueue('b');
    // A database that hangs rather than refuses: the attempt never settles.
    table.duringInsert = () => new Promise<void>(() => undefined);
    await writer.drain();
    expect(table.attempts).toEqual([['a', 'b']]);
    expect(abandoned).toEqual(['a', 'b']);
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 0, dropped: 2 });
    // Closed: what still arrives is counted as dropped too.
    expect(writer.enqueue('c')).toBe(false);
    expect(writer.snapshot().dropped).toBe(3);
  });

  it('moves the rows of an abandoned INSERT back from dropped to written if it succeeds after all', async () => {
    const { writer } = writerFor(table, clock, { shutdownBudgetMs: 300, batchSize: 2 });
    let answer!: () => void;
    table.duringInsert = () => new Promise<void>((resolve) => (answer = resolve));
    for (const row of ['a', 'b', 'c']) writer.enqueue(row);
    await writer.drain();
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 0, dropped: 3 });
    // The hung database answers the first INSERT after the final flush gave up on it; 'c' was never sent.
    answer();
    await settled();
    expect(table.rows).toEqual(['a', 'b']);
    expect(table.attempts).toEqual([['a', 'b']]);
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 2, dropped: 1, failedFlushes: 0 });
  });

  it('also gives up on an INSERT under way when the shared deadline left the final flush no time at all', async () => {
    const deadline = new ManualDeadline(clock.nowMs());
    const { writer } = writerFor(table, clock, { batchSize: 1, shutdownDeadline: deadline });
    let answer!: () => void;
    table.duringInsert = () => new Promise<void>((resolve) => (answer = resolve));
    writer.enqueue('a');
    await writer.drain();
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 0, dropped: 1 });
    answer();
    await settled();
    expect(table.rows).toEqual(['a']);
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 1, dropped: 0 });
  });

  it('keeps the rows of an abandoned INSERT counted as dropped when it fails after all', async () => {
    const { writer } = writerFor(table, clock, { shutdownBudgetMs: 300 });
    writer.enqueue('a');
    let answer!: () => void;
    table.duringInsert = () => new Promise<void>((resolve) => (answer = resolve));
    await writer.drain();
    table.down = true;
    answer();
    await settled();
    expect(table.rows).toEqual([]);
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 0, dropped: 1, failedFlushes: 0 });
  });

  it('counts what is queued as dropped when the deadline comes before its drain ran at all', () => {
    // An earlier shutdown hook (a final write to a database that hangs) never returned.
    const deadline = new ManualDeadline(clock.nowMs() + 1_000);
    const { writer, abandoned } = writerFor(table, clock, { shutdownDeadline: deadline });
    writer.enqueue('a');
    writer.enqueue('b');
    deadline.reach();
    expect(abandoned).toEqual(['a', 'b']);
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 0, dropped: 2 });
    expect(writer.enqueue('c')).toBe(false);
    expect(writer.snapshot().dropped).toBe(3);
    expect(table.attempts).toEqual([]);
  });

  it('runs what waits for the shutdown deadline once it comes, and only once', async () => {
    const deadline = new ShutdownDeadline();
    let runs = 0;
    deadline.whenReached(() => runs++);
    deadline.set(Date.now() + 60_000);
    // Brought forward to now: its timer is due at once.
    deadline.set(Date.now());
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(runs).toBe(1);
    deadline.set(Date.now());
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(runs).toBe(1);
  });

  it('runs every callback at the shutdown deadline even when one of them throws', async () => {
    const deadline = new ShutdownDeadline();
    const ran: string[] = [];
    deadline.whenReached(() => ran.push('metrics'));
    deadline.whenReached(() => {
      throw new Error('spool folder gone');
    });
    deadline.whenReached(() => ran.push('budgets'));
    deadline.set(Date.now());
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(ran).toEqual(['metrics', 'budgets']);
  });

  it('a shutdown deadline can only come earlier', () => {
    const deadline = new ShutdownDeadline();
    expect(deadline.get()).toBeUndefined();
    deadline.set(5_000);
    deadline.set(9_000);
    expect(deadline.get()).toBe(5_000);
  });

  it('gives the final flush half the shutdown timeout less a margin, and at least a second', () => {
    expect(drainBudgetMs(30_000)).toBe(13_000);
    expect(drainBudgetMs(2_000)).toBe(1_000);
  });
});
