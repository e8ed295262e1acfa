import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import { ManualClock } from '../src/common/manual-clock';
import { DATABASE_RETRY_AFTER_SECONDS } from '../src/common/database-unavailable';
import { EmbeddedPostgresServer } from '../src/database/embedded-postgres';
import { MetricsWriter } from '../src/metrics/metrics-writer';
import { OutcomeWriter } from '../src/outcomes/outcome-writer';
import { ShadowPairWriter } from '../src/shadow/shadow-pair-writer';
import { createBudget } from './support/budgets';
import { freePort } from './support/free-port';
import { parsePrometheus, sumOf } from './support/prometheus';
import { PausedPostgres } from './support/paused-postgres';
import { CANDIDATE_MODEL, withCandidate } from './support/shadow';
import { api, policiesFor, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';
import { eventually } from './support/webhook-server';

const SHUTDOWN_TIMEOUT_MS = 4_000;
const USERS = 12;

/**
 * A database that hangs rather than refuses, at the worst moment: Postgres takes connections and
 * answers reads, but every INSERT of the three writers (metric rows, outcome events, shadow pairs)
 * waits on a lock the test holds. Shutdown must still end in SHUTDOWN_TIMEOUT_MS, each writer
 * counting what it could not write, so every row made is stored or counted as dropped.
 */
describe('a database that hangs at shutdown', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  let locker: Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({
      databaseUrl: database.url,
      catalog: await writeTestCatalog((catalog) => {
        policiesFor('hung-flag')(catalog);
        withCandidate(catalog);
      }),
      clock: new ManualClock(),
      env: {
        METRICS_FLUSH_INTERVAL_MS: '20',
        GATEWAY_MAX_RETRIES: '0',
        SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      },
    });
    locker = new Client({ connectionString: database.url });
    await locker.connect();
  }, 60_000);
  afterAll(async () => {
    await locker?.end();
    await app?.close();
    await database?.drop();
  }, 30_000);

  const count = async (table: string) =>
    (await queryRows<{ n: number }>(database.url, `SELECT count(*)::int AS n FROM ${table}`))[0].n;
  /** INSERTs of the app waiting on the test's lock, per table. */
  const waiting = async () =>
    (
      await queryRows<{ query: string }>(
        database.url,
        `SELECT query FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      )
    ).map((row) => row.query);

  it('ends within SHUTDOWN_TIMEOUT_MS, and every row of the three writers is either stored or counted as dropped', async () => {
    await api(app)
      .post('/api/flags')
      .send({
        key: 'hung-flag',
        variants: { control: 'deepseek-v3.2', treatment: CANDIDATE_MODEL },
        defaultVariant: 'control',
      })
      .expect(201);
    await api(app)
      .post('/api/outcome-metrics')
      .send({ key: 'thumbs_up', type: 'binary', direction: 'higher_is_better', unit: 'request' })
      .expect(201);
    await api(app)
      .post('/api/canaries')
      .send({
        flagKey: 'hung-flag',
        variant: 'treatment',
        shadow: { percentage: 100, durationSeconds: 600, maxSpendUsd: 10, maxConcurrency: 64 },
      })
      .expect(201);
    const before = { metrics: await count('request_metrics'), outcomes: await count('outcome_events') };

    // SHARE: reads go on (outcome ingestion looks its requests up), every INSERT waits.
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE request_metrics, outcome_events, shadow_pairs IN SHARE MODE');
    const requestIds: string[] = [];
    for (let user = 0; user < USERS; user++) {
      const answer = await api(app)
        .post('/v1/chat/completions')
        .set('x-user-id', `user-${user}`)
        .send({ model: 'route:hung-flag', messages: [{ role: 'user', content: 'Is this payment fraud?' }] })
        .expect(200);
      requestIds.push(answer.headers['x-switchyard-request-id']);
    }
    // The requests' rows are queued behind an INSERT that does not end: the lookup gives up waiting
    // for them and takes the events unchecked, as it does while the database cannot be read.
    const events = requestIds.map((requestId) => ({ metric: 'thumbs_up', value: true, requestId }));
    const ingested = await api(app).post('/v1/outcomes').send({ events }).expect(202);
    expect(ingested.body).toMatchObject({ accepted: USERS, refused: 0 });
    // Every user's request went to the candidate as well, and each writer's first INSERT is stuck.
    const stats = async () => (await request(app.simulatorUrl).get('/_simulator/stats').expect(200)).body;
    await eventually(
      async () => ((await stats()).byModel?.[CANDIDATE_MODEL] === USERS ? true : undefined),
      20_000,
      'shadow calls',
    );
    const stuck = await eventually(
      async () => {
        const queries = await waiting();
        return ['request_metrics', 'outcome_events', 'shadow_pairs'].every((table) =>
          queries.some((query) => query.includes(table)),
        )
          ? queries
          : undefined;
      },
      20_000,
      'an INSERT of each writer waiting on the lock',
    );
    expect(stuck.length).toBe(3);

    const metrics = app.app.get(MetricsWriter, { strict: false });
    const outcomes = app.app.get(OutcomeWriter, { strict: false });
    const pairs = app.app.get(ShadowPairWriter, { strict: false });
    const startedAt = Date.now();
    await app.close();
    expect(Date.now() - startedAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    // Nothing reached the tables, and nothing is left queued: all of it is counted as dropped.
    const madeMetricRows = before.metrics + 2 * USERS; // each user's request and its shadow call
    expect(metrics.snapshot()).toMatchObject({ queued: 0, written: before.metrics, dropped: 2 * USERS });
    expect(outcomes.snapshot()).toMatchObject({ queued: 0, written: before.outcomes, dropped: USERS, refused: 0 });
    expect(pairs.snapshot()).toMatchObject({ queued: 0, written: 0, dropped: USERS });

    // The lock goes. The INSERTs the writers gave up on were sent: the database may still store
    // their rows, which stay counted as dropped (nothing confirmed them). So per writer: no row is
    // stored twice, and every row made is stored or counted.
    await locker.query('ROLLBACK');
    await eventually(async () => ((await waiting()).length === 0 ? true : undefined), 20_000, 'no INSERT waiting');
    for (const [table, writer, made] of [
      ['request_metrics', metrics, madeMetricRows],
      ['outcome_events', outcomes, before.outcomes + USERS],
      ['shadow_pairs', pairs, USERS],
    ] as const) {
      const stored = await count(table);
      const { written, dropped } = writer.snapshot();
      expect({ table, storedAtMost: stored <= made, storedOrCounted: stored + dropped >= made }).toEqual({
        table,
        storedAtMost: true,
        storedOrCounted: true,
      });
      expect(stored).toBeGreaterThanOrEqual(written);
    }
  }, 120_000);
});

/**
 * Postgres stops answering while the app serves (a paused container, a stalled disk): its
 * processes are stopped, so connections stay open and queries wait, with no error to see. Nothing
 * may wait as long as the database: completions keep being served from memory, an operator
 * request answers the database_unavailable 503 after OPERATOR_TIMEOUT_MS, and a request whose
 * budget needs a top-up of its lease answers 503 budget_unavailable after its bound.
 */
describe('a database that hangs while the app serves', () => {
  let dataDir: string;
  let server: EmbeddedPostgresServer;
  let app: TestApp;
  let paused: PausedPostgres | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'switchyard-db-hangs-'));
    await chmod(dataDir, 0o755);
    server = new EmbeddedPostgresServer({ dataDir, port: await freePort() });
    app = await startTestApp({
      databaseUrl: await server.start(),
      env: { OPERATOR_TIMEOUT_MS: '1000', SHUTDOWN_TIMEOUT_MS: '3000', GATEWAY_MAX_RETRIES: '0' },
    });
  }, 60_000);
  afterAll(async () => {
    paused?.resume();
    await app?.close();
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 30_000);

  const chat = (model: string) =>
    api(app)
      .post('/v1/chat/completions')
      .send({ model, messages: [{ role: 'user', content: 'Is this payment fraud?' }] });

  it('serves completions, and answers operator requests and budgeted ones 503 within their bounds', async () => {
    await api(app)
      .post('/api/flags')
      .send({ key: 'hang-flag', variants: { control: 'deepseek-v3.2' }, defaultVariant: 'control' })
      .expect(201);
    // No request has used it yet: the first one must top up its lease from the shared ledger.
    await createBudget(app, { scope: 'policy', target: 'chat', limitUsd: 10, period: 'day', onExhausted: 'reject' });
    const postmaster = Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    paused = PausedPostgres.pause(postmaster);
    try {
      expect((await chat('deepseek-v3.2')).status).toBe(200);

      // The outage is when the scrape matters most: within a scraper's timeout (10 s by default),
      // with the request just served counted, however long the canary gauges' read hangs.
      let startedAt = Date.now();
      const scrape = await api(app).get('/metrics');
      expect([scrape.status, Date.now() - startedAt < 5_000]).toEqual([200, true]);
      expect(sumOf(parsePrometheus(scrape.text), 'switchyard_requests_total', { outcome: 'ok' })).toBeGreaterThan(0);

      startedAt = Date.now();
      const flags = await api(app).get('/api/flags');
      expect(Date.now() - startedAt).toBeLessThan(10_000);
      expect([flags.status, flags.headers['retry-after'], flags.body.code]).toEqual([
        503,
        String(DATABASE_RETRY_AFTER_SECONDS),
        'database_unavailable',
      ]);
      expect(flags.body.message).toMatch(/^The database did not answer within 1000 ms \(OPERATOR_TIMEOUT_MS\)/);
      // A change too: it may still be applied once the database answers, and the answer says so.
      const change = await api(app).post('/api/flags/hang-flag/kill').send({});
      expect([change.status, change.body.code]).toEqual([503, 'database_unavailable']);
      expect(change.body.message).toContain(
        'A change this request carries may still be applied once the database answers: read it back before sending it again.',
      );
      // /v1/outcomes reads request rows: bounded as well, in the OpenAI shape of /v1.
      const outcome = await api(app)
        .post('/v1/outcomes')
        .send({ metric: 'thumbs_up', value: true, requestId: '5b0c6b1e-0000-4a83-9d1f-2f7f7f1f3c11' });
      expect([outcome.status, outcome.body.error?.code]).toEqual([503, 'database_unavailable']);

      startedAt = Date.now();
      const budgeted = await chat('route:chat');
      expect(Date.now() - startedAt).toBeLessThan(15_000);
      expect([budgeted.status, budgeted.body.error?.code]).toEqual([503, 'budget_unavailable']);

      // The requests' metric rows cannot be written: readiness says so in the writer's own entry,
      // degraded (rows kept on disk, far from the queue's bound), not up.
      const metrics = await eventually(
        async () => {
          const { status, body } = await request(app.url).get('/health/ready');
          const entry = body.details?.metrics;
          return status === 200 && /^writes failing; [1-9]\d* rows? spooled$/.test(entry?.message ?? '') && entry;
        },
        30_000,
        'the metrics entry to say its writes fail',
      );
      expect(metrics).toMatchObject({ status: 'degraded', dropped: 0 });
    } finally {
      paused.resume();
    }
    // Back. The kill switch answered 503 may or may not have been applied (it needed a connection,
    // open already or not): read back, as the message says, and send it again; it holds either way.
    await eventually(
      async () => ((await api(app).get('/api/flags/hang-flag')).status === 200 ? true : undefined),
      20_000,
    );
    const killed = await api(app).post('/api/flags/hang-flag/kill').send({}).expect(200);
    expect(killed.body.enabled).toBe(false);
    await eventually(async () => ((await chat('route:chat')).status === 200 ? true : undefined), 20_000);
  }, 120_000);
});
