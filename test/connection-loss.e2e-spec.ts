import { ManualClock } from '../src/common/manual-clock';
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
import { PostgresRelay } from './support/postgres-relay';
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

describe('a connection lost after Postgres committed', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let relay: PostgresRelay;
  let gateway: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    const started = await PostgresRelay.start(database.url);
    relay = started.relay;
    gateway = await startTestApp({ databaseUrl: started.url, env: ENV });
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await relay?.close();
    await database?.drop();
  }, 30_000);

  const cutsSoFar = () => relay.cuts;
  const sum = async (sql: string, params: unknown[]) =>
    (await queryRows<{ n: string }>(database.url, sql, params))[0].n;

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
    const { id: keyId, key } = await createKey(gateway, 'budget-cut');
    const budget = await createBudget(gateway, {
      scope: 'key',
      target: keyId,
      limitUsd: 1,
      period: 'day',
      onExhausted: 'reject',
    });
    const spent = async () =>
      picoOfUsd(
        await sum('SELECT coalesce(sum(spent_usd), 0)::text AS n FROM budget_periods WHERE budget_id = $1', [
          budget.id,
        ]),
      );
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
    // The clock never moves: no periodic sync settles the spend before the shutdown's own.
    const gateway = await startTestApp({
      databaseUrl: url,
      clock: new ManualClock(),
      env: { ...ENV, SHUTDOWN_TIMEOUT_MS: '3000' },
    });
    const captured: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    try {
      const { id: keyId, key } = await createKey(gateway, 'shutdown-team');
      const budget = await createBudget(gateway, {
        scope: 'key',
        target: keyId,
        limitUsd: 1,
        period: 'day',
        onExhausted: 'reject',
      });
      for (let i = 0; i < 3; i++) expect((await chat(gateway, key)).status).toBe(200);
      relay.disconnect();
      process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        captured.push(String(chunk));
        return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof process.stdout.write;
      await gateway.close();
      process.stdout.write = write;
      const report = captured
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { context?: string; level?: number; msg?: string })
        .find((line) => line.context === 'BudgetLeases' && line.level === 50);
      // As the log writes USD: without trailing zeros.
      const spent = usd(3n * GPT_COST).replace(/0+$/, '');
      expect(report?.msg).toBe(
        `shutting down with $${spent} spent under budget ${budget.id} not settled in the shared ledger (Postgres did not answer): the budget does not count it`,
      );
      const [row] = await queryRows<{ n: number }>(
        database.url,
        'SELECT count(*)::int AS n FROM budget_periods WHERE budget_id = $1 AND spent_usd > 0',
        [budget.id],
      );
      expect(row.n).toBe(0);
    } finally {
      process.stdout.write = write;
      await relay.close();
      await database.drop();
    }
  }, 60_000);
});
