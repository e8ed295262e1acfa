import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { MetricsQueryService } from '../src/metrics/metrics-query.service';
import { StdoutCapture } from './support/stdout-capture';
import { api, startTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';

const PRIMARY_KEY = 'sk-validation-primary-8c1f2e';
const BACKUP_KEY = 'sk-validation-backup-77d0a4';
const hello = [{ role: 'user', content: 'Suggest three books for a long train journey.' }];

type Row = { request_id: string; outcome: string; http_status: number; error_type: string | null; model: string };

async function rowsFor(database: string, ids: string[]): Promise<Row[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const rows = await queryRows<Row>(
      database,
      'SELECT request_id, outcome, http_status, error_type, model FROM request_metrics WHERE request_id = ANY($1)',
      [ids],
    );
    if (rows.length >= ids.length || Date.now() > deadline) return rows;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('gateway: invalid requests are refused before any upstream call, and a provider refusal counts against no model', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestApp;
  let stdout: StdoutCapture;

  const stats = async (): Promise<{ total: number; byStatus: Record<string, number> }> =>
    (await request(gateway.simulatorUrl).get('/_simulator/stats').expect(200)).body;
  const fault = (model: string, body: Record<string, unknown>) =>
    request(gateway.simulatorUrl).post(`/_simulator/faults/${model}`).send(body).expect(200);
  const completion = (body: unknown) =>
    api(gateway)
      .post('/v1/chat/completions')
      .set('x-request-id', randomUUID())
      .send(body as object);

  beforeAll(async () => {
    database = await createTestDatabase();
    stdout = StdoutCapture.start();
    gateway = await startTestApp({
      databaseUrl: database.url,
      env: {
        LOG_LEVEL: 'warn',
        METRICS_FLUSH_INTERVAL_MS: '20',
        GATEWAY_MAX_RETRIES: '0',
        // Only failures in a row open a circuit here, so the test sees exactly what counts as one.
        GATEWAY_BREAKER_MIN_REQUESTS: '100000',
        GATEWAY_BREAKER_CONSECUTIVE_FAILURES: '5',
        SIMULATED_API_KEY: PRIMARY_KEY,
        SIMULATED_API_KEY_BACKUP: BACKUP_KEY,
      },
    });
  });
  afterAll(async () => {
    await gateway?.close();
    stdout?.stop();
    await database?.drop();
  });
  afterEach(async () => {
    await request(gateway.simulatorUrl).post('/_simulator/reset').expect(204);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['role "wizard"', { messages: [{ role: 'wizard', content: 'hi' }] }, 'messages[0].role'],
    [
      'a user message with content null',
      { messages: [...hello, { role: 'user', content: null }] },
      'messages[1].content',
    ],
    ['temperature "hot"', { temperature: 'hot' }, 'temperature'],
    ['temperature 7', { temperature: 7 }, 'temperature'],
    ['max_tokens -5', { max_tokens: -5 }, 'max_tokens'],
    ['stream_options without stream', { stream_options: { include_usage: true } }, 'stream_options'],
  ])('refuses %s with 400 naming the field, and the provider hears nothing', async (_case, change, param) => {
    const before = (await stats()).total;
    const response = await completion({ model: 'route:chat', messages: hello, ...change }).expect(400);
    expect(response.body.error).toMatchObject({ type: 'invalid_request_error', param });
    expect(response.body.error.message).toContain(param);
    expect((await stats()).total).toBe(before);
    const [row] = await rowsFor(database.url, [response.headers['x-switchyard-request-id']]);
    expect(row).toMatchObject({ outcome: 'rejected', http_status: 400 });
  });

  it('bounds metadata as OpenAI does (16 keys, keys of 64 characters, values of 512), saying the bound and what came', async () => {
    const keys = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, `v${i}`]));
    const refused = [
      [keys(17), 'metadata', "`metadata` may have at most 16 keys (OpenAI's bound); got 17."],
      [
        { ['k'.repeat(100)]: 'v' },
        `metadata.${'k'.repeat(64)}…`,
        `\`metadata.${'k'.repeat(64)}…\`: a metadata key may be at most 64 characters (OpenAI's bound); this one has 100.`,
      ],
      [
        { tier: 'enterprise', note: 'v'.repeat(513) },
        'metadata.note',
        "`metadata.note` may be at most 512 characters (OpenAI's bound for a metadata value); got 513.",
      ],
    ] as const;
    const before = (await stats()).total;
    for (const [metadata, param, message] of refused) {
      const response = await completion({ model: 'route:chat', messages: hello, metadata }).expect(400);
      expect(response.body).toEqual({
        error: { message, type: 'invalid_request_error', code: 'invalid_value', param },
      });
    }
    expect((await stats()).total).toBe(before);
    const atBounds = { ...keys(15), ['k'.repeat(64)]: 'v'.repeat(512) };
    await completion({ model: 'route:chat', messages: hello, metadata: atBounds }).expect(200);
  });

  it('takes logit_bias keyed by token ids, at most 1024 of them, and says which key or bound is wrong', async () => {
    const biases = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [String(i), -100]));
    const refused = [
      [
        { '50256': -100, hello: 5 },
        'logit_bias.hello',
        '`logit_bias.hello`: a logit_bias key must be a token id, in decimal digits such as "50256"; got "hello".',
      ],
      [
        biases(1025),
        'logit_bias',
        "`logit_bias` may have at most 1024 entries (the gateway's bound; OpenAI documents none); got 1025.",
      ],
    ] as const;
    const before = (await stats()).total;
    for (const [logitBias, param, message] of refused) {
      const response = await completion({ model: 'route:chat', messages: hello, logit_bias: logitBias }).expect(400);
      expect(response.body).toEqual({
        error: { message, type: 'invalid_request_error', code: 'invalid_value', param },
      });
    }
    expect((await stats()).total).toBe(before);
    await completion({ model: 'route:chat', messages: hello, logit_bias: biases(1024) }).expect(200);
  });

  it('names an unknown model or policy by its start only: a huge one does not come back whole', async () => {
    const huge = 'x'.repeat(100_000);
    const model = await completion({ model: huge, messages: hello }).expect(404);
    expect(model.body.error).toMatchObject({ code: 'model_not_found', param: 'model' });
    expect(model.body.error.message).toMatch(/^The model `x{64}…` does not exist/);
    expect(model.text.length).toBeLessThan(2_000);
    const policy = await completion({ model: `route:${huge}`, messages: hello }).expect(404);
    expect(policy.body.error).toMatchObject({ code: 'policy_not_found' });
    expect(policy.text.length).toBeLessThan(2_000);
    const header = await completion({ model: 'route:chat', messages: hello })
      .set('x-switchyard-policy', 'y'.repeat(10_000))
      .expect(404);
    expect(header.body.error).toMatchObject({ code: 'policy_not_found' });
    expect(header.text.length).toBeLessThan(2_000);
    const listed = await api(gateway)
      .get(`/v1/models/${'z'.repeat(10_000)}`)
      .expect(404);
    expect(listed.text.length).toBeLessThan(2_000);
  });

  it('refuses a body nested deeper than 64 levels with 400 naming the limit', async () => {
    const deep = `${'['.repeat(10_000)}"bottom"${']'.repeat(10_000)}`;
    const response = await api(gateway)
      .post('/v1/chat/completions')
      .set('content-type', 'application/json')
      .send(`{"model":"route:chat","messages":${JSON.stringify(hello)},"extra":${deep}}`)
      .expect(400);
    expect(response.body.error).toMatchObject({ code: 'json_too_deep', type: 'invalid_request_error' });
    expect(response.body.error.message).toContain('64 levels');
  });

  it('records a provider 400 as invalid_request: no fallback, no breaker failure, no canary failure', async () => {
    const from = new Date(Date.now() - 1000);
    await api(gateway)
      .post('/api/flags')
      .send({
        key: 'recommendations-model',
        variants: { control: 'deepseek-v3.2', treatment: 'gpt-4.1' },
        defaultVariant: 'control',
        rollout: { treatment: 100 },
      })
      .expect(201);
    // Four failures in a row: one more would open gpt-4.1's circuit (GATEWAY_BREAKER_CONSECUTIVE_FAILURES=5).
    await fault('gpt-4.1', { status: 500, count: 4 });
    for (let i = 0; i < 4; i++) await completion({ model: 'gpt-4.1', messages: hello }).expect(502);

    await fault('gpt-4.1', { status: 400, count: 8 });
    const refused = [];
    for (let i = 0; i < 8; i++) {
      refused.push(await completion({ model: 'route:recommendations', messages: hello }).expect(400));
    }
    for (const response of refused) {
      expect(response.headers['x-switchyard-model']).toBe('gpt-4.1');
      expect(response.body.error).toMatchObject({ type: 'invalid_request_error', code: null });
    }
    // Not one fallback: the provider refused the request, not the model.
    expect((await stats()).byStatus).toEqual({ '500': 4, '400': 8 });
    const rows = await rowsFor(
      database.url,
      refused.map((response) => response.headers['x-switchyard-request-id']),
    );
    for (const row of rows)
      expect(row).toMatchObject({ outcome: 'invalid_request', http_status: 400, model: 'gpt-4.1' });

    // The 400s neither counted as failures nor broke the run of failures: the next 500 opens the circuit.
    await completion({ model: 'gpt-4.1', messages: hello }).expect(200);
    await fault('gpt-4.1', { status: 500, count: 5 });
    for (let i = 0; i < 5; i++) await completion({ model: 'gpt-4.1', messages: hello }).expect(502);
    const open = await completion({ model: 'gpt-4.1', messages: hello }).expect(502);
    expect(open.body.error.code).toBe('no_healthy_model');

    // The guardrail reads variantWindow (the canary CanaryWindowReader): the refused requests are neither failures nor requests.
    const window = await gateway.app.get(MetricsQueryService).variantWindow({
      flag: 'recommendations-model',
      variant: 'treatment',
      from,
      to: new Date(Date.now() + 1000),
    });
    expect(window).toMatchObject({ requests: 0, failures: 0 });
    const summary = await api(gateway).get('/api/metrics/summary').query({ from: from.toISOString() }).expect(200);
    const gpt = summary.body.groups.find((group: { key: string }) => group.key === 'gpt-4.1');
    expect(gpt.outcomes.invalid_request).toBe(8);
    expect(gpt.errors).toBe(gpt.outcomes.upstream_error);
  });

  it("never passes an upstream's message to the client: a provider key it quotes stays out of the answer and the log", async () => {
    const message = `Invalid request: the key ${PRIMARY_KEY} (backup ${BACKUP_KEY}) may not use this model.`;
    await fault('claude-sonnet-4.5', { status: 422, message });
    const response = await completion({ model: 'claude-sonnet-4.5', messages: hello }).expect(422);
    expect(response.body.error).toMatchObject({ type: 'invalid_request_error', code: null, param: null });
    expect(response.body.error.message).toContain('x-switchyard-request-id');
    const requestId = response.headers['x-switchyard-request-id'];
    for (const secret of [PRIMARY_KEY, BACKUP_KEY]) {
      expect(response.text).not.toContain(secret);
      expect(JSON.stringify(response.headers)).not.toContain(secret);
    }
    const lines = stdout.text().split('\n');
    const logLine = lines.find((line) => line.includes(requestId) && line.includes('may not use this model'));
    expect(logLine).toBeDefined();
    expect(logLine).toContain('the key [redacted] (backup [redacted])');
    for (const secret of [PRIMARY_KEY, BACKUP_KEY]) expect(stdout.text()).not.toContain(secret);
  });

  it("keeps a provider key out of the answer and the log when an upstream's first stream event quotes it", async () => {
    const message = `Overloaded: the key ${PRIMARY_KEY} (backup ${BACKUP_KEY}) must wait its turn.`;
    await fault('claude-sonnet-4.5', { status: 503, message, asStreamEvent: true });
    const response = await completion({ model: 'claude-sonnet-4.5', messages: hello, stream: true }).expect(502);
    expect(response.body.error).toMatchObject({ type: 'api_error', code: 'upstream_error' });
    const requestId = response.headers['x-switchyard-request-id'];
    for (const secret of [PRIMARY_KEY, BACKUP_KEY]) {
      expect(response.text).not.toContain(secret);
      expect(JSON.stringify(response.headers)).not.toContain(secret);
    }
    const logLine = stdout
      .text()
      .split('\n')
      .find((line) => line.includes(requestId) && line.includes('must wait its turn'));
    expect(logLine).toContain('the key [redacted] (backup [redacted])');
    expect(logLine).toContain('began its stream with an error event');
    for (const secret of [PRIMARY_KEY, BACKUP_KEY]) expect(stdout.text()).not.toContain(secret);
  });
});
