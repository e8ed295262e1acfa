import { createHmac, timingSafeEqual } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import type { NewAlert } from '../src/alerts/alert.types';
import { AlertsService } from '../src/alerts/alerts.service';
import { ManualClock } from '../src/common/manual-clock';
import { createTestDatabase, queryRows } from './support/test-database';
import { StdoutCapture } from './support/stdout-capture';
import { api as authorized, startTestApp, type TestApp } from './support/test-app';
import { eventually, WebhookServer, type ReceivedWebhook } from './support/webhook-server';

const SECRET = 'whsec-test-0123456789abcdef';
// The path of a Slack-style hook is its credential: it must never show up in an API response.
const HOOK_PATH = '/services/T0001/B0002/hook-path-token-7f3a';

/** Small timings so retries and ticks take milliseconds; the attempt limit leaves room for a short outage. */
const FAST = {
  ALERT_SEND_INTERVAL_MS: '25',
  ALERT_RETRY_BASE_MS: '20',
  ALERT_RETRY_MAX_MS: '200',
  ALERT_MAX_ATTEMPTS: '8',
  ALERT_WEBHOOK_TIMEOUT_MS: '2000',
};

type Database = Awaited<ReturnType<typeof createTestDatabase>>;

interface AlertRow {
  id: string;
  type: string;
  severity: string;
  status: string;
  attempts: number;
  last_error: string | null;
  delivered_at: Date | null;
  evidence: Record<string, unknown>;
}

interface DeliveryRow {
  attempt: number;
  http_status: number | null;
  error: string | null;
  target_origin: string;
  duration_ms: number;
}

let sequence = 0;
function alert(extra: Partial<NewAlert> = {}): NewAlert {
  sequence++;
  return {
    type: 'canary.rolled_back',
    dedupKey: `test:${Date.now()}:${sequence}`,
    message: `Treatment error rate 4.1% exceeded 2% (#${sequence})`,
    flag: 'recommendations-model',
    canaryId: '7c1d2e3f-0000-4000-8000-000000000001',
    stage: 2,
    evidence: { treatment: { requests: 612, errorRate: 0.041 }, threshold: 0.02 },
    ...extra,
  };
}

const alertRow = async (db: Database, id: string) =>
  (await queryRows<AlertRow>(db.url, 'SELECT * FROM alerts WHERE id = $1', [id]))[0];
const deliveryRows = (db: Database, id: string) =>
  queryRows<DeliveryRow>(db.url, 'SELECT * FROM alert_deliveries WHERE alert_id = $1 ORDER BY attempt, id', [id]);
const waitForStatus = (db: Database, id: string, status: string, timeoutMs = 5000) =>
  eventually(
    async () => {
      const row = await alertRow(db, id);
      return row?.status === status ? row : undefined;
    },
    timeoutMs,
    `alert ${id} to be ${status}`,
  );

async function raise(app: TestApp, input: NewAlert): Promise<string> {
  const result = await app.app.get(AlertsService).raise(input);
  if (!result.created) throw new Error('expected a new alert');
  return result.id;
}

