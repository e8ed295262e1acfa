import { MAX_JSON_DEPTH } from '../src/common/json-depth';
import { rawRequest } from './support/raw-http';
import { createTestDatabase } from './support/test-database';
import { api, startTestApp, type TestApp } from './support/test-app';

const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
const DEEP = deep(10_000);

/**
 * Bad input on the operator API gets a 400 that says what to fix — one problem per field, the same
 * words for malformed JSON as the gateway — and never a 500, however deep, odd or NUL-laden.
 */
describe('operator input: clear 400s for deep, malformed, odd and missing input', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ databaseUrl: database.url });
    await api(app)
      .post('/api/flags')
      .send({
        key: 'input-flag',
        variants: { control: 'gpt-4.1', treatment: 'deepseek-v3.2' },
        defaultVariant: 'control',
      })
      .expect(201);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  }, 30_000);

  /** Sends raw JSON text (the nesting would overflow JSON.stringify in the test itself). */
  const send = (method: string, path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    rawRequest(app.url, {
      method,
      path,
      headers: { authorization: `Bearer ${app.adminKey}`, 'content-type': 'application/json', ...headers },
      body,
    });

  it.each([
    [
      'flag rules',
      'POST',
      '/api/flags',
      `{"key":"d1","variants":{"c":"gpt-4.1"},"defaultVariant":"c","rules":${DEEP}}`,
    ],
    ['flag variants', 'POST', '/api/flags', `{"key":"d2","variants":${DEEP},"defaultVariant":"c"}`],
    [
      'a rule condition',
      'POST',
      '/api/flags',
      `{"key":"d3","variants":{"c":"gpt-4.1"},"defaultVariant":"c","rules":[{"name":"r","conditions":[{"attribute":"a","operator":"in","values":${DEEP}}],"serve":{"variant":"c"}}]}`,
    ],
    ['canary stages', 'POST', '/api/canaries', `{"flagKey":"input-flag","variant":"treatment","stages":${DEEP}}`],
    [
      'canary analysis',
      'POST',
      '/api/canaries',
      `{"flagKey":"input-flag","variant":"treatment","analysis":{"stageEnd":${DEEP}}}`,
    ],
    ['key scopes', 'POST', '/api/keys', `{"name":"n","scopes":${DEEP}}`],
    ['evaluate attributes', 'POST', '/api/flags/input-flag/evaluate', `{"attributes":{"country":${DEEP}}}`],
    ['a rollout', 'PUT', '/api/flags/input-flag/rollout', `{"version":1,"rollout":${DEEP}}`],
    ['an unknown field', 'PATCH', '/api/flags/input-flag', `{"version":1,"unknown":${DEEP}}`],
    ['an unknown operator route', 'POST', '/api/nothing-here', DEEP],
  ])('refuses 10 000 levels in %s with a 400 naming the limit', async (_what, method, path, body) => {
    const response = await send(method, path, body);
    expect(response.status).toBe(400);
    const json = JSON.parse(response.text);
    expect(json).toMatchObject({ statusCode: 400, code: 'json_too_deep' });
    expect(json.message).toContain(`nested more than ${MAX_JSON_DEPTH} levels deep`);
  });

  it('accepts a body nested as deep as the limit allows, and refuses one level more', async () => {
    // Depth counts the containers a leaf sits in: the body is one, each nested object another.
    const nested = (levels: number) => `${'{"a":'.repeat(levels)}"x"${'}'.repeat(levels)}`;
    const atLimit = await send(
      'POST',
      '/api/flags/input-flag/evaluate',
      `{"attributes":${nested(MAX_JSON_DEPTH - 1)}}`,
    );
    expect(JSON.parse(atLimit.text).code).not.toBe('json_too_deep');
    const over = await send('POST', '/api/flags/input-flag/evaluate', `{"attributes":${nested(MAX_JSON_DEPTH)}}`);
    expect(JSON.parse(over.text)).toMatchObject({ code: 'json_too_deep' });
  });

  it('answers malformed JSON with the words the gateway uses, in the operator shape', async () => {
    const response = await send('POST', '/api/flags', '{"key": ');
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text)).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      code: 'invalid_json',
      message: 'The request body is not valid JSON.',
      requestId: response.headers['x-switchyard-request-id'],
    });
    const gateway = await send('POST', '/v1/chat/completions', '{"model": ');
    expect(JSON.parse(gateway.text).error).toMatchObject({
      message: 'The request body is not valid JSON.',
      code: 'invalid_json',
    });
  });

  it.each(['"x"', '123', 'null', 'true'])(
    'answers a JSON body that is no object (%s) as such, not as invalid JSON',
    async (body) => {
      const response = await send('POST', '/api/flags', body);
      expect([response.status, JSON.parse(response.text)]).toEqual([
        400,
        expect.objectContaining({ code: 'validation_failed', message: 'the request body must be a JSON object' }),
      ]);
      const outcomes = await send('POST', '/v1/outcomes', body);
      expect([outcomes.status, JSON.parse(outcomes.text).error]).toEqual([
        400,
        expect.objectContaining({ code: 'validation_failed', message: 'the request body must be a JSON object' }),
      ]);
    },
  );

  it('refuses a body that is not UTF-8 as such, instead of storing U+FFFD for its bytes', async () => {
    const latin1 = Buffer.from(
      JSON.stringify({ key: 'latin1-flag', variants: { c: 'gpt-4.1' }, defaultVariant: 'c', description: 'café' }),
      'latin1',
    );
    const response = await send('POST', '/api/flags', latin1);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text)).toMatchObject({
      code: 'invalid_json',
      message: 'The request body is not valid JSON: it is not UTF-8.',
    });
    // The same words as UTF-8 are taken.
    const utf8 = await send('POST', '/api/flags', latin1.toString('latin1'));
    expect(utf8.status).toBe(201);
    expect(JSON.parse(utf8.text)).toMatchObject({ key: 'latin1-flag', description: 'café' });
  });

  it('refuses, before parsing it, a body whose parse alone would hold the event loop, on every entrance', async () => {
    // 300 000 different keys: JSON.parse alone takes ~170 ms of the one event loop.
    const keys = `{${Array.from({ length: 300_000 }, (_, i) => `"k${i}":1`).join(',')}}`;
    const strings = JSON.stringify({
      model: 'gpt-4.1',
      messages: [{ role: 'user', content: 'hi' }],
      stop: Array(200_000).fill('s'),
    });
    const unauthenticated = await rawRequest(app.url, {
      method: 'POST',
      path: '/api/flags',
      headers: { 'content-type': 'application/json' },
      body: keys,
    });
    // The body parser runs before the route's guard: it must not be the way to stall the gateway.
    expect(unauthenticated.status).toBe(400);
    expect(JSON.parse(unauthenticated.text)).toMatchObject({
      code: 'json_too_complex',
      message: 'The request body uses more than 10,000 different object keys; no request needs that many.',
    });
    const completion = await send(
      'POST',
      '/v1/chat/completions',
      `{"model":"gpt-4.1","messages":[],"metadata":${keys}}`,
    );
    expect(completion.status).toBe(400);
    expect(JSON.parse(completion.text).error).toMatchObject({
      code: 'json_too_complex',
      type: 'invalid_request_error',
    });
    const manyStrings = await send('POST', '/v1/chat/completions', strings);
    expect(JSON.parse(manyStrings.text).error).toMatchObject({
      code: 'json_too_complex',
      message:
        'The request body has more than 100,000 strings (object keys and values together); no request needs that many: send text as fewer, longer strings.',
    });
    // No string at all: 950 000 empty objects (2.85 MB) held the loop ~400 ms in JSON.parse.
    const empties = await send(
      'POST',
      '/v1/chat/completions',
      `{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"x":[${Array(950_000).fill('{}').join(',')}]}`,
    );
    expect([empties.status, JSON.parse(empties.text).error]).toEqual([
      400,
      expect.objectContaining({ code: 'json_too_complex', message: expect.stringContaining('objects and arrays') }),
    ]);
  });

  it('gives one clear message per field problem', async () => {
    const missingKey = await api(app)
      .post('/api/flags')
      .send({ variants: { c: 'gpt-4.1' }, defaultVariant: 'c' })
      .expect(400);
    expect(missingKey.body).toMatchObject({ code: 'validation_failed', message: 'key is required' });
    expect(missingKey.body.details).toBeUndefined();

    // An empty salt would bucket users alike on every flag salted so: experiments no longer independent.
    const emptySalt = await api(app)
      .post('/api/flags')
      .send({ key: 'empty-salt', variants: { c: 'gpt-4.1' }, defaultVariant: 'c', salt: '' })
      .expect(400);
    const emptySaltMessage =
      'salt must not be empty; leave it out (a new flag is salted with its key, a change keeps the salt)';
    expect(emptySalt.body.message).toBe(emptySaltMessage);
    const flag = (await api(app).get('/api/flags/input-flag').expect(200)).body;
    const emptied = await api(app).patch('/api/flags/input-flag').send({ version: flag.version, salt: '' }).expect(400);
    expect(emptied.body.message).toBe(emptySaltMessage);

    const missingScopes = await api(app).post('/api/keys').send({ name: 'team' }).expect(400);
    expect(missingScopes.body.message).toBe('scopes is required');

    const badLimit = await api(app).get('/api/alerts?limit=abc').expect(400);
    expect(badLimit.body.message).toBe('limit must be an integer between 1 and 200');
    const badHistoryLimit = await api(app).get('/api/flags/input-flag/history?limit=abc').expect(400);
    expect(badHistoryLimit.body.message).toBe('limit must be an integer between 1 and 200');

    const nested = await api(app)
      .post('/api/flags')
      .send({
        key: 'nested-problems',
        variants: { c: 'gpt-4.1' },
        defaultVariant: 'c',
        rules: [{ name: 'ok', conditions: [{ attribute: 'country', operator: 'like', values: ['SG'] }] }],
      })
      .expect(400);
    expect(nested.body.details).toEqual([
      expect.stringMatching(/^rules\[0\]\.conditions\[0\]\.operator must be one of the following values/),
      'rules[0].serve is required',
    ]);
  });

  it.each([
    [
      'a history cursor beyond any bigint',
      '/api/flags/input-flag/history?before=99999999999999999999',
      'before must be a history id',
    ],
    [
      'a canary events cursor beyond any bigint',
      '/api/canaries/00000000-0000-4000-8000-000000000000/events?after=1e20',
      'after must be an event id',
    ],
    [
      'a NUL in a metrics filter',
      '/api/metrics/summary?variant=%00',
      'query parameter variant must not contain the NUL character',
    ],
    ['a NUL in a flag key', '/api/flags/%00/history', 'the path must not contain the NUL character'],
    [
      'a year Postgres cannot store',
      '/api/metrics/summary?from=-4714-01-01',
      'from (-4714-01-01) must be a time between 1970-01-01 and 9999-12-31',
    ],
    [
      'a query parameter given twice',
      '/api/metrics/summary?flag=a&flag=b',
      'flag must be the key of a flag, given once',
    ],
    [
      'a window bound given twice',
      '/api/metrics/timeseries?from=2026-12-01T00:00:00Z&from=2026-12-02T00:00:00Z',
      'from must be an ISO 8601 time such as 2026-11-24T10:00:00Z, given once',
    ],
    ['an unknown query parameter', '/api/alerts?colour=red', 'colour is not a field of this request; remove it'],
    ['an empty filter', '/api/canaries?flagKey=', 'flagKey must be the key of a flag; leave it out for every flag'],
    [
      'a query parameter on a route that reads none',
      '/api/policies?limit=5',
      'limit is not a field of this request; remove it',
    ],
    [
      'a query parameter on a route with path parameters only',
      '/api/flags/input-flag?v=2',
      'v is not a field of this request; remove it',
    ],
  ])('refuses %s with a 400 saying what to fix', async (_what, path, message) => {
    const response = await api(app).get(path).expect(400);
    expect(response.body.message).toContain(message);
  });

  it.each([
    ['/api/flags/%ZZ', '%ZZ'],
    ['/api/keys/%', '%'],
    ['/api/budgets/%C0%AF', '%C0%AF'],
  ])(
    'refuses a path whose percent-encoding does not decode (%s) with a code, saying how to encode it',
    async (path, segment) => {
      const response = await api(app).get(path).expect(400);
      expect(response.body).toMatchObject({
        statusCode: 400,
        code: 'malformed_path',
        message: `The path segment "${segment}" is not valid percent-encoding: write % as %25, and other characters as the %XX escapes of their UTF-8 bytes`,
      });
      const gateway = await api(app).get(`/v1/models/${segment}`).expect(400);
      expect(gateway.body.error).toMatchObject({ code: 'malformed_path', type: 'invalid_request_error' });
    },
  );

  it('refuses null for a field that may be left out, naming it, and changes nothing', async () => {
    const flagBefore = (await api(app).get('/api/flags/input-flag').expect(200)).body;
    const budget = (
      await api(app)
        .post('/api/budgets')
        .send({ scope: 'policy', target: 'chat', period: 'day', limitUsd: 5, onExhausted: 'reject' })
        .expect(201)
    ).body;
    await api(app)
      .post('/api/outcome-metrics')
      .send({ key: 'null_checked', type: 'binary', direction: 'higher_is_better', unit: 'request' })
      .expect(201);
    const cases: Array<[string, string, Record<string, unknown>, string]> = [
      ['PATCH', '/api/flags/input-flag', { version: flagBefore.version, enabled: null }, 'enabled'],
      ['PATCH', '/api/flags/input-flag', { version: flagBefore.version, description: null }, 'description'],
      ['PATCH', '/api/flags/input-flag', { version: flagBefore.version, salt: null }, 'salt'],
      ['PATCH', '/api/flags/input-flag', { version: flagBefore.version, rollout: null }, 'rollout'],
      ['PATCH', '/api/flags/input-flag', { version: flagBefore.version, variants: null }, 'variants'],
      ['PATCH', '/api/flags/input-flag', { version: flagBefore.version, defaultVariant: null }, 'defaultVariant'],
      ['POST', '/api/flags/input-flag/kill', { version: null }, 'version'],
      ['PATCH', `/api/budgets/${budget.id}`, { limitUsd: null }, 'limitUsd'],
      ['PATCH', `/api/budgets/${budget.id}`, { onExhausted: null }, 'onExhausted'],
      ['PATCH', `/api/budgets/${budget.id}`, { alertAt: null }, 'alertAt'],
      [
        'POST',
        '/api/budgets',
        { scope: 'policy', target: 'fraud', period: 'day', limitUsd: 5, onExhausted: 'reject', alertAt: null },
        'alertAt',
      ],
      ['PATCH', '/api/outcome-metrics/null_checked', { version: 1, description: null }, 'description'],
      ['PATCH', '/api/outcome-metrics/null_checked', { version: 1, direction: null }, 'direction'],
      [
        'PATCH',
        '/api/outcome-metrics/null_checked',
        { version: 1, attributionWindowSeconds: null },
        'attributionWindowSeconds',
      ],
    ];
    for (const [method, path, body, field] of cases) {
      const response = await send(method, path, JSON.stringify(body));
      expect([method, path, field, response.status, JSON.parse(response.text).message]).toEqual([
        method,
        path,
        field,
        400,
        expect.stringContaining(`${field} must not be null`),
      ]);
    }
    const flagAfter = (await api(app).get('/api/flags/input-flag').expect(200)).body;
    expect(flagAfter).toEqual(flagBefore);
    const budgetAfter = (await api(app).get(`/api/budgets/${budget.id}`).expect(200)).body;
    expect(budgetAfter).toMatchObject({
      limitUsd: budget.limitUsd,
      alertAt: budget.alertAt,
      updatedAt: budget.updatedAt,
    });
    // A type or unit that is no type or unit says what the choices are, not "[object Object]".
    const unit = await send(
      'PATCH',
      '/api/outcome-metrics/null_checked',
      JSON.stringify({ version: 1, unit: { a: 1 } }),
    );
    expect([unit.status, JSON.parse(unit.text).message]).toEqual([400, 'unit must be one of: request, user']);
  });

  it('refuses a body with fields on every route that takes none, naming each field, and changes nothing', async () => {
    const key = (
      await api(app)
        .post('/api/keys')
        .send({ name: 'bodyless', scopes: ['read'] })
        .expect(201)
    ).body;
    const cases: Array<[string, string, string, string]> = [
      [
        'DELETE',
        `/api/keys/${key.id}`,
        '{"reason":"leaked","force":true}',
        'reason is not a field of this request; remove it; force is not a field of this request; remove it',
      ],
      ['POST', '/api/catalog/reload', '{"dryRun":true}', 'dryRun is not a field of this request; remove it'],
      // A filter sent in a GET's body instead of its query would answer for every policy.
      ['GET', '/api/metrics/summary', '{"policy":"chat"}', 'policy is not a field of this request; remove it'],
      ['GET', `/api/keys/${key.id}`, '["x"]', 'this request takes no body; send none, or {}'],
    ];
    for (const [method, path, body, message] of cases) {
      const response = await send(method, path, body);
      expect([method, path, response.status, JSON.parse(response.text)]).toEqual([
        method,
        path,
        400,
        expect.objectContaining({ code: 'validation_failed', message }),
      ]);
    }
    expect((await api(app).get(`/api/keys/${key.id}`).expect(200)).body.revokedAt).toBeNull();

    // None, or {}, is no option: the route does what it does.
    expect((await send('GET', '/api/metrics/summary', '{}')).status).toBe(200);
    expect((await send('DELETE', `/api/keys/${key.id}`, '{}')).status).toBe(200);
  });

  it('refuses a name every JavaScript object has (constructor, __proto__) instead of dropping it', async () => {
    const cases: Array<[string, string, string, string]> = [
      [
        'POST',
        '/api/flags',
        '{"key":"proto-a","variants":{"c":"gpt-4.1","constructor":"deepseek-v3.2"},"defaultVariant":"c"}',
        'variants: "constructor" is reserved',
      ],
      [
        'POST',
        '/api/flags',
        '{"key":"proto-b","variants":{"c":"gpt-4.1","__proto__":"deepseek-v3.2"},"defaultVariant":"c"}',
        'variants: "__proto__" is reserved',
      ],
      ['PUT', '/api/flags/input-flag/rollout', '{"version":1,"rollout":{"constructor":10}}', 'rollout: "constructor"'],
      ['POST', '/api/flags/input-flag/evaluate', '{"attributes":{"constructor":"x"}}', 'attributes: "constructor"'],
    ];
    for (const [method, path, body, message] of cases) {
      const response = await send(method, path, body);
      expect([path, response.status, JSON.parse(response.text)]).toEqual([
        path,
        400,
        expect.objectContaining({ code: 'reserved_field_name', message: expect.stringContaining(message) }),
      ]);
    }
    // As a value it names no variant of the flag: refused, not stored with a default that is not there.
    const asDefault = await send(
      'POST',
      '/api/flags',
      '{"key":"proto-c","variants":{"c":"gpt-4.1"},"defaultVariant":"constructor"}',
    );
    expect([asDefault.status, JSON.parse(asDefault.text).message]).toEqual([
      400,
      expect.stringContaining('defaultVariant "constructor" is not in variants (c)'),
    ]);
    const ruleServing = await send(
      'POST',
      '/api/flags',
      '{"key":"proto-d","variants":{"c":"gpt-4.1"},"defaultVariant":"c","rules":[{"name":"r","conditions":[{"attribute":"a","operator":"in","values":["x"]}],"serve":{"variant":"constructor"}}]}',
    );
    expect(ruleServing.status).toBe(400);
    await api(app).get('/api/flags/proto-c').expect(404);
  });

  it('refuses a name too long by its length, and echoes at most its start, never the whole of it', async () => {
    const long = 'a'.repeat(65);
    const variant = await api(app)
      .post('/api/flags')
      .send({ key: 'long-variant', variants: { c: 'gpt-4.1', [long]: 'gpt-4.1' }, defaultVariant: 'c' })
      .expect(400);
    expect(variant.body.message).toBe(
      `variants.${long.slice(0, 64)}…: a variant name must be a lower-case slug (a-z, 0-9, - and _) of at most 64 characters`,
    );
    const huge = 'x'.repeat(100_000);
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['/api/flags', { key: 'huge-variant', variants: { [huge]: 'gpt-4.1' }, defaultVariant: huge }, 'variants.xxx'],
      ['/api/flags', { key: 'huge-default', variants: { c: 'gpt-4.1' }, defaultVariant: huge }, 'defaultVariant'],
      ['/api/canaries', { flagKey: huge, variant: 'treatment' }, 'flagKey must be the key of a flag'],
      ['/api/canaries', { flagKey: 'input-flag', variant: huge }, 'variant'],
      ['/api/canaries/preview', { flagKey: huge, variant: 'treatment' }, 'flagKey must be the key of a flag'],
      ['/api/flags', { key: 'huge-model', variants: { c: huge }, defaultVariant: 'c' }, 'variants.c: unknown model'],
      [
        '/api/flags',
        { key: 'huge-model-object', variants: { c: { model: huge } }, defaultVariant: 'c' },
        'variants.c.model: unknown model',
      ],
      ['/api/canaries', { flagKey: 'input-flag', variant: 'treatment', analysis: { alpha: huge } }, 'analysis.alpha'],
      [
        '/api/canaries/preview',
        { flagKey: 'input-flag', variant: 'treatment', analysis: { minRequests: huge } },
        'analysis.minRequests',
      ],
    ];
    for (const [path, body, start] of cases) {
      const response = await api(app).post(path).send(body).expect(400);
      expect([path, response.body.message.slice(0, start.length), response.text.length < 2_000]).toEqual([
        path,
        start,
        true,
      ]);
    }
    const reference = await api(app)
      .get('/api/metrics/cost')
      .query({ referenceModel: 'x'.repeat(10_000) })
      .expect(400);
    expect([reference.body.code, reference.text.length < 2_000]).toEqual(['unknown_reference_model', true]);
    // Path segments too, up to what a URL can carry: a 10 KB flag key or action is named by its start.
    const long10k = 'k'.repeat(10_000);
    const paths: Array<[string, string, number, string]> = [
      ['GET', `/api/flags/${long10k}`, 404, 'flag_not_found'],
      ['GET', `/api/flags/${long10k}/history`, 404, 'flag_not_found'],
      ['POST', `/api/canaries/00000000-0000-4000-8000-000000000000/${long10k}`, 400, 'canary_action_unknown'],
    ];
    for (const [method, path, status, code] of paths) {
      const response = method === 'GET' ? await api(app).get(path) : await api(app).post(path).send({});
      expect([path.slice(0, 40), response.status, response.body.code, response.text.length < 2_000]).toEqual([
        path.slice(0, 40),
        status,
        code,
        true,
      ]);
    }
    const ofrep = await api(app).post(`/ofrep/v1/evaluate/flags/${long10k}`).send({ context: {} }).expect(404);
    expect([ofrep.body.errorCode, ofrep.body.errorDetails.length < 200]).toEqual(['FLAG_NOT_FOUND', true]);
  });

  it('refuses a body that names a field twice, naming it and where, instead of keeping the last', async () => {
    const cases: Array<[string, string, string, string]> = [
      [
        'POST',
        '/api/flags',
        '{"key":"twice-a","variants":{"c":"gpt-4.1","c":"deepseek-v3.2"},"defaultVariant":"c"}',
        'variants: the field "c" is given twice',
      ],
      [
        'POST',
        '/api/flags',
        '{"key":"twice-b","key":"twice-c","variants":{"c":"gpt-4.1"},"defaultVariant":"c"}',
        '(root): the field "key" is given twice',
      ],
      // The same name spelled with an escape is the same field.
      [
        'PUT',
        '/api/flags/input-flag/rollout',
        '{"version":1,"rollout":{"treatment":5,"tre\\u0061tment":50}}',
        'rollout',
      ],
      [
        'POST',
        '/api/flags',
        '{"key":"twice-d","variants":{"c":"gpt-4.1"},"defaultVariant":"c","rules":[{"name":"r","conditions":[{"attribute":"a","operator":"in","values":["x"]}],"serve":{"variant":"c","variant":"c"}}]}',
        'rules[0].serve: the field "variant" is given twice',
      ],
    ];
    for (const [method, path, body, message] of cases) {
      const response = await send(method, path, body);
      expect([path, response.status, JSON.parse(response.text)]).toEqual([
        path,
        400,
        expect.objectContaining({ code: 'duplicate_field', message: expect.stringContaining(message) }),
      ]);
    }
    for (const key of ['twice-a', 'twice-b', 'twice-c', 'twice-d']) await api(app).get(`/api/flags/${key}`).expect(404);
    expect((await api(app).get('/api/flags/input-flag').expect(200)).body.rollout).toEqual({});
    // Equal names in different objects, and equal strings as values, are no duplicates.
    await send(
      'POST',
      '/api/flags',
      '{"key":"once-each","variants":{"c":"gpt-4.1","t":{"model":"gpt-4.1"}},"defaultVariant":"c","rollout":{"t":5}}',
    ).then((response) => expect(response.status).toBe(201));
    // The OpenAI-shaped answer on /v1/outcomes.
    const outcome = await send('POST', '/v1/outcomes', '{"metric":"m","value":true,"value":false}');
    expect([outcome.status, JSON.parse(outcome.text).error]).toEqual([
      400,
      expect.objectContaining({ code: 'duplicate_field', message: expect.stringContaining('"value" is given twice') }),
    ]);
  });

  it('refuses a body that is not JSON in UTF-8 with 415 saying so, instead of calling every field missing', async () => {
    const body = '{"name":"ct","scopes":["read"]}';
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/vnd.api+json']) {
      const response = await send('POST', '/api/keys', body, { 'content-type': type });
      expect([type, response.status, JSON.parse(response.text)]).toEqual([
        type,
        415,
        expect.objectContaining({ code: 'unsupported_content_type', message: expect.stringContaining(type) }),
      ]);
    }
    const latin1 = await send('POST', '/api/keys', body, { 'content-type': 'application/json; charset=latin1' });
    expect([latin1.status, JSON.parse(latin1.text).code]).toEqual([415, 'unsupported_content_type']);
    // No body, no type needed (the kill switch in an emergency).
    const kill = await rawRequest(app.url, {
      method: 'POST',
      path: '/api/flags/input-flag/kill',
      headers: { authorization: `Bearer ${app.adminKey}` },
    });
    expect(kill.status).toBe(200);
    await send('POST', '/api/flags/input-flag/enable', '{}').then((response) => expect(response.status).toBe(200));
  });

  it("holds a reason in the header to the body field's bound, rule values to 500 characters, a user id to one", async () => {
    const longReason = await api(app)
      .post('/api/flags/input-flag/kill')
      .set('x-change-reason', 'r'.repeat(2001))
      .send({})
      .expect(400);
    expect(longReason.body.message).toBe('x-change-reason must be at most 2000 characters');
    const longValue = await api(app)
      .post('/api/flags')
      .send({
        key: 'long-values',
        variants: { c: 'gpt-4.1' },
        defaultVariant: 'c',
        rules: [
          {
            name: 'r',
            conditions: [{ attribute: 'a', operator: 'in', values: ['v'.repeat(501)] }],
            serve: { variant: 'c' },
          },
        ],
      })
      .expect(400);
    expect(longValue.body.message).toBe('rules[0].conditions[0].values must each be at most 500 characters');
    const emptyUser = await api(app).post('/api/flags/input-flag/evaluate').send({ userId: '' }).expect(400);
    expect(emptyUser.body.message).toBe('userId must not be empty; leave it out for an unsticky evaluation');
  });

  it('refuses a NUL inside a body and lists longer than 1 000 items, naming where', async () => {
    const nul = await api(app).post('/api/flags/input-flag/kill').send({ reason: 'a\u0000b' }).expect(400);
    expect(nul.body).toMatchObject({ code: 'nul_character', message: expect.stringContaining('body field reason') });
    const many = await api(app)
      .post('/api/keys')
      .send({ name: 'many', scopes: Array.from({ length: 5_000 }, () => 'read') })
      .expect(400);
    expect(many.body).toMatchObject({
      code: 'too_many_items',
      message: expect.stringMatching(/^scopes has 5000 items/),
    });
  });

  it('refuses a body with more objects or values in all than validation handles quickly, lists within lists too', async () => {
    const flag = (key: string, rules: unknown[]) => ({
      key,
      variants: { c: 'gpt-4.1', t: 'deepseek-v3.2' },
      defaultVariant: 'c',
      rules,
    });
    const rule = (name: string, conditions: number, values: number) => ({
      name,
      conditions: Array.from({ length: conditions }, (_, c) => ({
        attribute: `a${c}`,
        operator: 'in',
        values: Array.from({ length: values }, (_, v) => `v${v}`),
      })),
      serve: { variant: 't' },
    });
    // Each list is within its 1 000 items; together 100 rules of 5 conditions are 700 objects.
    const objects = await api(app)
      .post('/api/flags')
      .send(
        flag(
          'many-objects',
          Array.from({ length: 100 }, (_, r) => rule(`r${r}`, 5, 1)),
        ),
      )
      .expect(400);
    expect(objects.body).toMatchObject({
      code: 'too_many_values',
      message:
        'The request body has more than 500 objects in all; this endpoint takes at most 500 (rules and their conditions, say, together)',
    });
    const values = await api(app)
      .post('/api/flags')
      .send(flag('many-values', [rule('countries', 25, 1_000)]))
      .expect(400);
    expect(values.body).toMatchObject({
      code: 'too_many_values',
      message: 'The request body has more than 20,000 values in all; this endpoint takes at most 20,000',
    });
    // 50 rules of 5 conditions with 10 values each: a large flag, taken.
    await api(app)
      .post('/api/flags')
      .send(
        flag(
          'large-flag',
          Array.from({ length: 50 }, (_, r) => rule(`r${r}`, 5, 10)),
        ),
      )
      .expect(201);
  });

  it('refuses a percentage or amount JavaScript prints in exponent form as too precise or too large, not with a 500', async () => {
    const stage = (percentage: number) => ({
      flagKey: 'input-flag',
      variant: 'treatment',
      stages: [
        { percentage, durationSeconds: 60 },
        { percentage: 100, durationSeconds: 0 },
      ],
      start: false,
    });
    for (const path of ['/api/canaries', '/api/canaries/preview']) {
      for (const percentage of [1e-320, 1e-7]) {
        const response = await api(app).post(path).send(stage(percentage));
        expect([path, percentage, response.status, response.body.message]).toEqual([
          path,
          percentage,
          400,
          'stages[0].percentage must be a number with at most 2 decimals',
        ]);
      }
      const huge = await api(app).post(path).send(stage(1e21));
      expect([path, huge.status, huge.body.message]).toEqual([path, 400, 'stages[0].percentage must be at most 100']);
    }
    const spend = await api(app)
      .post('/api/canaries/preview')
      .send({
        flagKey: 'input-flag',
        variant: 'treatment',
        shadow: { percentage: 10, durationSeconds: 60, maxSpendUsd: 1e-7, maxConcurrency: 1 },
      });
    expect([spend.status, spend.body.message]).toEqual([400, 'shadow.maxSpendUsd must be a number of dollars']);
  });

  it('refuses a canary action named like a property every object has, as an unknown action', async () => {
    // The default catalog's chat policy routes by chat-model, so a canary may run on it.
    await api(app)
      .post('/api/flags')
      .send({
        key: 'chat-model',
        variants: { control: 'gpt-4.1', treatment: 'deepseek-v3.2' },
        defaultVariant: 'control',
      })
      .expect(201);
    const { id } = (
      await api(app)
        .post('/api/canaries')
        .send({ flagKey: 'chat-model', variant: 'treatment', start: false })
        .expect(201)
    ).body;
    for (const action of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
      const response = await api(app).post(`/api/canaries/${id}/${action}`).send({});
      expect([action, response.status, response.body.code, response.body.message]).toEqual([
        action,
        400,
        'canary_action_unknown',
        `unknown action "${action}"; one of: start, pause, resume, promote, abort, rollback`,
      ]);
    }
    expect((await api(app).get(`/api/canaries/${id}`).expect(200)).body.state).toBe('pending');
  });

  it('refuses a description of whitespace alone, created or changed, and changes nothing; "" clears one', async () => {
    const blank = 'description must contain text, not only whitespace; send "" for none';
    const flag = (await api(app).get('/api/flags/input-flag').expect(200)).body;
    await api(app)
      .post('/api/outcome-metrics')
      .send({ key: 'described', type: 'binary', direction: 'higher_is_better', unit: 'request', description: 'Kept' })
      .expect(201);
    const metric = { key: 'blank_described', type: 'binary', direction: 'higher_is_better', unit: 'request' };
    const cases: Array<[string, string, Record<string, unknown>]> = [
      [
        'POST',
        '/api/flags',
        { key: 'blank-described', variants: { c: 'gpt-4.1' }, defaultVariant: 'c', description: '   ' },
      ],
      ['PATCH', '/api/flags/input-flag', { version: flag.version, description: '\t' }],
      ['POST', '/api/outcome-metrics', { ...metric, description: ' \n ' }],
      ['PATCH', '/api/outcome-metrics/described', { version: 1, description: '\u00a0' }],
    ];
    for (const [method, path, body] of cases) {
      const response = await send(method, path, JSON.stringify(body));
      expect([method, path, JSON.parse(response.text)]).toEqual([
        method,
        path,
        {
          statusCode: 400,
          error: 'Bad Request',
          code: 'validation_failed',
          message: blank,
          requestId: response.headers['x-switchyard-request-id'],
        },
      ]);
    }
    await api(app).get('/api/flags/blank-described').expect(404);
    await api(app).get('/api/outcome-metrics/blank_described').expect(404);
    expect((await api(app).get('/api/flags/input-flag').expect(200)).body).toEqual(flag);
    expect((await api(app).get('/api/outcome-metrics/described').expect(200)).body).toMatchObject({
      version: 1,
      description: 'Kept',
    });

    // Text is stored as written, spaces and all; "" is how a change clears a description.
    const spaced = await api(app)
      .patch('/api/flags/input-flag')
      .send({ version: flag.version, description: '  Recommendations, on DeepSeek ' })
      .expect(200);
    expect(spaced.body.description).toBe('  Recommendations, on DeepSeek ');
    const cleared = await api(app)
      .patch('/api/outcome-metrics/described')
      .send({ version: 1, description: '' })
      .expect(200);
    expect(cleared.body).toMatchObject({ version: 2, description: '' });
  });
});
