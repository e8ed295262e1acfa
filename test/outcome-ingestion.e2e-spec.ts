import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../src/common/manual-clock';
import { EmbeddedPostgresServer } from '../src/database/embedded-postgres';
import { MetricsWriter } from '../src/metrics/metrics-writer';
import { OutcomeWriter } from '../src/outcomes/outcome-writer';
import { freePort } from './support/free-port';
import { rawRequest } from './support/raw-http';
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

/** The same, on a database an earlier test of the file may have defined them in already. */
async function ensureMetrics(app: TestApp) {
  for (const metric of METRICS) {
    const answer = await api(app).post('/api/outcome-metrics').send(metric);
    expect([201, 409]).toContain(answer.status);
  }
}

async function eventsIn(url: string): Promise<Array<Record<string, any>>> {
  return queryRows(url, 'SELECT * FROM outcome_events ORDER BY received_at, id');
}

/**
 * The default catalog's `recommendations` policy routes by the flag recommendations-model: once the
 * flag exists, a request through it with a user id is that user's exposure.
 */
async function createRecommendationsFlag(app: TestApp) {
  await api(app)
    .post('/api/flags')
    .send({ key: 'recommendations-model', variants: { control: 'deepseek-v3.2' }, defaultVariant: 'control' })
    .expect(201);
}

