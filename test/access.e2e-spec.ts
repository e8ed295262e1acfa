import request from 'supertest';
import { createTestDatabase, queryRows } from './support/test-database';
import { StdoutCapture } from './support/stdout-capture';
import { api, bearer, startTestApp, type TestApp } from './support/test-app';

const hello = [{ role: 'user', content: 'hi' }];
const PROVIDER_KEYS = {
  SIMULATED_API_KEY: 'sk-test-access-primary-0001',
  SIMULATED_API_KEY_BACKUP: 'sk-test-access-backup-0002',
};
/** Fast writers and syncs, so the test reads rows and shared counts without waiting long. */
const FAST = { METRICS_FLUSH_INTERVAL_MS: '20', RATE_LIMIT_SYNC_MS: '20', GATEWAY_MAX_RETRIES: '0', LOG_LEVEL: 'info' };

interface Created {
  id: string;
  key: string;
  prefix: string;
}

interface Exchange {
  what: string;
  text: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(20);
  }
}

/** Rate limits count per fixed minute: start a limit test early enough in a minute to finish inside it. */
async function awayFromMinuteEnd(neededMs = 8_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < neededMs) await sleep(left + 50);
}

describe('access: API keys, scopes, limits, attribution and hardening', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  /** Defaults: docs public, /metrics needs a key, CORS off. */
  let a: TestApp;
  /** The same database; DOCS_PUBLIC=false, PROMETHEUS_PUBLIC=true, CORS_ORIGINS set. */
  let b: TestApp;
  const keys: Record<'gateway' | 'read' | 'admin' | 'chatOnly', Created> = {} as never;
  /** Every response seen (headers and body), to look for secrets at the end. */
  const exchanges: Exchange[] = [];
  let stdout: StdoutCapture;
  const consoleLines: string[] = [];
  const originalConsole = { log: console.log, error: console.error, warn: console.warn };

  /** supertest on `app`, as `key` (none: no Authorization), recording every response. */
  function as(key: string | null, app: TestApp = a) {
    const agent = request.agent(app.url);
    agent.on('response', (res: { req?: { method?: string; path?: string }; headers: unknown; text?: string }) => {
      exchanges.push({
        what: `${res.req?.method} ${res.req?.path}`,
        text: `${JSON.stringify(res.headers)}\n${res.text ?? ''}`,
      });
    });
    return key ? agent.set('authorization', bearer(key)) : agent;
  }

  async function createKey(body: Record<string, unknown>): Promise<Created> {
    const response = await as(a.adminKey!).post('/api/keys').send(body).expect(201);
    return response.body as Created;
  }

  beforeAll(async () => {
    stdout = StdoutCapture.start();
    for (const name of ['log', 'error', 'warn'] as const) {
      console[name] = (...args: unknown[]) => consoleLines.push(args.map(String).join(' '));
    }
    database = await createTestDatabase();
    a = await startTestApp({ databaseUrl: database.url, env: { ...PROVIDER_KEYS, ...FAST } });
    b = await startTestApp({
      databaseUrl: database.url,
      env: {
        ...PROVIDER_KEYS,
        ...FAST,
        DOCS_PUBLIC: 'false',
        PROMETHEUS_PUBLIC: 'true',
        CORS_ORIGINS: 'https://dashboard.internal',
      },
    });
    keys.gateway = await createKey({ name: 'search-team', scopes: ['gateway'] });
    keys.read = await createKey({ name: 'dashboards', scopes: ['read'] });
    keys.admin = await createKey({ name: 'platform-oncall', scopes: ['admin'] });
    keys.chatOnly = await createKey({ name: 'support-bot', scopes: ['gateway'], policies: ['chat'] });
  }, 60_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    stdout?.stop();
    Object.assign(console, originalConsole);
    await database?.drop();
  }, 30_000);

  const completion = { model: 'gpt-4.1', messages: hello };
  type Who = 'none' | 'gateway' | 'read' | 'admin';
  const keyOf = (who: Who) => (who === 'none' ? null : keys[who].key);

  // [route group, request, expected status for: no key, gateway, read, admin]
  const matrix: Array<[string, (who: Who) => request.Test, Record<Who, number>]> = [
    [
      'gateway: POST /v1/chat/completions (raw fast path)',
      (who) => as(keyOf(who)).post('/v1/chat/completions').send(completion),
      { none: 401, gateway: 200, read: 403, admin: 200 },
    ],
    [
      'gateway: POST /v1/chat/completions/ (Nest controller)',
      (who) => as(keyOf(who)).post('/v1/chat/completions/').send(completion),
      { none: 401, gateway: 200, read: 403, admin: 200 },
    ],
    [
      'gateway: GET /v1/models',
      (who) => as(keyOf(who)).get('/v1/models'),
      { none: 401, gateway: 200, read: 403, admin: 200 },
    ],
    [
      'read: GET /api/flags',
      (who) => as(keyOf(who)).get('/api/flags'),
      { none: 401, gateway: 403, read: 200, admin: 200 },
    ],
    [
      'read: GET /api/metrics/summary',
      (who) => as(keyOf(who)).get('/api/metrics/summary'),
      { none: 401, gateway: 403, read: 200, admin: 200 },
    ],
    // Past the guard, admin reaches the handler: 404 for a flag that does not exist.
    [
      'admin write: POST /api/flags/:key/kill',
      (who) => as(keyOf(who)).post('/api/flags/no-such-flag/kill'),
      { none: 401, gateway: 403, read: 403, admin: 404 },
    ],
    [
      'read (changes nothing): POST /api/flags/:key/evaluate',
      (who) => as(keyOf(who)).post('/api/flags/no-such-flag/evaluate').send({}),
      { none: 401, gateway: 403, read: 404, admin: 404 },
    ],
    [
      'keys API: GET /api/keys',
      (who) => as(keyOf(who)).get('/api/keys'),
      { none: 401, gateway: 403, read: 403, admin: 200 },
    ],
    [
      'keys API: POST /api/keys',
      (who) =>
        as(keyOf(who))
          .post('/api/keys')
          .send({ name: 'x', scopes: ['bogus'] }),
      { none: 401, gateway: 403, read: 403, admin: 400 },
    ],
    [
      'Prometheus: GET /metrics',
      (who) => as(keyOf(who)).get('/metrics'),
      { none: 401, gateway: 403, read: 200, admin: 200 },
    ],
    [
      'health: GET /health/live',
      (who) => as(keyOf(who)).get('/health/live'),
      { none: 200, gateway: 200, read: 200, admin: 200 },
    ],
    [
      'health: GET /health/ready',
      (who) => as(keyOf(who)).get('/health/ready'),
      { none: 200, gateway: 200, read: 200, admin: 200 },
    ],
    [
      'docs (DOCS_PUBLIC=true): GET /docs-json',
      (who) => as(keyOf(who)).get('/docs-json'),
      { none: 200, gateway: 200, read: 200, admin: 200 },
    ],
  ];

  it.each(matrix)('%s: allowed and denied by scope', async (_name, send, expected) => {
    const actual: Record<string, number> = {};
    for (const who of ['none', 'gateway', 'read', 'admin'] as const) actual[who] = (await send(who)).status;
    expect(actual).toEqual(expected);
  });

  it('serves Swagger UI without a key, with helmet headers, and documents the bearer scheme', async () => {
    const ui = await as(null).get('/docs').redirects(1).expect(200);
    expect(ui.text).toContain('swagger-ui');
    expect(ui.headers['content-security-policy']).toContain("script-src 'self'");
    expect(ui.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    const spec = await as(null).get('/docs-json').expect(200);
    expect(spec.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(spec.body.paths['/api/keys'].post.security).toEqual([{ bearer: [] }]);
    expect(spec.body.paths['/health/ready'].get.security).toBeUndefined();
  });

  it('sets helmet headers on the operator API and no CORS headers by default', async () => {
    const response = await as(keys.read.key).get('/api/flags').set('origin', 'https://dashboard.internal').expect(200);
    expect(response.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'SAMEORIGIN',
      'strict-transport-security': expect.stringContaining('max-age='),
      'referrer-policy': 'no-referrer',
    });
    expect(response.headers['x-powered-by']).toBeUndefined();
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await as(null)
      .options('/api/flags')
      .set('origin', 'https://dashboard.internal')
      .set('access-control-request-method', 'GET');
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers CORS for the origins in CORS_ORIGINS only, the completions route included', async () => {
    const allowed = await as(keys.read.key, b)
      .get('/api/flags')
      .set('origin', 'https://dashboard.internal')
      .expect(200);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://dashboard.internal');
    const other = await as(keys.read.key, b).get('/api/flags').set('origin', 'https://elsewhere.example').expect(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await as(null, b)
      .options('/v1/chat/completions')
      .set('origin', 'https://dashboard.internal')
      .set('access-control-request-method', 'POST')
      .set('access-control-request-headers', 'authorization,content-type')
      .expect(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://dashboard.internal');
    expect(preflight.headers['access-control-allow-headers']).toContain('authorization');
    const browser = await as(keys.gateway.key, b)
      .post('/v1/chat/completions')
      .set('origin', 'https://dashboard.internal')
      .send(completion)
      .expect(200);
    expect(browser.headers['access-control-allow-origin']).toBe('https://dashboard.internal');
    expect(browser.headers['access-control-expose-headers']).toContain('x-switchyard-model');
  });

  it('closes the docs with DOCS_PUBLIC=false and opens /metrics with PROMETHEUS_PUBLIC=true', async () => {
    const closed = await as(null, b).get('/docs-json').expect(401);
    expect(closed.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(closed.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    await as(keys.gateway.key, b).get('/docs-json').expect(200);
    await as(null, b).get('/metrics').expect(200);
  });

  it('answers 401 in the OpenAI shape on /v1 and the operator shape on /api, with WWW-Authenticate and what to do', async () => {
    const v1 = await as(null).post('/v1/chat/completions').send(completion).expect(401);
    expect(v1.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(v1.body).toEqual({
      error: {
        message: expect.stringContaining('Authorization: Bearer <key>'),
        type: 'authentication_error',
        code: 'missing_api_key',
        param: null,
      },
    });
    const models = await as('sy_unknown').get('/v1/models').expect(401);
    expect(models.body.error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });

    const operator = await as('not-a-key-at-all').get('/api/flags').expect(401);
    expect(operator.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(operator.body).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      code: 'invalid_api_key',
      message: expect.stringContaining('not valid'),
      requestId: operator.headers['x-switchyard-request-id'],
    });
    const malformed = await request(a.url).get('/api/flags').set('authorization', 'Basic dXNlcjpwYXNz').expect(401);
    expect(malformed.body.message).toContain('Bearer <key>');

    const forbidden = await as(keys.gateway.key).get('/api/flags').expect(403);
    expect(forbidden.body).toMatchObject({
      statusCode: 403,
      error: 'Forbidden',
      code: 'insufficient_scope',
      message: expect.stringContaining('"read" scope'),
    });
    const forbiddenV1 = await as(keys.read.key).post('/v1/chat/completions').send(completion).expect(403);
    expect(forbiddenV1.body.error).toMatchObject({ type: 'permission_error', code: 'insufficient_scope' });
    expect(forbiddenV1.body.error.message).toContain(keys.read.prefix);
  });

  it('creates keys shown once, lists them without secrets, validates input and revokes (409 the second time)', async () => {
    const created = await as(keys.admin.key)
      .post('/api/keys')
      .send({
        name: 'fraud-team',
        scopes: ['gateway', 'read'],
        policies: ['fraud'],
        requestsPerMinute: 100,
        tokensPerMinute: 50_000,
      })
      .expect(201);
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'fraud-team',
      scopes: ['gateway', 'read'],
      policies: ['fraud'],
      requestsPerMinute: 100,
      tokensPerMinute: 50_000,
      prefix: created.body.key.slice(0, 13),
      createdBy: `key:${keys.admin.id} (platform-oncall)`,
      lastUsedAt: null,
      revokedAt: null,
    });
    expect(created.body.key).toMatch(/^sy_[a-z0-9]{10}_[A-Za-z0-9_-]{43}$/);
    const [row] = await queryRows<Record<string, unknown>>(database.url, 'SELECT * FROM api_keys WHERE id = $1', [
      created.body.id,
    ]);
    expect(JSON.stringify(row)).not.toContain(created.body.key);
    expect(JSON.stringify(row)).not.toContain(created.body.key.slice(14));

    const list = await as(keys.admin.key).get('/api/keys').expect(200);
    const listed = list.body.find((key: { id: string }) => key.id === created.body.id);
    const { key: _key, ...view } = created.body;
    expect(listed).toEqual(view);
    for (const key of list.body) expect(Object.keys(key)).not.toEqual(expect.arrayContaining(['key']));
    expect(list.text).not.toContain(created.body.key);
    expect(list.text).not.toContain(String(row.key_hash));
    await as(keys.admin.key)
      .get(`/api/keys/${created.body.id}`)
      .expect(200)
      .expect((res) => expect(res.body).toEqual(view));

    const problems = await as(keys.admin.key)
      .post('/api/keys')
      .send({ scopes: ['superuser'], requestsPerMinute: 0 })
      .expect(400);
    expect(problems.body).toMatchObject({ code: 'validation_failed' });
    expect(problems.body.details).toEqual([
      'name is required',
      'scopes must each be one of: gateway, read, admin',
      'requestsPerMinute must be an integer between 1 and 1000000',
    ]);
    const unknownPolicy = await as(keys.admin.key)
      .post('/api/keys')
      .send({ name: 'poets', scopes: ['gateway'], policies: ['poetry'] })
      .expect(400);
    expect(unknownPolicy.body).toMatchObject({
      code: 'unknown_policy',
      message: 'policies: unknown policy "poetry" (catalog policies: recommendations, chat, fraud)',
    });
    await as(keys.admin.key)
      .post('/api/keys')
      .send({ name: 'x', scopes: ['gateway'], policies: [] })
      .expect(400);
    // An admin key could create a key without the limit: limiting it would be a fiction.
    const limitedAdmin = await as(keys.admin.key)
      .post('/api/keys')
      .send({ name: 'chat-admins', scopes: ['admin', 'gateway'], policies: ['chat'] })
      .expect(400);
    expect(limitedAdmin.body).toMatchObject({
      code: 'admin_key_with_policies',
      message: expect.stringContaining('leave out admin, or policies'),
    });
    const notUuid = await as(keys.admin.key).get('/api/keys/not-a-uuid').expect(400);
    expect(notUuid.body).toMatchObject({ code: 'validation_failed', message: 'id must be an API key id (a UUID)' });
    const unknown = await as(keys.admin.key).get('/api/keys/00000000-0000-4000-8000-000000000000').expect(404);
    expect(unknown.body).toMatchObject({ statusCode: 404, error: 'Not Found', code: 'api_key_not_found' });
    await as(keys.admin.key).delete('/api/keys/00000000-0000-4000-8000-000000000000').expect(404);

    await as(created.body.key).get('/api/flags').expect(200);
    const revoked = await as(keys.admin.key).delete(`/api/keys/${created.body.id}`).expect(200);
    expect(revoked.body).toMatchObject({ id: created.body.id, revokedAt: expect.any(String) });
    const again = await as(keys.admin.key).delete(`/api/keys/${created.body.id}`).expect(409);
    expect(again.body).toMatchObject({
      code: 'api_key_already_revoked',
      message: expect.stringContaining('already revoked'),
    });
    const refused = await as(created.body.key).get('/api/flags').expect(401);
    expect(refused.body).toMatchObject({ code: 'revoked_api_key', message: expect.stringContaining('was revoked') });
    expect(refused.headers['www-authenticate']).toMatch(/^Bearer/);
    const refusedV1 = await as(created.body.key)
      .post('/v1/chat/completions')
      .send({ model: 'route:fraud', messages: hello })
      .expect(401);
    expect(refusedV1.body.error.code).toBe('revoked_api_key');
  });

  it('refuses policies and completion limits on a key that makes no completions, naming them, and creates none', async () => {
    const before = (await as(keys.admin.key).get('/api/keys').expect(200)).body.length;
    const refused = await as(keys.admin.key)
      .post('/api/keys')
      .send({ name: 'dashboards-2', scopes: ['read'], policies: ['chat'], requestsPerMinute: 10, tokensPerMinute: 100 })
      .expect(400);
    expect(refused.body).toMatchObject({
      code: 'limits_without_gateway',
      message:
        'policies, requestsPerMinute and tokensPerMinute limit chat completions, which a key without the gateway scope (scopes: read) cannot make: add gateway to scopes, or leave them out',
    });
    const one = await as(keys.admin.key)
      .post('/api/keys')
      .send({ name: 'dashboards-2', scopes: ['read'], tokensPerMinute: 100 })
      .expect(400);
    expect(one.body.message).toMatch(/^tokensPerMinute limits chat completions, which/);
    expect((await as(keys.admin.key).get('/api/keys').expect(200)).body).toHaveLength(before);
  });

  it('keeps a key limited to policies on them: another policy or a concrete model is 403 in the OpenAI shape', async () => {
    const ok = await as(keys.chatOnly.key)
      .post('/v1/chat/completions')
      .send({ model: 'route:chat', messages: hello })
      .expect(200);
    expect(ok.headers['x-switchyard-policy']).toBe('chat');
    await as(keys.chatOnly.key)
      .post('/v1/chat/completions')
      .set('x-switchyard-policy', 'chat')
      .send({ model: 'anything', messages: hello })
      .expect(200);
    const otherPolicy = await as(keys.chatOnly.key)
      .post('/v1/chat/completions')
      .send({ model: 'route:recommendations', messages: hello })
      .expect(403);
    expect(otherPolicy.body.error).toMatchObject({
      type: 'permission_error',
      code: 'policy_not_allowed',
      message: expect.stringContaining('route:chat'),
    });
    const concrete = await as(keys.chatOnly.key).post('/v1/chat/completions/').send(completion).expect(403);
    expect(concrete.body.error).toMatchObject({ code: 'policy_not_allowed', param: 'model' });

    // GET /v1/models lists only what the key may use.
    const listed = await as(keys.chatOnly.key).get('/v1/models').expect(200);
    expect(listed.body.data.map((model: { id: string }) => model.id)).toEqual(['route:chat']);
    const everything = await as(keys.gateway.key).get('/v1/models').expect(200);
    expect(everything.body.data.map((model: { id: string }) => model.id)).toEqual(
      expect.arrayContaining(['route:chat', 'route:fraud', 'gpt-4.1']),
    );
    // And finds only those one by one.
    await as(keys.chatOnly.key).get('/v1/models/route:chat').expect(200);
    for (const hidden of ['gpt-4.1', 'route:fraud']) {
      const refused = await as(keys.chatOnly.key)
        .get(`/v1/models/${encodeURIComponent(hidden)}`)
        .expect(404);
      expect(refused.body.error).toEqual({
        type: 'invalid_request_error',
        code: 'model_not_found',
        param: 'model',
        message: `The model \`${hidden}\` is not available to this API key; it may use route:chat (GET /v1/models lists them).`,
      });
    }
    await as(keys.gateway.key).get('/v1/models/route%3Afraud').expect(200);
  });

  it('puts the key id on every metric row, refusals included, and makes the key the actor of flag history', async () => {
    const ok = await as(keys.gateway.key).post('/v1/chat/completions').send(completion).expect(200);
    const forbidden = await as(keys.read.key).post('/v1/chat/completions').send(completion).expect(403);
    const anonymous = await as(null).post('/v1/chat/completions').send(completion).expect(401);
    const ids = [ok, forbidden, anonymous].map((response) => response.headers['x-switchyard-request-id']);
    const rows = await eventually(
      () =>
        queryRows<{
          request_id: string;
          api_key_id: string | null;
          outcome: string;
          http_status: number;
          error_type: string | null;
        }>(
          database.url,
          'SELECT request_id, api_key_id, outcome, http_status, error_type FROM request_metrics WHERE request_id = ANY($1)',
          [ids],
        ),
      (found) => found.length === 3,
    );
    const rowOf = (id: string) => rows.find((row) => row.request_id === id);
    expect(rowOf(ids[0])).toMatchObject({ api_key_id: keys.gateway.id, outcome: 'ok', http_status: 200 });
    expect(rowOf(ids[1])).toMatchObject({
      api_key_id: keys.read.id,
      outcome: 'rejected',
      http_status: 403,
      error_type: 'insufficient_scope',
    });
    expect(rowOf(ids[2])).toMatchObject({
      api_key_id: null,
      outcome: 'rejected',
      http_status: 401,
      error_type: 'missing_api_key',
    });

    const cost = await as(keys.read.key).get('/api/metrics/cost').query({ groupBy: 'apiKey' }).expect(200);
    expect(cost.body.groups.map((group: { key: string }) => group.key)).toContain(keys.gateway.id);

    await as(keys.admin.key)
      .post('/api/flags')
      .set('x-actor', 'someone-else')
      .set('x-change-reason', 'attribution test')
      .send({
        key: 'fraud-model',
        variants: { control: 'claude-sonnet-4.5', treatment: 'gpt-4.1' },
        defaultVariant: 'control',
      })
      .expect(201);
    const history = await as(keys.read.key).get('/api/flags/fraud-model/history').expect(200);
    expect(history.body.items[0]).toMatchObject({
      actor: `key:${keys.admin.id} (platform-oncall)`,
      reason: 'attribution test',
    });
  });

  it('revokes a key on a second instance within a second', async () => {
    const key = await createKey({ name: 'short-lived', scopes: ['gateway'] });
    // b learns of the new key through NOTIFY too.
    const known = await eventually(
      () => as(key.key, b).get('/v1/models'),
      (res) => res.status === 200,
      2_000,
    );
    expect(known.status).toBe(200);
    await as(a.adminKey!).delete(`/api/keys/${key.id}`).expect(200);
    const revokedAt = Date.now();
    const after = await eventually(
      () => as(key.key, b).post('/v1/chat/completions').send(completion),
      (res) => res.status === 401,
      2_000,
    );
    expect(after.status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(1_000);
  });

  it('enforces requests per minute across two instances, with Retry-After and x-ratelimit headers', async () => {
    await awayFromMinuteEnd();
    const key = await createKey({ name: 'limited-requests', scopes: ['gateway'], requestsPerMinute: 10 });
    await eventually(
      () => as(key.key, b).get('/v1/models'),
      (res) => res.status === 200,
      2_000,
    );
    const fromA = [];
    for (let i = 0; i < 6; i++) fromA.push(await as(key.key, a).post('/v1/chat/completions').send(completion));
    expect(fromA.map((res) => res.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(fromA[5].headers).toMatchObject({
      'x-ratelimit-limit-requests': '10',
      'x-ratelimit-remaining-requests': '4',
      'x-ratelimit-reset-requests': expect.stringMatching(/^\d+s$/),
    });
    // a has shared its 6 once the row says so; b reads the totals on its next sync.
    await eventually(
      () =>
        queryRows<{ requests: number }>(database.url, 'SELECT requests FROM api_key_usage WHERE key_id = $1', [key.id]),
      (rows) => rows[0]?.requests === 6,
    );
    await sleep(150);
    const fromB = [];
    for (let i = 0; i < 6; i++) fromB.push(await as(key.key, b).post('/v1/chat/completions').send(completion));
    expect(fromB.map((res) => res.status)).toEqual([200, 200, 200, 200, 429, 429]);
    const refused = fromB[5];
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(refused.headers).toMatchObject({
      'x-ratelimit-limit-requests': '10',
      'x-ratelimit-remaining-requests': '0',
    });
    expect(refused.body.error).toMatchObject({ type: 'rate_limit_error', code: 'requests_per_minute_exceeded' });
    expect(refused.body.error.message).toContain('10 requests per minute');

    const ids = fromB.slice(4).map((res) => res.headers['x-switchyard-request-id']);
    const rows = await eventually(
      () =>
        queryRows<{ outcome: string; api_key_id: string }>(
          database.url,
          'SELECT outcome, api_key_id FROM request_metrics WHERE request_id = ANY($1)',
          [ids],
        ),
      (found) => found.length === 2,
    );
    expect(rows).toEqual([
      { outcome: 'rate_limited', api_key_id: key.id },
      { outcome: 'rate_limited', api_key_id: key.id },
    ]);
  }, 30_000);

  it('enforces tokens per minute across two instances once finished requests used them up', async () => {
    await awayFromMinuteEnd();
    const key = await createKey({ name: 'limited-tokens', scopes: ['gateway'], tokensPerMinute: 40 });
    await eventually(
      () => as(key.key, b).get('/v1/models'),
      (res) => res.status === 200,
      2_000,
    );
    const fromA = [];
    for (let i = 0; i < 4; i++) fromA.push(await as(key.key, a).post('/v1/chat/completions').send(completion));
    const used = fromA.filter((res) => res.status === 200).reduce((sum, res) => sum + res.body.usage.total_tokens, 0);
    expect(used).toBeGreaterThanOrEqual(40);
    expect(fromA.at(-1)!.status).toBe(429);
    expect(fromA.at(-1)!.body.error.code).toBe('tokens_per_minute_exceeded');
    expect(fromA.at(-1)!.headers['x-ratelimit-remaining-tokens']).toBe('0');
    await eventually(
      () => queryRows<{ tokens: string }>(database.url, 'SELECT tokens FROM api_key_usage WHERE key_id = $1', [key.id]),
      (rows) => Number(rows[0]?.tokens) === used,
    );
    await sleep(150);
    const fromB = await as(key.key, b).post('/v1/chat/completions').send(completion).expect(429);
    expect(fromB.headers).toMatchObject({
      'x-ratelimit-limit-tokens': '40',
      'x-ratelimit-remaining-tokens': '0',
      'retry-after': expect.stringMatching(/^\d+$/),
    });
  }, 30_000);

  it('records when keys were last used (in batches, written at the latest on shutdown)', async () => {
    const replica = await startTestApp({ databaseUrl: database.url, env: { ...PROVIDER_KEYS, ...FAST } });
    const key = await createKey({ name: 'used-once', scopes: ['read'] });
    await eventually(
      () => as(key.key, replica).get('/api/flags'),
      (res) => res.status === 200,
      2_000,
    );
    // Revoked after its last use, and only then written: the row says when it was used, not when written.
    await as(a.adminKey!).delete(`/api/keys/${key.id}`).expect(200);
    await replica.close();
    const [row] = await queryRows<{ last_used_at: Date | null; revoked_at: Date }>(
      database.url,
      'SELECT last_used_at, revoked_at FROM api_keys WHERE id = $1',
      [key.id],
    );
    expect(row.last_used_at).not.toBeNull();
    expect(row.last_used_at!.getTime()).toBeLessThanOrEqual(row.revoked_at.getTime());
  }, 30_000);

  it('never shows a secret in a response body or header, nor in any log line', async () => {
    // Give the logs something to say about refused keys, too.
    await as(`${a.adminKey}x`).get('/api/flags').expect(401);
    const created = exchanges.filter((exchange) => exchange.what === 'POST /api/keys');
    const configured = [a.adminKey!, b.adminKey!, ...Object.values(PROVIDER_KEYS)];
    const issued = Object.values(keys).map((key) => key.key);
    for (const secret of configured) expect(exchanges.filter((exchange) => exchange.text.includes(secret))).toEqual([]);
    // A created key appears exactly once: in the response that created it.
    for (const secret of issued) {
      const where = exchanges.filter((exchange) => exchange.text.includes(secret));
      expect(where).toHaveLength(1);
      expect(created).toContain(where[0]);
    }
    const secrets = [...configured, ...issued];
    const logs = stdout.text() + consoleLines.join('\n');
    expect(logs).toContain('"url":"/api/keys"'); // Nest routes log requests; the raw completions entrance does not
    for (const secret of secrets) expect(logs).not.toContain(secret);
    for (const exchange of exchanges) {
      expect(exchange.text).not.toMatch(/\bat \S+ \(\S+:\d+:\d+\)/); // stack frames
      expect(exchange.text).not.toMatch(/127\.0\.0\.1:\d+/); // internal addresses (the provider's included)
    }
  });
});

describe('access: the first start creates an admin key and prints it once', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const printed: string[] = [];
  const originalLog = console.log;

  beforeAll(async () => {
    database = await createTestDatabase();
    console.log = (...args: unknown[]) => printed.push(args.map(String).join(' '));
  });
  afterAll(async () => {
    console.log = originalLog;
    await database?.drop();
  });

  const banners = () => printed.filter((line) => line.includes('Switchyard created an admin API key'));

  it('two replicas starting together on an empty database create one key, printed once, that works; a restart prints nothing', async () => {
    const [first, second] = await Promise.all([
      startTestApp({ databaseUrl: database.url, adminKey: null }),
      startTestApp({ databaseUrl: database.url, adminKey: null }),
    ]);
    try {
      expect(banners()).toHaveLength(1);
      expect(banners()[0]).toContain('store it now, it is not shown again');
      const key = /Switchyard created an admin API key: (sy_\S+)/.exec(banners()[0])![1];
      const listed = await api(first, key).get('/api/keys').expect(200);
      expect(listed.body).toEqual([
        expect.objectContaining({ name: 'bootstrap-admin', scopes: ['admin'], prefix: key.slice(0, 13) }),
      ]);
      await api(second, key).post('/v1/chat/completions').send({ model: 'route:chat', messages: hello }).expect(200);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
    const restarted = await startTestApp({ databaseUrl: database.url, adminKey: null });
    await restarted.close();
    expect(banners()).toHaveLength(1);
    const [{ count }] = await queryRows<{ count: number }>(database.url, 'SELECT count(*)::int AS count FROM api_keys');
    expect(count).toBe(1);
  }, 60_000);

  it('accepts SWITCHYARD_ADMIN_KEY of any format (at least 32 characters) and refuses a shorter one at start-up', async () => {
    const adminKey = 'an-operator-chosen-admin-key-0123456789';
    const gateway = await startTestApp({ databaseUrl: database.url, adminKey });
    try {
      const keys = await api(gateway).get('/api/keys').expect(200);
      expect(keys.body.map((key: { prefix: string }) => key.prefix)).toContainEqual(
        expect.stringMatching(/^env_[0-9a-f]{8}$/),
      );
      expect(keys.text).not.toContain(adminKey);
    } finally {
      await gateway.close();
    }
    await expect(startTestApp({ databaseUrl: database.url, adminKey: 'too-short' })).rejects.toThrow(
      'SWITCHYARD_ADMIN_KEY: SWITCHYARD_ADMIN_KEY must be at least 32 characters',
    );
    expect(banners()).toHaveLength(1);
  }, 30_000);
});

describe('access: the last admin key cannot be revoked', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ databaseUrl: database.url });
  }, 30_000);
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('refuses with 409 to revoke the only admin key left, which goes on working, and revokes it once another exists', async () => {
    const me = await api(app).get('/api/keys/me').expect(200);
    const refused = await api(app).delete(`/api/keys/${me.body.id}`).expect(409);
    expect(refused.body).toMatchObject({
      statusCode: 409,
      code: 'last_admin_key',
      message: expect.stringContaining('create another admin key (POST /api/keys) first'),
    });
    const gateway = await api(app)
      .post('/api/keys')
      .send({ name: 'search-team', scopes: ['gateway'] })
      .expect(201);
    await api(app).delete(`/api/keys/${gateway.body.id}`).expect(200);
    await api(app).get('/api/keys').expect(200);

    const second = await api(app)
      .post('/api/keys')
      .send({ name: 'platform-oncall', scopes: ['admin'] })
      .expect(201);
    const revoked = await api(app, second.body.key).delete(`/api/keys/${me.body.id}`).expect(200);
    expect(revoked.body).toMatchObject({ id: me.body.id, revokedAt: expect.any(String) });
    const self = await api(app, second.body.key).delete(`/api/keys/${second.body.id}`).expect(409);
    expect(self.body.code).toBe('last_admin_key');
    await api(app, second.body.key).get('/api/keys').expect(200);
  }, 30_000);
});