function validSignature(webhook: ReceivedWebhook, secret: string): boolean {
  const header = String(webhook.headers['x-switchyard-signature'] ?? '');
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(webhook.raw).digest('hex')}`);
  return header.length === expected.length && timingSafeEqual(Buffer.from(header), expected);
}

/** The retry cap of FAST: one step of this always makes a failed alert due again. */
const RETRY_STEP_MS = 200;

/**
 * Moves the clock one retry cap at a time — each step runs the sender's round to completion — until
 * the alert has `status`. Every attempt happens inside a step, so what is counted afterwards is final.
 */
async function sendUntil(clock: ManualClock, db: Database, id: string, status: string, maxSteps = 20) {
  for (let step = 0; step < maxSteps; step++) {
    await clock.advance(RETRY_STEP_MS);
    const row = await alertRow(db, id);
    if (row?.status === status) return row;
  }
  throw new Error(`alert ${id} is ${(await alertRow(db, id))?.status} after ${maxSteps} sender rounds, not ${status}`);
}

describe('alerts: outbox delivered to a signed JSON webhook, with dedup, retries and the API', () => {
  let database: Database;
  let app: TestApp;
  const webhook = new WebhookServer();
  const clock = new ManualClock();
  const sendUntilStatus = (id: string, status: string) => sendUntil(clock, database, id, status);
  /** A few more rounds with time moving on: whatever they would send again, they have sent when this returns. */
  const moreRounds = async () => {
    for (let round = 0; round < 3; round++) await clock.advance(1_000);
  };
  /** Every API response body of this block, checked for secrets at the end. */
  const responses: string[] = [];
  const api = async (path: string, status = 200) => {
    const response = await authorized(app).get(path).expect(status);
    responses.push(response.text);
    return response.body;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    await webhook.start();
    app = await startTestApp({
      databaseUrl: database.url,
      clock,
      env: {
        ...FAST,
        ALERT_WEBHOOK_URL: webhook.url(HOOK_PATH),
        ALERT_WEBHOOK_SECRET: SECRET,
        ALERT_WEBHOOK_TIMEOUT_MS: '1000',
      },
    });
  });
  afterAll(async () => {
    await app?.close();
    await webhook.stop();
    await database?.drop();
  });
  beforeEach(() => {
    webhook.reply = () => 200;
  });

  it('posts a raised alert once, signed over the exact body, and records one successful delivery', async () => {
    const input = alert();
    const id = await raise(app, input);
    const row = await sendUntilStatus(id, 'delivered');
    await moreRounds();
    const received = webhook.forAlert(id);
    expect(received).toHaveLength(1);
    const [post] = received;
    expect(post.path).toBe(HOOK_PATH);
    expect(post.headers['content-type']).toBe('application/json');
    expect(post.headers['x-switchyard-alert-type']).toBe('canary.rolled_back');
    expect(validSignature(post, SECRET)).toBe(true);
    expect(validSignature(post, 'some-other-secret-value')).toBe(false);
    expect(post.json).toEqual({
      id,
      type: 'canary.rolled_back',
      severity: 'critical',
      flag: 'recommendations-model',
      canary: input.canaryId,
      stage: 2,
      message: input.message,
      evidence: input.evidence,
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(row).toMatchObject({ attempts: 1, last_error: null });
    expect(row.delivered_at).toBeInstanceOf(Date);
    const deliveries = await deliveryRows(database, id);
    expect(deliveries).toEqual([
      { ...deliveries[0], attempt: 1, http_status: 200, error: null, target_origin: new URL(webhook.url()).origin },
    ]);
  });

  it('stores and sends an event raised twice (same dedup key) once', async () => {
    const input = alert();
    const first = await app.app.get(AlertsService).raise(input);
    const second = await app.app
      .get(AlertsService)
      .raise({ ...input, message: 'the same event, seen by another replica' });
    expect(first.created).toBe(true);
    expect(second).toEqual({ created: false });
    const rows = await queryRows(database.url, 'SELECT id FROM alerts WHERE dedup_key = $1', [input.dedupKey]);
    expect(rows).toHaveLength(1);
    const id = (first as { id: string }).id;
    await sendUntilStatus(id, 'delivered');
    await moreRounds();
    expect(webhook.forAlert(id)).toHaveLength(1);
  });

  it('commits an alert with the transaction it was raised in, and not at all when that transaction rolls back', async () => {
    const alerts = app.app.get(AlertsService);
    const dataSource = app.app.get(DataSource);
    const rolledBack = alert();
    await expect(
      dataSource.transaction(async (manager) => {
        await alerts.raise(rolledBack, manager);
        throw new Error('the state change failed');
      }),
    ).rejects.toThrow('the state change failed');
    const committed = alert();
    const result = await dataSource.transaction((manager) => alerts.raise(committed, manager));
    expect(result.created).toBe(true);
    await sendUntilStatus((result as { id: string }).id, 'delivered');
    expect(
      await queryRows(database.url, 'SELECT 1 FROM alerts WHERE dedup_key = $1', [rolledBack.dedupKey]),
    ).toHaveLength(0);
  });

  it('retries a webhook answering 503 with backoff and delivers once it answers 200, every attempt recorded', async () => {
    let failures = 0;
    webhook.reply = () => (failures++ < 2 ? 503 : 200);
    const id = await raise(app, alert());
    const row = await sendUntilStatus(id, 'delivered');
    await moreRounds();
    expect(webhook.forAlert(id)).toHaveLength(3);
    expect(row.attempts).toBe(3);
    const deliveries = await deliveryRows(database, id);
    expect(deliveries.map((d) => [d.attempt, d.http_status])).toEqual([
      [1, 503],
      [2, 503],
      [3, 200],
    ]);
    expect(deliveries[0].error).toBe(`${new URL(webhook.url()).origin} answered 503: status 503`);
    expect(deliveries[2].error).toBeNull();
  });

  it('keeps an alert while the webhook is down (connection refused) and delivers it exactly once when it is back', async () => {
    await webhook.stop();
    const id = await raise(app, alert());
    await clock.advance(RETRY_STEP_MS);
    await clock.advance(RETRY_STEP_MS);
    expect(await deliveryRows(database, id)).toHaveLength(2);
    expect((await alertRow(database, id)).status).toBe('pending');
    await webhook.start();
    const row = await sendUntilStatus(id, 'delivered');
    await moreRounds();
    expect(webhook.forAlert(id)).toHaveLength(1);
    const deliveries = await deliveryRows(database, id);
    expect(deliveries.length).toBe(row.attempts);
    const failed = deliveries.slice(0, -1);
    expect(failed.length).toBeGreaterThanOrEqual(2);
    for (const attempt of failed) {
      expect(attempt).toMatchObject({
        http_status: null,
        error: `could not reach ${new URL(webhook.url()).origin} (ECONNREFUSED)`,
      });
    }
    expect(deliveries.at(-1)).toMatchObject({ http_status: 200, error: null });
  });

  it('cuts a webhook that does not answer within ALERT_WEBHOOK_TIMEOUT_MS and retries it', async () => {
    const id = await raise(app, alert());
    let calls = 0;
    webhook.reply = (post) =>
      post.headers['x-switchyard-alert-id'] === id && calls++ === 0 ? { status: 200, delayMs: 3000 } : 200;
    await sendUntilStatus(id, 'delivered');
    const deliveries = await deliveryRows(database, id);
    expect(deliveries.map((d) => [d.attempt, d.http_status, d.error])).toEqual([
      [1, null, `${new URL(webhook.url()).origin} did not answer within 1000 ms`],
      [2, 200, null],
    ]);
    expect(deliveries[0].duration_ms).toBeGreaterThanOrEqual(990);
    expect(deliveries[0].duration_ms).toBeLessThan(2500);
  });

  it('gives up after ALERT_MAX_ATTEMPTS and marks the alert failed', async () => {
    const id = await raise(app, alert());
    webhook.reply = (post) => (post.headers['x-switchyard-alert-id'] === id ? 500 : 200);
    const row = await sendUntilStatus(id, 'failed');
    await moreRounds();
    expect(webhook.forAlert(id)).toHaveLength(8);
    expect(row.attempts).toBe(8);
    expect(row.last_error).toContain('answered 500');
    expect(row.last_error).toContain('(attempt 8 of 8)');
    const deliveries = await deliveryRows(database, id);
    expect(deliveries.map((d) => d.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(deliveries.every((d) => d.http_status === 500)).toBe(true);
  });

  it("sends an alert with its own target (a canary's webhook) there instead of ALERT_WEBHOOK_URL", async () => {
    const id = await raise(app, alert({ targetUrl: webhook.url('/canary-hook/another-token-91c2') }));
    await sendUntilStatus(id, 'delivered');
    const [post] = webhook.forAlert(id);
    expect(post.path).toBe('/canary-hook/another-token-91c2');
    expect(validSignature(post, SECRET)).toBe(true);
    const shown = await api(`/api/alerts/${id}`);
    expect(shown.webhook).toEqual({ origin: new URL(webhook.url()).origin, source: 'alert' });
  });

  it('lists alerts newest first with filters and pagination, and shows one with its attempts', async () => {
    const flag = 'paging-flag';
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        await raise(app, alert({ flag, type: i % 2 === 0 ? 'canary.stage_advanced' : 'canary.held', stage: i })),
      );
    }
    for (const id of ids) await sendUntilStatus(id, 'delivered');

    const all = await api(`/api/alerts?flag=${flag}`);
    expect(all.items.map((item: { id: string }) => item.id)).toEqual([...ids].reverse());
    expect(all.nextBefore).toBeNull();
    expect(all.items[0]).toEqual({
      id: ids[4],
      type: 'canary.stage_advanced',
      severity: 'info',
      status: 'delivered',
      dedupKey: expect.any(String),
      flag,
      canary: '7c1d2e3f-0000-4000-8000-000000000001',
      stage: 4,
      message: expect.any(String),
      evidence: { treatment: { requests: 612, errorRate: 0.041 }, threshold: 0.02 },
      webhook: { origin: new URL(webhook.url()).origin, source: 'config' },
      attempts: 1,
      nextAttemptAt: null,
      lastError: null,
      deliveredAt: expect.any(String),
      createdAt: expect.any(String),
    });

    const page1 = await api(`/api/alerts?flag=${flag}&limit=2`);
    expect(page1.items.map((item: { id: string }) => item.id)).toEqual([ids[4], ids[3]]);
    const page2 = await api(`/api/alerts?flag=${flag}&limit=2&before=${page1.nextBefore}`);
    expect(page2.items.map((item: { id: string }) => item.id)).toEqual([ids[2], ids[1]]);
    const page3 = await api(`/api/alerts?flag=${flag}&limit=2&before=${page2.nextBefore}`);
    expect(page3.items.map((item: { id: string }) => item.id)).toEqual([ids[0]]);
    expect(page3.nextBefore).toBeNull();
    // A page that ends exactly at the last alert says so, rather than point at an empty page.
    const lastTwo = await api(`/api/alerts?flag=${flag}&limit=2&before=${ids[2]}`);
    expect([lastTwo.items.map((item: { id: string }) => item.id), lastTwo.nextBefore]).toEqual([
      [ids[1], ids[0]],
      null,
    ]);

    const held = await api(`/api/alerts?flag=${flag}&type=canary.held`);
    expect(held.items.map((item: { id: string }) => item.id)).toEqual([ids[3], ids[1]]);
    const failed = await api('/api/alerts?status=failed');
    expect(failed.items.length).toBeGreaterThanOrEqual(1);
    expect(failed.items.every((item: { status: string }) => item.status === 'failed')).toBe(true);
    expect((await api(`/api/alerts?flag=${flag}&status=pending`)).items).toEqual([]);

    const one = await api(`/api/alerts/${ids[0]}`);
    expect(one).toMatchObject({ id: ids[0], status: 'delivered', stage: 0 });
    expect(one.deliveries).toEqual([
      {
        attempt: 1,
        attemptedAt: expect.any(String),
        targetOrigin: new URL(webhook.url()).origin,
        httpStatus: 200,
        error: null,
        durationMs: expect.any(Number),
      },
    ]);
  });

  it.each([
    ['status=lost', 'status must be one of: pending, delivered, failed, no_target'],
    ['type=canary.exploded', 'type must be one of:'],
    ['flag=Not_A_Flag', 'flag must be a flag key'],
    ['limit=0', 'limit must be an integer between 1 and 200'],
    ['limit=201', 'limit must be an integer between 1 and 200'],
    ['limit=ten', 'limit must be an integer between 1 and 200'],
    ['before=42', 'before must be an alert id (a UUID)'],
    ['before=00000000-0000-4000-8000-000000000000', 'before: no alert has id 00000000-0000-4000-8000-000000000000'],
    ['colour=red', 'colour is not a field of this request; remove it'],
  ])('answers GET /api/alerts?%s with 400 naming the field', async (query, message) => {
    const body = await api(`/api/alerts?${query}`, 400);
    expect(body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(body.message).toContain(message);
  });

  it('answers a malformed alert id with 400 and an unknown one with 404', async () => {
    expect((await api('/api/alerts/not-a-uuid', 400)).message).toBe('id must be an alert id (a UUID)');
    expect((await api('/api/alerts/00000000-0000-4000-8000-000000000000', 404)).message).toBe(
      'alert 00000000-0000-4000-8000-000000000000 does not exist',
    );
  });

  it('never returns the webhook secret or the webhook URL path', async () => {
    await api('/api/alerts?limit=200');
    await api('/docs-json');
    const everything = responses.join('\n');
    expect(responses.length).toBeGreaterThan(10);
    for (const secret of [SECRET, HOOK_PATH, 'hook-path-token-7f3a', 'another-token-91c2', webhook.url(HOOK_PATH)]) {
      expect(everything).not.toContain(secret);
    }
  });
});

describe('alerts: two replicas on one database', () => {
  let database: Database;
  const webhook = new WebhookServer();

  beforeAll(async () => {
    database = await createTestDatabase();
    await webhook.start();
  });
  afterAll(async () => {
    await webhook.stop();
    await database?.drop();
  });

  it('send every alert exactly once', async () => {
    // Real timers on both: the point is two senders claiming side by side, at moments of their own.
    const env = {
      ...FAST,
      ALERT_SEND_INTERVAL_MS: '10',
      ALERT_WEBHOOK_URL: webhook.url(HOOK_PATH),
      ALERT_WEBHOOK_SECRET: SECRET,
    };
    const replicas = [
      await startTestApp({ databaseUrl: database.url, env }),
      await startTestApp({ databaseUrl: database.url, env }),
    ];
    // Slow answers keep claims in flight while the other replica ticks (well inside the 2 s webhook
    // timeout even on a busy machine: a timed-out post is retried, and then sent twice).
    webhook.reply = () => ({ status: 200, delayMs: 30 });
    const alerts = replicas.map((instance) => instance.app.get(AlertsService));
    const ids = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const result = await alerts[i % 2].raise(alert({ flag: 'replica-flag' }));
        return (result as { id: string }).id;
      }),
    );
    try {
      await eventually(
        async () => {
          const [{ count }] = await queryRows<{ count: string }>(
            database.url,
            "SELECT count(*) FROM alerts WHERE flag_key = 'replica-flag' AND status = 'delivered'",
          );
          return Number(count) === ids.length;
        },
        20_000,
        'every alert delivered',
      );
    } finally {
      // Closing waits for each sender's round under way: every post either replica made is in by now.
      for (const replica of replicas) await replica.close();
    }
    for (const id of ids) expect(webhook.forAlert(id)).toHaveLength(1);
    const [{ count }] = await queryRows<{ count: string }>(
      database.url,
      'SELECT count(*) FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id WHERE a.flag_key = $1',
      ['replica-flag'],
    );
    expect(Number(count)).toBe(60);
  });
});

describe('alerts: no webhook configured', () => {
  let database: Database;
  let app: TestApp;
  const webhook = new WebhookServer();

  beforeAll(async () => {
    database = await createTestDatabase();
    await webhook.start();
    app = await startTestApp({
      databaseUrl: database.url,
      env: { ...FAST, ALERT_WEBHOOK_URL: undefined, ALERT_WEBHOOK_SECRET: undefined },
    });
  });
  afterAll(async () => {
    await app?.close();
    await webhook.stop();
    await database?.drop();
  });

  it('marks an alert with no target no_target, sends nothing and lists it', async () => {
    const id = await raise(app, alert({ type: 'flag.guardrail_tripped', canaryId: null, stage: null }));
    const row = await waitForStatus(database, id, 'no_target');
    expect(row).toMatchObject({ attempts: 0, severity: 'critical' });
    expect(await deliveryRows(database, id)).toEqual([]);
    const listed = await authorized(app).get('/api/alerts?status=no_target').expect(200);
    expect(listed.body.items).toEqual([
      expect.objectContaining({
        id,
        status: 'no_target',
        webhook: null,
        lastError: expect.stringContaining('ALERT_WEBHOOK_URL'),
      }),
    ]);
  });

  it('still sends an alert that names its own target, unsigned when no secret is set', async () => {
    const id = await raise(app, alert({ targetUrl: webhook.url('/canary') }));
    await waitForStatus(database, id, 'delivered');
    const [post] = webhook.forAlert(id);
    expect(post.headers['x-switchyard-signature']).toBeUndefined();
    expect(post.json).toMatchObject({ id, type: 'canary.rolled_back' });
  });
});

describe('alerts: Slack-compatible body', () => {
  let database: Database;
  let app: TestApp;
  const webhook = new WebhookServer();

  beforeAll(async () => {
    database = await createTestDatabase();
    await webhook.start();
    app = await startTestApp({
      databaseUrl: database.url,
      env: {
        ...FAST,
        ALERT_WEBHOOK_URL: webhook.url(HOOK_PATH),
        ALERT_WEBHOOK_SECRET: SECRET,
        ALERT_WEBHOOK_FORMAT: 'slack',
      },
    });
  });
  afterAll(async () => {
    await app?.close();
    await webhook.stop();
    await database?.drop();
  });

  it('posts { text, blocks } summarising the alert, signed like the JSON body', async () => {
    const id = await raise(app, alert({ message: 'Rolled back: error rate 4.1% > 2%' }));
    await waitForStatus(database, id, 'delivered');
    const [post] = webhook.forAlert(id);
    expect(validSignature(post, SECRET)).toBe(true);
    const body = post.json as { text: string; blocks: Array<{ type: string }> };
    expect(Object.keys(body).sort()).toEqual(['blocks', 'text']);
    expect(body.text).toBe(
      ':rotating_light: [critical] canary.rolled_back (flag recommendations-model, canary 7c1d2e3f-0000-4000-8000-000000000001, stage 2): ' +
        'Rolled back: error rate 4.1% &gt; 2%',
    );
    expect(body.blocks.map((block) => block.type)).toEqual(['section', 'section', 'section', 'context']);
    expect(JSON.stringify(body.blocks)).toContain(id);
  });
});

describe('alerts: a model circuit opening raises provider.circuit_opened', () => {
  let database: Database;
  let app: TestApp;
  let closed = false;
  const webhook = new WebhookServer();

  beforeAll(async () => {
    database = await createTestDatabase();
    await webhook.start();
    app = await startTestApp({
      databaseUrl: database.url,
      env: {
        ...FAST,
        ALERT_WEBHOOK_URL: webhook.url(HOOK_PATH),
        ALERT_WEBHOOK_SECRET: SECRET,
        GATEWAY_MAX_RETRIES: '0',
        GATEWAY_BREAKER_MIN_REQUESTS: '4',
        GATEWAY_BREAKER_FAILURE_RATIO: '0.5',
        GATEWAY_BREAKER_COOLDOWN_MS: '60000',
      },
    });
  });
  afterAll(async () => {
    if (!closed) await app?.close();
    await webhook.stop();
    await database?.drop();
  });

  it('stores one warning alert for the opening, with the failure numbers, and delivers it', async () => {
    await request(app.simulatorUrl).post('/_simulator/faults/gpt-4.1').send({ status: 503, count: 4 }).expect(200);
    for (let i = 0; i < 4; i++) {
      await authorized(app)
        .post('/v1/chat/completions')
        .send({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hello' }] })
        .expect(502);
    }
    // Open now: the next request is refused without an upstream call, and raises nothing new.
    const refused = await authorized(app)
      .post('/v1/chat/completions')
      .send({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hello' }] });
    expect(refused.status).toBe(502);

    const [row] = await eventually(
      async () => {
        const rows = await queryRows<AlertRow & { dedup_key: string; message: string }>(
          database.url,
          "SELECT * FROM alerts WHERE type = 'provider.circuit_opened'",
        );
        return rows.length > 0 && rows;
      },
      5000,
      'a provider.circuit_opened alert',
    );
    expect(row).toMatchObject({
      severity: 'warning',
      dedup_key: expect.stringMatching(/^provider\.circuit_opened:gpt-4\.1:\d+$/),
    });
    expect(row.message).toBe(
      'The circuit of model gpt-4.1 (provider simulated) opened: 4 of the last 4 calls failed, at or over its ' +
        'failure ratio of 0.5 (GATEWAY_BREAKER_FAILURE_RATIO); requests skip it for 60000 ms, then one probe is let through.',
    );
    expect(row.evidence).toMatchObject({
      model: 'gpt-4.1',
      provider: 'simulated',
      reason: 'failure_ratio',
      failures: 4,
      requests: 4,
      failureRate: 1,
      breaker: { failureRatio: 0.5, minimumRequests: 4, coolDownMs: 60000 },
    });
    const delivered = await waitForStatus(database, row.id, 'delivered');
    expect(delivered.attempts).toBe(1);
    const [post] = webhook.forAlert(row.id);
    expect(validSignature(post, SECRET)).toBe(true);
    expect(post.json).toMatchObject({
      type: 'provider.circuit_opened',
      severity: 'warning',
      flag: null,
      canary: null,
      stage: null,
    });
    // Closed, so every alert this app would raise is raised: still the one.
    await app.close();
    closed = true;
    expect(await queryRows(database.url, "SELECT 1 FROM alerts WHERE type = 'provider.circuit_opened'")).toHaveLength(
      1,
    );
  });
});

describe('alerts: a circuit opened by failures in a row says so', () => {
  let database: Database;
  let app: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({
      databaseUrl: database.url,
      env: {
        ...FAST,
        GATEWAY_MAX_RETRIES: '0',
        // The window alone would never open it: only the rule of failures in a row can.
        GATEWAY_BREAKER_MIN_REQUESTS: '100',
        GATEWAY_BREAKER_CONSECUTIVE_FAILURES: '3',
        GATEWAY_BREAKER_COOLDOWN_MS: '60000',
      },
    });
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('names the rule of failures in a row, not a failure ratio, in the alert the API lists', async () => {
    const chat = () =>
      authorized(app)
        .post('/v1/chat/completions')
        .send({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hello' }] });
    // Healthy calls first: 3 failures after them are 3 of 5 in the window, a ratio that alone says little.
    for (let i = 0; i < 2; i++) await chat().expect(200);
    await request(app.simulatorUrl).post('/_simulator/faults/gpt-4.1').send({ status: 503, count: 3 }).expect(200);
    for (let i = 0; i < 3; i++) await chat().expect(502);

    const [listed] = await eventually(async () => {
      const { items } = (
        await authorized(app).get('/api/alerts').query({ type: 'provider.circuit_opened' }).expect(200)
      ).body as { items: Array<{ message: string; evidence: Record<string, unknown> }> };
      return items.length > 0 && items;
    });
    expect(listed.message).toBe(
      'The circuit of model gpt-4.1 (provider simulated) opened: 3 calls in a row failed ' +
        '(GATEWAY_BREAKER_CONSECUTIVE_FAILURES); requests skip it for 60000 ms, then one probe is let through.',
    );
    expect(listed.evidence).toMatchObject({
      reason: 'consecutive_failures',
      failures: 3,
      requests: 5,
      breaker: { consecutiveFailures: 3 },
    });
  });
});

describe('alerts: graceful shutdown', () => {
  let database: Database;
  const webhook = new WebhookServer();

  beforeAll(async () => {
    database = await createTestDatabase();
    await webhook.start();
  });
  afterAll(async () => {
    await webhook.stop();
    await database?.drop();
  });

  it('finishes and records the post under way, then claims nothing more', async () => {
    const app = await startTestApp({
      databaseUrl: database.url,
      env: { ...FAST, ALERT_WEBHOOK_URL: webhook.url('/slow') },
    });
    webhook.reply = () => ({ status: 200, delayMs: 400 });
    const inFlight = await raise(app, alert());
    await eventually(() => webhook.forAlert(inFlight).length === 1, 5000, 'the post to start');
    // Raised while the round is busy: the round does not come back for it, and after close nothing does.
    const later = await raise(app, alert());
    await app.close();
    expect(await alertRow(database, inFlight)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(await deliveryRows(database, inFlight)).toHaveLength(1);
    expect(await alertRow(database, later)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(webhook.forAlert(later)).toEqual([]);
  });
});

describe('alerts: configuration is validated at start-up', () => {
  let database: Database;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('names a bad ALERT_* variable without repeating its (possibly secret) value', async () => {
    const start = startTestApp({
      databaseUrl: database.url,
      env: {
        ALERT_WEBHOOK_URL: 'hooks.slack.com/services/T1/B2/secret-token-x',
        ALERT_WEBHOOK_FORMAT: 'xml',
        ALERT_MAX_ATTEMPTS: '0',
      },
    });
    await expect(start).rejects.toThrow('ALERT_WEBHOOK_URL: ALERT_WEBHOOK_URL must be an http(s) URL');
    await expect(start).rejects.toThrow('ALERT_WEBHOOK_FORMAT: ALERT_WEBHOOK_FORMAT must be one of: json, slack');
    await expect(start).rejects.toThrow('ALERT_MAX_ATTEMPTS: ALERT_MAX_ATTEMPTS must be an integer between 1 and 100');
    await expect(start).rejects.not.toThrow('secret-token-x');
    await expect(startTestApp({ databaseUrl: database.url, env: { ALERT_WEBHOOK_SECRET: 'short' } })).rejects.toThrow(
      'ALERT_WEBHOOK_SECRET must be at least 16 characters long',
    );
  });
});

/*
 * Logs are captured from process.stdout (StdoutCapture, installed before the app). Each app builds its own logger at its own LOG_LEVEL; Nest's `Logger`, a
 * process-wide static, writes to the logger of the app started last: here, this block's app.
 */
describe('alerts: logs name webhooks by origin only', () => {
  let database: Database;
  let app: TestApp;
  const webhook = new WebhookServer();
  let stdout: StdoutCapture;

  beforeAll(async () => {
    database = await createTestDatabase();
    await webhook.start();
    stdout = StdoutCapture.start();
    app = await startTestApp({
      databaseUrl: database.url,
      env: {
        ...FAST,
        LOG_LEVEL: 'debug',
        ALERT_WEBHOOK_URL: webhook.url(HOOK_PATH),
        ALERT_WEBHOOK_SECRET: SECRET,
        ALERT_MAX_ATTEMPTS: '2',
      },
    });
  });
  afterAll(async () => {
    await app?.close();
    stdout?.stop();
    await webhook.stop();
    await database?.drop();
  });

  it('logs deliveries, retries and failures without the secret or the URL path', async () => {
    let calls = 0;
    webhook.reply = () => (calls++ === 0 ? 503 : 200);
    const retried = await raise(app, alert());
    await waitForStatus(database, retried, 'delivered');
    const refused = await raise(app, alert({ targetUrl: 'http://user:pw-in-url@127.0.0.1:9/refused-path-token' }));
    await waitForStatus(database, refused, 'failed');

    const logs = stdout.text();
    expect(logs).toContain('alert delivery failed; will retry');
    expect(logs).toContain('alert delivered');
    expect(logs).toContain('alert delivery failed for good');
    expect(logs).toContain(new URL(webhook.url()).origin);
    for (const secret of [SECRET, HOOK_PATH, 'hook-path-token-7f3a', 'refused-path-token', 'pw-in-url'])
      expect(logs).not.toContain(secret);
  });
});

describe('alerts: a provider refusing every key raises provider.credentials_refused', () => {
  let database: Database;
  let app: TestApp;
  let closed = false;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ databaseUrl: database.url, env: { ...FAST, GATEWAY_MAX_RETRIES: '0' } });
  });
  afterAll(async () => {
    if (!closed) await app?.close();
    await database?.drop();
  });

  const revoke = (labels: string[]) =>
    request(app.simulatorUrl).put('/_simulator/keys').send({ revoked: labels }).expect(200);
  const complete = () =>
    authorized(app)
      .post('/v1/chat/completions')
      .send({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hello' }] });
  const refusalAlerts = () =>
    queryRows<{ severity: string; message: string; evidence: Record<string, unknown>; dedup_key: string }>(
      database.url,
      "SELECT severity, message, evidence, dedup_key FROM alerts WHERE type = 'provider.credentials_refused' ORDER BY created_at",
    );

  it('alerts once per outage of the keys, never with a key in it, and again after the keys worked in between', async () => {
    await revoke(['primary', 'backup']);
    for (let i = 0; i < 3; i++) expect((await complete()).body.error.code).toBe('upstream_auth_failed');
    const [alert] = await eventually(
      async () => {
        const rows = await refusalAlerts();
        return rows.length > 0 && rows;
      },
      5000,
      'a provider.credentials_refused alert',
    );
    expect(alert).toMatchObject({
      severity: 'critical',
      evidence: { provider: 'simulated', keys: ['primary', 'backup'] },
    });
    expect(alert.message).toBe(
      'Provider simulated refused every key the gateway has for it (401 with its primary and backup keys): ' +
        'its requests fail with 502 upstream_auth_failed until a key works; check the keys in the catalog ' +
        '(then POST /api/catalog/reload).',
    );
    expect(JSON.stringify(alert)).not.toContain('sk-');

    await revoke([]);
    expect((await complete()).status).toBe(200);
    await revoke(['primary', 'backup']);
    expect((await complete()).body.error.code).toBe('upstream_auth_failed');
    await eventually(async () => (await refusalAlerts()).length === 2, 5000, 'a second alert');
    // Closed, so every alert this app would raise is raised: still the two.
    await app.close();
    closed = true;
    expect(await refusalAlerts()).toHaveLength(2);
  });
});