/** One request of `user` through the flagged route: an exposure at the app clock's now. */
async function expose(app: TestApp, user: string, model = 'route:recommendations') {
  const answer = await api(app)
    .post('/v1/chat/completions')
    .set('x-user-id', user)
    .send({ model, messages: hello })
    .expect(200);
  return answer.headers as Record<string, string>;
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
    await createRecommendationsFlag(app);
    // The users whose conversions these tests report were exposed first, as a shop's users are.
    for (const user of ['user-17', 'user-21', 'user-99']) await expose(app, user);
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
    expect(exposition).toMatch(/^switchyard_outcome_events_dropped_total\{reason="shutdown"\} 0$/m);
    expect(exposition).toMatch(/^switchyard_outcome_events_dropped_total\{reason="idempotency_conflict"\} 0$/m);
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
    // A misspelt field would have been dropped: the event stored now, without its idempotency.
    const misspelt = await post({ metric: 'thumbs_up', value: 1, requestId, idempotncyKey: 'o-1' }).expect(400);
    expect(misspelt.body.error).toMatchObject({ code: 'unknown_field', param: 'idempotncyKey' });
  });

  it('refuses a body that is not application/json with 415 in OpenAI shape, as the completions endpoint does, storing nothing', async () => {
    const writer = app.app.get(OutcomeWriter, { strict: false });
    const storedCount = async () => {
      await writer.flush();
      const [{ n }] = await queryRows<{ n: number }>(database.url, 'SELECT count(*)::int AS n FROM outcome_events');
      return n;
    };
    const before = await storedCount();
    const body = JSON.stringify({ metric: 'thumbs_up', value: true, requestId });
    const send = (headers: Record<string, string>) =>
      rawRequest(app.url, {
        method: 'POST',
        path: '/v1/outcomes',
        headers: { authorization: `Bearer ${gatewayKey}`, ...headers },
        body,
      });
    const refused: Array<[string | undefined, string]> = [
      ['text/plain', '"text/plain"'],
      ['application/x-www-form-urlencoded', '"application/x-www-form-urlencoded"'],
      ['application/vnd.api+json', '"application/vnd.api+json"'],
      ['application/json; charset=latin1', '"application/json; charset=latin1"'],
      [undefined, 'no Content-Type'],
    ];
    for (const [type, got] of refused) {
      const response = await send(type === undefined ? {} : { 'content-type': type });
      expect([type, response.status, JSON.parse(response.text)]).toEqual([
        type,
        415,
        {
          error: {
            message: `The request body must be JSON in UTF-8 with Content-Type: application/json (got ${got}).`,
            type: 'invalid_request_error',
            code: 'unsupported_content_type',
            param: null,
          },
        },
      ]);
    }
    expect(await storedCount()).toBe(before);
    // Any spelling of application/json in UTF-8 is taken.
    const taken = await send({ 'content-type': 'Application/JSON; charset="UTF-8"' });
    expect(taken.status).toBe(202);
    expect(await storedCount()).toBe(before + 1);
  });

  it('keeps a numeric value within a trillion either way, so the sums that judge it cannot overflow', async () => {
    // 1e200 squared is past a float8: the summary's sum of squares failed with "value out of range".
    for (const value of [1e200, -1e13]) {
      const refused = await post({ metric: 'rating', value, requestId }).expect(400);
      expect(refused.body.error).toEqual({
        type: 'invalid_request_error',
        code: 'value_out_of_range',
        param: 'value',
        message: `value ${value} is out of range for numeric metric rating: it must lie between -1e12 and 1e12`,
      });
    }
    const batch = await post({ events: [{ metric: 'rating', value: 1.7e308, requestId }] }).expect(202);
    expect(batch.body.results[0].error).toMatchObject({ code: 'value_out_of_range', param: 'events[0].value' });
    await post({ metric: 'rating', value: 1e12, requestId }).expect(202);
    await api(app).get('/api/metrics/summary?groupBy=variant').expect(200);
  });

  it('stores the good events of a batch and names the bad one', async () => {
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
    expect(batch.body.results[2]).toEqual({ index: 2, status: 202, id: expect.any(String) });
    // By id: a count taken before could already miss an earlier test's event still in the writer's queue.
    const accepted = [batch.body.results[0].id, batch.body.results[2].id];
    await eventually(async () => {
      const stored = new Set((await eventsIn(database.url)).map((row) => row.id));
      return accepted.every((id) => stored.has(id)) ? true : undefined;
    });
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

describe('POST /v1/outcomes: a user-unit event needs an exposure of its user in the attribution window', () => {
  const WINDOW_SECONDS = 3600;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  const clock = new ManualClock();

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ databaseUrl: database.url, env: FAST, clock });
    await api(app)
      .post('/api/outcome-metrics')
      .send({
        key: 'checkout_converted',
        type: 'binary',
        direction: 'higher_is_better',
        unit: 'user',
        attributionWindowSeconds: WINDOW_SECONDS,
      })
      .expect(201);
    await createRecommendationsFlag(app);
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const post = (body: object) => api(app).post('/v1/outcomes').send(body);
  const conversion = (userId: string, extra: object = {}) => ({
    metric: 'checkout_converted',
    value: true,
    userId,
    ...extra,
  });
  /** The stored user keys of these events, once the writer has written what it holds. */
  async function storedUserKeys(ids: string[]): Promise<string[]> {
    await app.app.get(OutcomeWriter, { strict: false }).flush();
    const rows = await queryRows<{ user_key: string }>(
      database.url,
      'SELECT user_key FROM outcome_events WHERE id = ANY($1) ORDER BY user_key',
      [ids],
    );
    return rows.map((row) => row.user_key);
  }
  /** Every outcome_events row, once the writer has written what it holds. */
  async function storedCount(): Promise<number> {
    await app.app.get(OutcomeWriter, { strict: false }).flush();
    const [{ n }] = await queryRows<{ n: number }>(database.url, 'SELECT count(*)::int AS n FROM outcome_events');
    return n;
  }
  async function userKeyOf(requestId: string): Promise<string> {
    await app.app.get(MetricsWriter, { strict: false }).flush();
    const [row] = await queryRows<{ user_key: string }>(
      database.url,
      'SELECT user_key FROM request_metrics WHERE request_id = $1',
      [requestId],
    );
    return row.user_key;
  }

  it("takes the conversion of a user just exposed, attached to that user's key", async () => {
    const headers = await expose(app, 'shopper-1');
    expect(headers['x-switchyard-flag']).toBe('recommendations-model');
    // Reported at once: the exposure's row may still be in the metrics writer's queue, and counts.
    const accepted = await post(conversion('shopper-1')).expect(202);
    const tracked = await post({
      trackingEventName: 'checkout_converted',
      context: { targetingKey: 'shopper-1' },
    }).expect(202);
    const key = await userKeyOf(headers['x-switchyard-request-id']);
    expect(await storedUserKeys([accepted.body.id, tracked.body.id])).toEqual([key, key]);
  });

  it('refuses the conversion of a user never exposed, naming the user field and what to send', async () => {
    const refused = await post(conversion('never-seen')).expect(400);
    expect(refused.body.error).toMatchObject({ code: 'no_exposure_in_window', param: 'userId' });
    expect(refused.body.error.message).toMatch(
      /^userId "never-seen" has no exposure: Switchyard routed no request of this user through a flag, so checkout_converted at \S+Z would count for nothing \(report the user id the flag was evaluated for, sent as x-user-id or the body's user on \/v1\/chat\/completions\)$/,
    );
    // A request to a model by name is routed by no flag: it assigned the user nothing.
    const direct = await expose(app, 'direct-only', 'deepseek-v3.2');
    expect(direct['x-switchyard-flag']).toBe('none');
    const unflagged = await post({
      trackingEventName: 'checkout_converted',
      context: { targetingKey: 'direct-only' },
    }).expect(400);
    expect(unflagged.body.error).toMatchObject({ code: 'no_exposure_in_window', param: 'context.targetingKey' });
    expect(unflagged.body.error.message).toMatch(/^context\.targetingKey "direct-only" has no exposure/);
  });

  it("refuses an event before the user's first exposure", async () => {
    const exposedAt = new Date(clock.nowMs());
    await expose(app, 'shopper-2');
    const before = new Date(exposedAt.getTime() - 60_000).toISOString();
    const refused = await post(conversion('shopper-2', { occurredAt: before })).expect(400);
    expect(refused.body.error).toEqual({
      type: 'invalid_request_error',
      code: 'occurred_before_exposure',
      param: 'occurredAt',
      message:
        `occurredAt ${before} is before the first exposure of userId "shopper-2" (${exposedAt.toISOString()}): ` +
        "an outcome counts for the exposures before it (send the time the outcome happened, after the user's request)",
    });
    await post(conversion('shopper-2', { occurredAt: exposedAt.toISOString() })).expect(202);
  });

  it("refuses an event past the window of the user's last exposure, until the user is exposed again", async () => {
    const exposedAt = new Date(clock.nowMs());
    await expose(app, 'shopper-3');
    await post(conversion('shopper-3')).expect(202);
    await clock.advance(WINDOW_SECONDS * 1000 + 1000);
    const refused = await post(conversion('shopper-3')).expect(400);
    expect(refused.body.error).toMatchObject({ code: 'no_exposure_in_window', param: 'occurredAt' });
    expect(refused.body.error.message).toBe(
      `occurredAt ${new Date(clock.nowMs()).toISOString()} is past the ${WINDOW_SECONDS} s attribution window of checkout_converted: ` +
        `the last exposure of userId "shopper-3" before it was at ${exposedAt.toISOString()} ` +
        "(report outcomes within the window of the user's request, or lengthen the metric's attributionWindowSeconds)",
    );
    // Still inside the window when it happened: accepted, however late it is reported.
    const inWindow = new Date(exposedAt.getTime() + WINDOW_SECONDS * 1000).toISOString();
    await post(conversion('shopper-3', { occurredAt: inWindow })).expect(202);
    await expose(app, 'shopper-3');
    await post(conversion('shopper-3')).expect(202);
  });

  it('stores only the events of a batch whose users were exposed, and names each refused one', async () => {
    const exposedAt = new Date(clock.nowMs());
    const first = await expose(app, 'batch-1');
    const second = await expose(app, 'batch-2');
    const storedBefore = await storedCount();
    const answer = await post({
      events: [
        conversion('batch-1'),
        conversion('batch-never'),
        conversion('batch-2', { occurredAt: new Date(exposedAt.getTime() - 1000).toISOString() }),
        { trackingEventName: 'checkout_converted', context: { targetingKey: 'batch-2' }, details: { value: 0 } },
        // Exposed before the clock moved past the window, in the test before.
        conversion('shopper-1'),
      ],
    }).expect(202);
    expect(answer.body).toMatchObject({ accepted: 2, refused: 3 });
    expect(answer.body.results.map((result: { status: number }) => result.status)).toEqual([202, 400, 400, 202, 400]);
    expect(answer.body.results.filter((result: { status: number }) => result.status === 400)).toEqual([
      {
        index: 1,
        status: 400,
        error: expect.objectContaining({ code: 'no_exposure_in_window', param: 'events[1].userId' }),
      },
      {
        index: 2,
        status: 400,
        error: expect.objectContaining({ code: 'occurred_before_exposure', param: 'events[2].occurredAt' }),
      },
      {
        index: 4,
        status: 400,
        error: expect.objectContaining({ code: 'no_exposure_in_window', param: 'events[4].occurredAt' }),
      },
    ]);
    const ids = answer.body.results.flatMap((result: { id?: string }) => (result.id ? [result.id] : []));
    const keys = [
      await userKeyOf(first['x-switchyard-request-id']),
      await userKeyOf(second['x-switchyard-request-id']),
    ];
    expect(await storedUserKeys(ids)).toEqual([...keys].sort());
    expect(await storedCount()).toBe(storedBefore + 2);
  });

  describe('an idempotency key reused with other content', () => {
    /** The stored values of these events, once the writer has written what it holds. */
    async function storedValues(id: string): Promise<number[]> {
      await app.app.get(OutcomeWriter, { strict: false }).flush();
      const rows = await queryRows<{ value: number }>(database.url, 'SELECT value FROM outcome_events WHERE id = $1', [
        id,
      ]);
      return rows.map((row) => row.value);
    }
    /** Accepted events /metrics counts as dropped for a key already stored with other content. */
    async function conflictsCounted(): Promise<number> {
      const text = (await api(app).get('/metrics').expect(200)).text;
      const found = /^switchyard_outcome_events_dropped_total\{reason="idempotency_conflict"\} (\d+)$/m.exec(text);
      if (!found)
        throw new Error('switchyard_outcome_events_dropped_total{reason="idempotency_conflict"} not on /metrics');
      return Number(found[1]);
    }

    it('keeps the first value and counts the second as dropped (idempotency_conflict)', async () => {
      await expose(app, 'reuser-1');
      const before = await conflictsCounted();
      const first = await post(conversion('reuser-1', { value: true, idempotencyKey: 'order-500' })).expect(202);
      expect(await storedValues(first.body.id)).toEqual([1]);
      // A 202 all the same: ingestion does not read the table; the writer finds the conflict.
      const second = await post(conversion('reuser-1', { value: false, idempotencyKey: 'order-500' })).expect(202);
      expect(second.body.id).toBe(first.body.id);
      expect(await storedValues(first.body.id)).toEqual([1]);
      expect(await conflictsCounted()).toBe(before + 1);
    });

    it('counts a retry with the same content as no conflict, though its occurredAt is a later now', async () => {
      await expose(app, 'reuser-2');
      const before = await conflictsCounted();
      const event = conversion('reuser-2', { value: true, idempotencyKey: 'order-501' });
      const first = await post(event).expect(202);
      expect(await storedValues(first.body.id)).toEqual([1]);
      await clock.advance(1000);
      const again = await post({ events: [event, event] }).expect(202);
      expect(again.body.results.map((result: { id: string }) => result.id)).toEqual([first.body.id, first.body.id]);
      expect(await storedValues(first.body.id)).toEqual([1]);
      expect(await conflictsCounted()).toBe(before);
    });

    it('counts each event of one batch that reuses a key with another value or user', async () => {
      await expose(app, 'reuser-3');
      await expose(app, 'reuser-4');
      const before = await conflictsCounted();
      const answer = await post({
        events: [
          conversion('reuser-3', { value: true, idempotencyKey: 'order-502' }),
          conversion('reuser-3', { value: true, idempotencyKey: 'order-502' }),
          conversion('reuser-3', { value: false, idempotencyKey: 'order-502' }),
          conversion('reuser-4', { value: true, idempotencyKey: 'order-502' }),
        ],
      }).expect(202);
      expect(answer.body).toMatchObject({ accepted: 4, refused: 0 });
      const [id] = answer.body.results.map((result: { id: string }) => result.id);
      expect(await storedValues(id)).toEqual([1]);
      expect(await storedUserKeys([id])).toHaveLength(1);
      expect(await conflictsCounted()).toBe(before + 2);
    });
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

  /** How many of `ids` are in outcome_events, once all of them are. */
  const allStored = (ids: string[]) =>
    eventually(
      async () => {
        const [{ n }] = await queryRows<{ n: number }>(
          url,
          'SELECT count(*)::int AS n FROM outcome_events WHERE id = ANY($1)',
          [ids],
        );
        return n === ids.length ? n : undefined;
      },
      20_000,
      `all ${ids.length} events written`,
    );

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
      expect(await allStored(ids)).toBe(500);
    } finally {
      await app.close();
    }
  }, 90_000);

  it('keeps the events it could not write on disk when it stops with Postgres down, and the next start writes them', async () => {
    const env = { ...FAST, SHUTDOWN_TIMEOUT_MS: '4000', SWITCHYARD_DATA_DIR: await mkdtemp(join(tmpdir(), 'sy-')) };
    const spoolDir = join(env.SWITCHYARD_DATA_DIR, 'spool');
    const spooled = () =>
      existsSync(spoolDir)
        ? readdirSync(spoolDir)
            .filter((name) => name.startsWith('outcomes-'))
            .flatMap((name) => readFileSync(join(spoolDir, name), 'utf8').split('\n').slice(1).filter(Boolean))
        : [];
    const first = await startTestApp({ databaseUrl: url, env });
    let ids: string[];
    try {
      await ensureMetrics(first);
      await server.stop();
      const events = Array.from({ length: 50 }, (_, j) => ({
        metric: 'checkout_converted',
        value: true,
        userId: `kept-${j}`,
        idempotencyKey: `kept-${j}`,
      }));
      const answer = await api(first).post('/v1/outcomes').send({ events }).expect(202);
      ids = answer.body.results.map((result: { id: string }) => result.id);
      expect(ids.every((id) => typeof id === 'string')).toBe(true);
      // A metric this replica has not read (defined on another one since) cannot be checked: not "unknown", but retry.
      const unchecked = await api(first)
        .post('/v1/outcomes')
        .send({ metric: 'defined_elsewhere', value: true, userId: 'kept-0' })
        .expect(503);
      expect(unchecked.headers['retry-after']).toBe('5');
      expect(unchecked.body.error).toMatchObject({
        code: 'database_unavailable',
        message: expect.stringContaining('"defined_elsewhere" is not among the definitions this replica has read'),
      });
    } finally {
      // Postgres is still down: the shutdown counts the 50 as dropped, and leaves them in the spool.
      await first.close();
    }
    expect(spooled()).toHaveLength(50);
    await server.start();
    const second = await startTestApp({ databaseUrl: url, env });
    try {
      expect(await allStored(ids)).toBe(50);
      // The file goes once its last batch is written.
      await eventually(() => spooled().length === 0, 10_000, 'the spool file removed');
    } finally {
      await second.close();
    }
  }, 90_000);
});
