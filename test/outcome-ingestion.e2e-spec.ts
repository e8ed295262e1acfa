import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedPostgresServer } from '../src/database/embedded-postgres';
import { freePort } from './support/free-port';
import { api, startTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';
import { eventually } from './support/webhook-server';

const hello = [{ role: 'user', content: 'Recommend a book.' }];
const FAST = { METRICS_FLUSH_INTERVAL_MS: '20', GATEWAY_MAX_RETRIES: '0' };
const METRICS = [
  { key: 'thumbs_up', type: 'binary', direction: 'higher_is_better', unit: 'request', attributionWindowSeconds: 3600 },
  { key: 'rating', type: 'numeric', direction: 'higher_is_better', unit: 'request' },
  { key: 'checkout_converted', type: 'binary', direction: 'higher_is_better', unit: 'user' },
];

async function defineMetrics(app: TestApp) {
  for (const metric of METRICS) await api(app).post('/api/outcome-metrics').send(metric).expect(201);
}

async function eventsIn(url: string): Promise<Array<Record<string, any>>> {
  return queryRows(url, 'SELECT * FROM outcome_events ORDER BY received_at, id');
}

describe('POST /v1/outcomes: outcome ingestion', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  let gatewayKey: string;
  let requestId: string;
  let requestAt: Date;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ databaseUrl: database.url, env: FAST });
    await defineMetrics(app);
    gatewayKey = (
      await api(app)
        .post('/api/keys')
        .send({ name: 'shop', scopes: ['gateway'] })
        .expect(201)
    ).body.key;
    const answer = await api(app, gatewayKey)
      .post('/v1/chat/completions')
      .send({ model: 'deepseek-v3.2', messages: hello })
      .expect(200);
    requestId = answer.headers['x-switchyard-request-id'];
    requestAt = new Date();
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const post = (body: unknown, key = gatewayKey) =>
    api(app, key)
      .post('/v1/outcomes')
      .send(body as object);

  it('takes a single event with a gateway key: 202 with its id, stored against the request', async () => {
    // Posted right after the answer: its metric row may still be queued, and is found anyway.
    const accepted = await post({ metric: 'thumbs_up', value: true, requestId }).expect(202);
    expect(accepted.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const rows = await eventually(async () => {
      const found = (await eventsIn(database.url)).filter((row) => row.id === accepted.body.id);
      return found.length === 1 ? found : undefined;
    });
    expect(rows[0]).toMatchObject({
      metric_key: 'thumbs_up',
      value: 1,
      request_id: requestId,
      user_key: null,
      source: 'api',
    });
    // The writer's counts on /metrics: written, nothing dropped or refused.
    const exposition = await eventually(async () => {
      const text = (await api(app).get('/metrics').expect(200)).text;
      return /^switchyard_outcome_events_written_total [1-9]\d*$/m.test(text) ? text : undefined;
    });
    expect(exposition).toMatch(/^switchyard_outcome_events_dropped_total 0$/m);
    expect(exposition).toMatch(/^switchyard_outcome_events_refused_total 0$/m);
    const readKey = (
      await api(app)
        .post('/api/keys')
        .send({ name: 'dash', scopes: ['read'] })
        .expect(201)
    ).body.key;
    const refused = await post({ metric: 'thumbs_up', value: true, requestId }, readKey).expect(403);
    expect(refused.body.error.type).toBe('permission_error');
  });

  it('answers a refused single event 400/404 in OpenAI shape, naming the problem', async () => {
    const unknown = await post({ metric: 'thumbs', value: true, requestId }).expect(400);
    expect(unknown.body.error).toMatchObject({ code: 'unknown_metric', param: 'metric' });
    const notFound = await post({ metric: 'thumbs_up', value: true, requestId: 'no-such-request' }).expect(404);
    expect(notFound.body.error).toMatchObject({ code: 'unknown_request', param: 'requestId' });
    expect(notFound.body.error.message).toMatch(/x-switchyard-request-id/);
    const wrongType = await post({ metric: 'thumbs_up', value: 'yes', requestId }).expect(400);
    expect(wrongType.body.error.message).toBe(
      'value must be true or false (or 1 or 0) for binary metric thumbs_up, got "yes"',
    );
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const later = await post({ metric: 'thumbs_up', value: 1, requestId, occurredAt: future }).expect(400);
    expect(later.body.error.code).toBe('occurred_in_future');
    const before = new Date(requestAt.getTime() - 60_000).toISOString();
    const early = await post({ metric: 'thumbs_up', value: 1, requestId, occurredAt: before }).expect(400);
    expect(early.body.error.code).toBe('occurred_before_exposure');
    const builtIn = await post({ metric: 'empty_answer', value: 1, requestId }).expect(400);
    expect(builtIn.body.error.code).toBe('built_in_metric');
    await post({ metric: 'checkout_converted', value: true }).expect(400);
  });

  it('stores the good events of a batch and names the bad one', async () => {
    const before = (await eventsIn(database.url)).length;
    const batch = await post({
      events: [
        { metric: 'rating', value: 4.5, requestId },
        { metric: 'rating', value: 'five', requestId },
        { metric: 'checkout_converted', value: 0, userId: 'user-17' },
      ],
    }).expect(202);
    expect(batch.body).toMatchObject({ accepted: 2, refused: 1 });
    expect(batch.body.results[0]).toEqual({ index: 0, status: 202, id: expect.any(String) });
    expect(batch.body.results[1]).toEqual({
      index: 1,
      status: 400,
      error: {
        code: 'invalid_value',
        message: 'events[1].value must be a finite number for numeric metric rating, got "five"',
        param: 'events[1].value',
      },
    });
    await eventually(async () => ((await eventsIn(database.url)).length === before + 2 ? true : undefined));
    await post({ events: [] }).expect(400);
  });

  it('stores duplicates by idempotency key once, answering the same id', async () => {
    const event = { metric: 'checkout_converted', value: true, userId: 'user-21', idempotencyKey: 'order-1' };
    const first = await post(event).expect(202);
    const again = await post({ events: [event, event] }).expect(202);
    expect(again.body.results.map((result: { id: string }) => result.id)).toEqual([first.body.id, first.body.id]);
    const rows = await eventually(async () => {
      const found = (await eventsIn(database.url)).filter((row) => row.id === first.body.id);
      return found.length > 0 ? found : undefined;
    });
    expect(rows).toHaveLength(1);
  });

  it('accepts the OpenFeature tracking shape', async () => {
    const tracked = await post({
      trackingEventName: 'checkout_converted',
      context: { targetingKey: 'user-99', plan: 'pro' },
      details: { value: 1, currency: 'EUR' },
    }).expect(202);
    const [row] = await eventually(async () => {
      const found = (await eventsIn(database.url)).filter((candidate) => candidate.id === tracked.body.id);
      return found.length === 1 ? found : undefined;
    });
    expect(row).toMatchObject({ metric_key: 'checkout_converted', value: 1, source: 'openfeature', request_id: null });
    expect(row.user_key).not.toBeNull();
  });
});

