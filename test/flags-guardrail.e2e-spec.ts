import request from 'supertest';
import { ALERT_SENDER_JOB } from '../src/alerts/alert-send.scheduler';
import { ManualClock } from '../src/common/manual-clock';
import { api, startTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';
import { MetricRows, Traffic } from './support/traffic';
import { eventually, WebhookServer } from './support/webhook-server';

/*
 * The guardrail is the flags module's own job, run by the app's clock: the test moves a ManualClock
 * one period and awaits the run, then looks at what it did. Rows are waited for, never time.
 */

const TICK_MS = 1000;
const MIN_REQUESTS = 20;

describe('guardrail: a hand-set variant that fails goes back to 0 without any canary', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let webhook: WebhookServer;
  let gateway: TestApp;
  let rows: MetricRows;
  const clock = new ManualClock();

  beforeAll(async () => {
    database = await createTestDatabase();
    webhook = await new WebhookServer().start();
    gateway = await startTestApp({
      databaseUrl: database.url,
      clock,
      env: {
        CANARY_TICK_SECONDS: String(TICK_MS / 1000),
        METRICS_FLUSH_INTERVAL_MS: '20',
        ALERT_SEND_INTERVAL_MS: '100',
        ALERT_WEBHOOK_URL: webhook.url('/alerts'),
        GATEWAY_MAX_RETRIES: '0',
        GATEWAY_BREAKER_MIN_REQUESTS: '100000',
        GUARDRAIL_MIN_REQUESTS: String(MIN_REQUESTS),
      },
    });
    rows = await MetricRows.open(database.url);
  });
  afterAll(async () => {
    await rows?.close();
    await gateway?.close();
    await webhook?.stop();
    await database?.drop();
  });

  const flag = async (key: string) => (await api(gateway).get(`/api/flags/${key}`).expect(200)).body;
  const history = async (key: string) =>
    (await api(gateway).get(`/api/flags/${key}/history`).query({ limit: 100 }).expect(200)).body.items;
  const failing = (model: string, errorRate: number) =>
    request(gateway.simulatorUrl).put(`/_simulator/profiles/${model}`).send({ errorRate }).expect(200);

  /** Sends chat traffic until the treatment has MIN_REQUESTS failed rows since `from`, all stored. */
  async function failuresStored(key: string, from: string) {
    const traffic = new Traffic(gateway, 'chat');
    try {
      await rows.waitFor(key, from, { treatment: (arm) => arm.failures >= MIN_REQUESTS });
    } finally {
      await traffic.stop();
    }
  }

  it('zeroes the variant weight (history source guardrail) and alerts, on its next run', async () => {
    const created = await api(gateway)
      .post('/api/flags')
      .send({
        key: 'chat-model',
        variants: { control: 'gemini-2.5-flash', treatment: 'deepseek-v3.2' },
        defaultVariant: 'control',
        rollout: { treatment: 50 },
      })
      .expect(201);
    await failing('deepseek-v3.2', 1);
    try {
      await failuresStored('chat-model', created.body.updatedAt);
    } finally {
      await failing('deepseek-v3.2', 0);
    }
    await clock.advance(TICK_MS);

    expect((await flag('chat-model')).rollout).toEqual({ treatment: 0 });
    const [last] = await history('chat-model');
    expect(last).toMatchObject({ source: 'guardrail', actor: 'guardrail', action: 'rollout' });
    expect(last.reason).toMatch(/variant treatment failed \d{1,3}(,\d{3})* of \d{1,3}(,\d{3})* requests/);
    const alert = await eventually(async () => {
      await clock.run(ALERT_SENDER_JOB);
      return webhook.received.find((hook) => (hook.json as { type: string }).type === 'flag.guardrail_tripped');
    }, 10_000);
    expect(alert.json).toMatchObject({
      flag: 'chat-model',
      evidence: { variant: 'treatment', previousPercentage: 50 },
    });
    const stored = await queryRows<{ count: number }>(
      database.url,
      `SELECT count(*)::int AS count FROM alerts WHERE type = 'flag.guardrail_tripped'`,
    );
    expect(stored[0].count).toBe(1);
  }, 60_000);

  it('keeps off a flag an active canary watches, and takes it over once the canary ends', async () => {
    const current = await flag('chat-model');
    // A canary created but not started: it holds the flag without judging it.
    const canary = await api(gateway)
      .post('/api/canaries')
      .send({ flagKey: 'chat-model', variant: 'treatment', start: false })
      .expect(201);
    const raised = await api(gateway)
      .put('/api/flags/chat-model/rollout')
      .send({ version: current.version, rollout: { treatment: 50 } })
      .expect(200);
    await failing('deepseek-v3.2', 1);
    try {
      await failuresStored('chat-model', raised.body.updatedAt);
    } finally {
      await failing('deepseek-v3.2', 0);
    }
    const historyBefore = await history('chat-model');

    await clock.advance(TICK_MS);
    expect((await flag('chat-model')).rollout).toEqual({ treatment: 50 });
    expect(await history('chat-model')).toEqual(historyBefore);

    await api(gateway).post(`/api/canaries/${canary.body.id}/abort`).expect(200);
    await clock.advance(TICK_MS);
    expect((await flag('chat-model')).rollout).toEqual({ treatment: 0 });
    expect((await history('chat-model'))[0]).toMatchObject({ source: 'guardrail' });
  }, 60_000);
});
