import { dollars } from '@switchyard/stats';
import { ManualClock } from '../src/common/manual-clock';
import { DataSource } from 'typeorm';
import {
  buildDataSourceOptions,
  DATABASE_CONNECT_TIMEOUT_MS,
  databaseBounds,
} from '../src/database/data-source-options';
import { MetricsWriter } from '../src/metrics/metrics-writer';
import {
  chat,
  createBudget,
  createKey,
  MAX_TOKENS,
  pico,
  picoOfUsd,
  SIMULATED_PROMPT_TOKENS,
  usd,
} from './support/budgets';
import { ensureDatabase } from '../src/database/postgres-process';
import { PostgresRelay } from './support/postgres-relay';
import { StdoutCapture } from './support/stdout-capture';
import { api, startTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';
import { eventually } from './support/webhook-server';

/*
 * Connections to Postgres lost through a relay in front of it. Right after a commit: the app cannot
 * tell a lost commit from a failed one, and each shared count must still be stored once — a metric
 * row, a budget's spend, a key's requests in its rate window — neither lost nor added twice when the
 * app tries again. At shutdown: what cannot be stored any more is reported, not dropped silently.
 */

const ENV = { METRICS_FLUSH_INTERVAL_MS: '20', GATEWAY_MAX_RETRIES: '0', BUDGET_SYNC_MS: '200' };
const GPT_COST = pico(SIMULATED_PROMPT_TOKENS, 2) + pico(MAX_TOKENS, 8);

/** The app's pool (its client, session settings and bounds) on `url`, given to `use`, then closed. */
async function withAppPool(
  url: string,
  poolSize: number,
  statementTimeoutMs: number,
  use: (dataSource: DataSource) => Promise<void>,
): Promise<void> {
  const dataSource = await new DataSource(
    buildDataSourceOptions(url, poolSize, databaseBounds(statementTimeoutMs)),
  ).initialize();
  try {
    await use(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

/** Two statements at once: each of a two-connection pool's places serves one. */
async function expectBothPlacesServe(dataSource: DataSource): Promise<void> {
  await expect(Promise.all([dataSource.query('SELECT 3 AS n'), dataSource.query('SELECT 4 AS n')])).resolves.toEqual([
    [{ n: 3 }],
    [{ n: 4 }],
  ]);
}

/** A new key of `app` under a $1-a-day budget, and the budget's spend as Postgres has it. */
async function keyUnderBudget(app: TestApp, name: string, databaseUrl: string) {
  const { id: keyId, key } = await createKey(app, name);
  const budget = await createBudget(app, {
    scope: 'key',
    target: keyId,
    limitUsd: 1,
    period: 'day',
    onExhausted: 'reject',
  });
  const spent = async () =>
    picoOfUsd(
      (
        await queryRows<{ n: string }>(
          databaseUrl,
          'SELECT coalesce(sum(spent_usd), 0)::text AS n FROM budget_periods WHERE budget_id = $1',
          [budget.id],
        )
      )[0].n,
    );
  return { key, budget, spent };
}

describe('a connection lost after Postgres committed', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let relay: PostgresRelay;
  let relayUrl: string;
  let gateway: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    const started = await PostgresRelay.start(database.url);
    relay = started.relay;
    relayUrl = started.url;
    gateway = await startTestApp({ databaseUrl: relayUrl, env: ENV });
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await relay?.close();
    await database?.drop();
  }, 30_000);

  const cutsSoFar = () => relay.cuts;
  const sum = async (sql: string, params: unknown[]) =>
    (await queryRows<{ n: string }>(database.url, sql, params))[0].n;

  it('the pool: a connection lost while its session is being set up fails one statement, not the process', async () => {
    // A new connection runs its session settings before the pool lends it. Lost in between, its
    // error must reach the statement that waited for it: thrown at no one, it would end the process.
    await withAppPool(relayUrl, 2, 5000, async (dataSource) => {
      const cuts = cutsSoFar();
      relay.cutAfterCommit('SET statement_timeout');
      // The pool's one connection is busy with the first statement: the second needs a new one.
      const [first, second] = await Promise.allSettled([
        dataSource.query('SELECT pg_sleep(0.2), 1 AS n'),
        dataSource.query('SELECT 2 AS n'),
      ]);
      expect(relay.cuts).toBe(cuts + 1);
      expect(first).toMatchObject({ status: 'fulfilled', value: [{ n: 1 }] });
      expect(second).toMatchObject({ status: 'rejected', reason: { message: 'Connection terminated unexpectedly' } });
      await expectBothPlacesServe(dataSource);
    });
  });

  it("the embedded Postgres' start-up: a connection lost while it creates the database fails start-up, not the process", async () => {
    const name = `switchyard_ensure_${Date.now().toString(36)}`;
    const cuts = cutsSoFar();
    // Cut once the lookup has answered: the CREATE that follows meets a dead connection.
    relay.cutAfterCommit('pg_database');
    await expect(ensureDatabase(relayUrl, name)).rejects.toThrow('Connection terminated');
    expect(relay.cuts).toBe(cuts + 1);
    await ensureDatabase(relayUrl, name);
    await ensureDatabase(relayUrl, name);
    const found = await queryRows(database.url, 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    await queryRows(database.url, `DROP DATABASE ${name}`);
    expect(found).toHaveLength(1);
  });

  it('metrics: the batch is written again and each row stored once', async () => {
    const { key } = await createKey(gateway, 'metrics-cut');
    const count = () =>
      queryRows<{ rows: number; ids: number }>(
        database.url,
        'SELECT count(*)::int AS rows, count(DISTINCT id)::int AS ids FROM request_metrics',
      ).then(([row]) => row);
    for (let i = 0; i < 3; i++) expect((await chat(gateway, key)).status).toBe(200);
    await eventually(async () => (await count()).rows === 3, 10_000, 'the first 3 rows');
    const cuts = cutsSoFar();
    relay.cutAfterCommit('INSERT INTO request_metrics');
    for (let i = 0; i < 4; i++) expect((await chat(gateway, key)).status).toBe(200);
    const writer = gateway.app.get(MetricsWriter);
    // The cut batch failed once (as far as the app could tell) and was written again.
    const state = await eventually(
      () => {
        const snapshot = writer.snapshot();
        return relay.cuts === cuts + 1 && snapshot.queued === 0 && snapshot.failedFlushes >= 1 && snapshot;
      },
      20_000,
      'the cut batch to be written again',
    );
    expect(state).toMatchObject({ written: 7, dropped: 0 });
    expect(await count()).toEqual({ rows: 7, ids: 7 });
  }, 30_000);

  it("budgets: the sync's spend is settled once", async () => {
    const { key, budget, spent } = await keyUnderBudget(gateway, 'budget-cut', database.url);
    for (let i = 0; i < 2; i++) expect((await chat(gateway, key)).status).toBe(200);
    await eventually(async () => (await spent()) === 2n * GPT_COST, 10_000, 'the first 2 requests settled');
    const cuts = cutsSoFar();
    relay.cutAfterCommit('INSERT INTO budget_periods');
    for (let i = 0; i < 3; i++) expect((await chat(gateway, key)).status).toBe(200);
    await eventually(() => relay.cuts === cuts + 1, 10_000, 'a budget sync cut after its commit');
    // A request sent after the cut is settled by a later sync than the one that retries the cut one:
    // once it is in, a spend settled twice would be too.
    expect((await chat(gateway, key)).status).toBe(200);
    await eventually(async () => (await spent()) >= 6n * GPT_COST, 10_000, 'the 6th request settled');
    expect(await spent()).toBe(6n * GPT_COST);
    const status = await api(gateway).get(`/api/budgets/${budget.id}`).expect(200);
    expect(picoOfUsd(status.body.current.spentUsd)).toBe(6n * GPT_COST);
  }, 30_000);

  it("rate limits: the sync's requests are counted once in the key's window", async () => {
    // Counts are per clock minute: 10 s is ample for the test to stay in one.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 10_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
    const created = await api(gateway)
      .post('/api/keys')
      .send({ name: 'limit-cut', scopes: ['gateway'], requestsPerMinute: 100 })
      .expect(201);
    const { id: keyId, key } = created.body as { id: string; key: string };
    const counted = async () =>
      Number(await sum('SELECT coalesce(sum(requests), 0)::text AS n FROM api_key_usage WHERE key_id = $1', [keyId]));
    for (let i = 0; i < 2; i++) expect((await chat(gateway, key)).status).toBe(200);
    await eventually(async () => (await counted()) === 2, 10_000, 'the first 2 requests shared');
    const cuts = cutsSoFar();
    relay.cutAfterCommit('INSERT INTO api_key_usage (');
    for (let i = 0; i < 3; i++) expect((await chat(gateway, key)).status).toBe(200);
    await eventually(() => relay.cuts === cuts + 1, 10_000, 'a usage sync cut after its commit');
    expect((await chat(gateway, key)).status).toBe(200);
    await eventually(async () => (await counted()) >= 6, 10_000, 'the 6th request shared');
    expect(await counted()).toBe(6);
    // What the key is told it has left: 100 minus the 7 it has now made, not minus a double count.
    const last = await chat(gateway, key);
    expect(last.headers.get('x-ratelimit-remaining-requests')).toBe('93');
  }, 30_000);
});

describe('the database gone at shutdown', () => {
  it("reports each budget's spend it could not settle, with the amount", async () => {
    const database = await createTestDatabase();
    const { relay, url } = await PostgresRelay.start(database.url);
    const stdout = StdoutCapture.start();
    try {
      // The clock never moves: no periodic sync settles the spend before the shutdown's own.
      const gateway = await startTestApp({
        databaseUrl: url,
        clock: new ManualClock(),
        env: { ...ENV, SHUTDOWN_TIMEOUT_MS: '3000' },
      });
      const { key, budget } = await keyUnderBudget(gateway, 'shutdown-team', database.url);
      for (let i = 0; i < 3; i++) expect((await chat(gateway, key)).status).toBe(200);
      relay.disconnect();
      await gateway.close();
      stdout.stop();
      const report = stdout.jsonLines().find((line) => line.context === 'BudgetLeases' && line.level === 50);
      // As the log writes USD: three significant digits below a dollar.
      const spent = dollars(Number(usd(3n * GPT_COST)));
      expect(report?.msg).toBe(
        `shutting down with ${spent} spent under key budget "shutdown-team" (day, $1.00; id ${budget.id}) not settled in the shared ledger (Postgres did not answer): the budget does not count it`,
      );
      const [row] = await queryRows<{ n: number }>(
        database.url,
        'SELECT count(*)::int AS n FROM budget_periods WHERE budget_id = $1 AND spent_usd > 0',
        [budget.id],
      );
      expect(row.n).toBe(0);
    } finally {
      stdout.stop();
      await relay.close();
      await database.drop();
    }
  }, 60_000);
});

/*
 * A network partition in the middle of a transaction: the relay lets a statement through and then
 * nothing more, either way, closing neither side. Postgres keeps the session idle in its
 * transaction, with its row locks; the app waits for an answer that never comes. Both ends must
 * give up on their own — Postgres ends the session after DATABASE_STATEMENT_TIMEOUT_MS, the app
 * closes the connection a second later — or the cut-off replica's syncs and every other replica's
 * syncs of the same rows would wait forever.
 */
describe('a replica cut off from Postgres in the middle of a transaction', () => {
  const BOUNDED = { ...ENV, DATABASE_STATEMENT_TIMEOUT_MS: '1000' };
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let relay: PostgresRelay;
  let relayUrl: string;
  /** Reaches Postgres through the relay. */
  let cutOff: TestApp;
  /** Reaches Postgres directly. */
  let other: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    const started = await PostgresRelay.start(database.url);
    relay = started.relay;
    relayUrl = started.url;
    cutOff = await startTestApp({ databaseUrl: relayUrl, env: BOUNDED });
    // Its statements wait as long as Postgres' default allows: only the cut-off session's own
    // bound can release the row lock they wait on.
    other = await startTestApp({ databaseUrl: database.url, env: ENV });
  }, 60_000);

  afterAll(async () => {
    await cutOff?.close();
    await other?.close();
    await relay?.close();
    await database?.drop();
  }, 30_000);

  const idleInTransaction = async () =>
    (
      await queryRows<{ n: number }>(
        database.url,
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
      )
    )[0].n;

  it('the pool: a connection left without an answer is closed and replaced, not used again', async () => {
    // The app's pool, with one connection: kept in the pool, that connection would make every later
    // statement wait behind the one that never ends.
    await withAppPool(relayUrl, 1, 1000, async (dataSource) => {
      expect(await dataSource.query('SELECT 1 AS n')).toEqual([{ n: 1 }]);
      const freezes = relay.freezes;
      relay.freezeAfter('SELECT 2');
      await expect(dataSource.query('SELECT 2 AS n')).rejects.toThrow('Query read timeout');
      expect(relay.freezes).toBe(freezes + 1);
      expect(await dataSource.query('SELECT 3 AS n')).toEqual([{ n: 3 }]);
      // Postgres probes the connection from its side too: a session whose replica is cut off while
      // holding an advisory lock is ended, and the lock released, within ~25 s rather than two hours.
      expect(
        await dataSource.query(
          "SELECT current_setting('tcp_keepalives_idle') AS idle, current_setting('tcp_keepalives_count') AS count",
        ),
      ).toEqual([{ idle: '10', count: '3' }]);
      // Set by statements, not startup parameters: a pooler such as PgBouncer refuses those it does not know.
      expect(new Set(relay.startupParameters.flat())).toEqual(
        new Set(['user', 'database', 'application_name', 'client_encoding']),
      );
    });
  }, 30_000);

  it('the pool: a new connection that stops answering while its session is set up fails within the connect bound', async () => {
    // The statement bound (60 s by default) is for the app's work; setting up a session is part of
    // connecting, which DATABASE_CONNECT_TIMEOUT_MS bounds.
    await withAppPool(relayUrl, 2, 60_000, async (dataSource) => {
      // The pool's one connection is held: the next statement needs a new one.
      const held = dataSource.createQueryRunner();
      await held.connect();
      const freezes = relay.freezes;
      relay.freezeAfter('SET statement_timeout');
      const started = Date.now();
      await expect(dataSource.query('SELECT 2 AS n')).rejects.toThrow('Query read timeout');
      expect(Date.now() - started).toBeLessThan(DATABASE_CONNECT_TIMEOUT_MS + 5_000);
      expect(relay.freezes).toBe(freezes + 1);
      await held.release();
      // Closed, the frozen connection no longer takes one of the pool's two places.
      await expectBothPlacesServe(dataSource);
    });
  }, 30_000);

  it("budgets: the held row lock is released, and the cut-off sync's spend is settled once", async () => {
    const { key, budget, spent } = await keyUnderBudget(cutOff, 'partition-team', database.url);
    for (let i = 0; i < 2; i++) expect((await chat(cutOff, key)).status).toBe(200);
    await eventually(async () => (await spent()) === 2n * GPT_COST, 10_000, 'the first 2 requests settled');

    // The sync's first statement locks the period's row, then the connection goes silent.
    const freezes = relay.freezes;
    relay.freezeAfter('INSERT INTO budget_periods');
    for (let i = 0; i < 3; i++) expect((await chat(cutOff, key)).status).toBe(200);
    await eventually(() => relay.freezes === freezes + 1, 10_000, "a budget sync's connection frozen");
    // The other replica's syncs of the same period need that row.
    for (let i = 0; i < 2; i++) expect((await chat(other, key)).status).toBe(200);
    await eventually(async () => (await spent()) === 7n * GPT_COST, 20_000, 'every request settled');
    // As in the lost commit's test: a request settled after the cut-off sync was retried shows that
    // nothing of it is settled twice.
    expect((await chat(cutOff, key)).status).toBe(200);
    await eventually(async () => (await spent()) >= 8n * GPT_COST, 10_000, 'the 8th request settled');
    expect(await spent()).toBe(8n * GPT_COST);
    await eventually(async () => (await idleInTransaction()) === 0, 10_000, 'no session left idle in a transaction');
    const status = await api(cutOff).get(`/api/budgets/${budget.id}`).expect(200);
    expect(picoOfUsd(status.body.current.spentUsd)).toBe(8n * GPT_COST);
  }, 60_000);

  it('metrics: the batch whose answer never came is written again, each row once', async () => {
    const { id: keyId, key } = await createKey(cutOff, 'partition-metrics');
    const count = () =>
      queryRows<{ rows: number; ids: number }>(
        database.url,
        'SELECT count(*)::int AS rows, count(DISTINCT id)::int AS ids FROM request_metrics WHERE api_key_id = $1',
        [keyId],
      ).then(([row]) => row);
    const writer = cutOff.app.get(MetricsWriter);
    expect((await chat(cutOff, key)).status).toBe(200);
    await eventually(async () => (await count()).rows === 1, 10_000, 'the first row');
    const failedBefore = writer.snapshot().failedFlushes;
    const freezes = relay.freezes;
    relay.freezeAfter('INSERT INTO request_metrics');
    for (let i = 0; i < 3; i++) expect((await chat(cutOff, key)).status).toBe(200);
    await eventually(() => relay.freezes === freezes + 1, 10_000, "a metric batch's connection frozen");
    await eventually(() => writer.snapshot().failedFlushes > failedBefore, 20_000, 'the frozen batch given up');
    await eventually(async () => (await count()).rows >= 4, 20_000, 'the batch written again');
    expect(await count()).toEqual({ rows: 4, ids: 4 });
    expect(writer.snapshot().dropped).toBe(0);
  }, 60_000);
});