describe('POST /v1/outcomes through a database outage', () => {
  let server: EmbeddedPostgresServer;
  let dataDir: string;
  let url: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'switchyard-outcomes-down-'));
    await chmod(dataDir, 0o755);
    server = new EmbeddedPostgresServer({ dataDir, port: await freePort() });
    url = await server.start();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('accepts events while Postgres is down and writes every one once it is back', async () => {
    const app = await startTestApp({ databaseUrl: url, env: FAST });
    try {
      await defineMetrics(app);
      await server.stop();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const events = Array.from({ length: 100 }, (_, j) => ({
          metric: 'checkout_converted',
          value: (i + j) % 3 === 0,
          userId: `user-${i}-${j}`,
          idempotencyKey: `down-${i}-${j}`,
        }));
        const answer = await api(app).post('/v1/outcomes').send({ events }).expect(202);
        expect(answer.body).toMatchObject({ accepted: 100, refused: 0 });
        ids.push(...answer.body.results.map((result: { id: string }) => result.id));
      }
      await server.start();
      const stored = await eventually(
        async () => {
          const [{ n }] = await queryRows<{ n: number }>(
            url,
            'SELECT count(*)::int AS n FROM outcome_events WHERE id = ANY($1)',
            [ids],
          );
          return n === 500 ? n : undefined;
        },
        20_000,
        'all 500 events written',
      );
      expect(stored).toBe(500);
    } finally {
      await app.close();
    }
  }, 90_000);
});
