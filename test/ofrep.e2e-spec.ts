import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature } from '@openfeature/server-sdk';
import request from 'supertest';
import { api, policiesFor, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { createTestDatabase } from './support/test-database';

/*
 * OFREP through the official OpenFeature server SDK and its OFREP provider, against the running app
 * with a gateway-scope key: every user id gets the variant /api/flags/:key/evaluate gives it.
 */
describe('OFREP: Switchyard flags read with the standard OpenFeature provider', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  let gatewayKey: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ databaseUrl: database.url, catalog: await writeTestCatalog(policiesFor('ofrep-flag')) });
    gatewayKey = (
      await api(app)
        .post('/api/keys')
        .send({ name: 'shop', scopes: ['gateway'] })
        .expect(201)
    ).body.key;
    await api(app)
      .post('/api/flags')
      .send({
        key: 'ofrep-flag',
        variants: { control: 'deepseek-v3.2', treatment: 'gemini-2.5-flash', premium: 'gpt-4.1' },
        defaultVariant: 'control',
        rollout: { treatment: 30 },
        rules: [
          {
            name: 'enterprise',
            conditions: [{ attribute: 'tier', operator: 'equals', values: ['enterprise'] }],
            serve: { variant: 'premium' },
          },
        ],
      })
      .expect(201);
  });
  afterAll(async () => {
    await OpenFeature.close();
    await app?.close();
    await database?.drop();
  });

  it('gives 1 000 users through the OFREP provider the same variant as /api/flags/:key/evaluate', async () => {
    await OpenFeature.setProviderAndWait(
      new OFREPProvider({ baseUrl: app.url, headers: { Authorization: `Bearer ${gatewayKey}` } }),
    );
    const client = OpenFeature.getClient();
    const mismatches: string[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const userId = `ofrep-user-${i}`;
      const attributes: Record<string, string> = i % 10 === 0 ? { tier: 'enterprise' } : {};
      const details = await client.getStringDetails('ofrep-flag', 'none', { targetingKey: userId, ...attributes });
      const expected = (await api(app).post('/api/flags/ofrep-flag/evaluate').send({ userId, attributes }).expect(200))
        .body;
      seen.add(details.value);
      if (details.value !== expected.variant || details.variant !== expected.variant || details.errorCode)
        mismatches.push(`${userId}: ofrep ${details.value} (${details.errorCode ?? 'ok'}) vs ${expected.variant}`);
      if (i === 0) expect(details).toMatchObject({ reason: 'TARGETING_MATCH', flagMetadata: { model: 'gpt-4.1' } });
    }
    expect(mismatches).toEqual([]);
    expect([...seen].sort()).toEqual(['control', 'premium', 'treatment']);
    const missing = await client.getStringDetails('no-such-flag', 'fallback', { targetingKey: 'u' });
    expect(missing).toMatchObject({ value: 'fallback', errorCode: 'FLAG_NOT_FOUND' });
  }, 120_000);

  it('answers OFREP shapes: bulk with an ETag, 404 and 400 as OFREP errors, 401 without a key', async () => {
    const ofrep = (path: string, key: string | null = gatewayKey) => {
      const call = request(app.url).post(`/ofrep/v1/evaluate/flags${path}`);
      return key ? call.set('authorization', `Bearer ${key}`) : call;
    };
    const bulk = await ofrep('')
      .send({ context: { targetingKey: 'ofrep-user-7' } })
      .expect(200);
    const expected = (
      await api(app).post('/api/flags/ofrep-flag/evaluate').send({ userId: 'ofrep-user-7' }).expect(200)
    ).body;
    expect(bulk.body.flags).toEqual([
      expect.objectContaining({ key: 'ofrep-flag', value: expected.variant, variant: expected.variant }),
    ]);
    const etag = bulk.headers.etag;
    expect(etag).toMatch(/^"[\w-]+"$/);
    await ofrep('')
      .set('if-none-match', etag)
      .send({ context: { targetingKey: 'ofrep-user-7' } })
      .expect(304);
    const notFound = await ofrep('/nope')
      .send({ context: { targetingKey: 'u' } })
      .expect(404);
    expect(notFound.body).toEqual({ key: 'nope', errorCode: 'FLAG_NOT_FOUND', errorDetails: expect.any(String) });
    const invalid = await ofrep('/ofrep-flag')
      .send({ context: { targetingKey: 42 } })
      .expect(400);
    expect(invalid.body).toMatchObject({ key: 'ofrep-flag', errorCode: 'INVALID_CONTEXT' });
    await ofrep('/ofrep-flag', null).send({ context: {} }).expect(401);
  });

  it('refuses a body that is not application/json with 415, instead of evaluating it as no context', async () => {
    for (const path of ['/ofrep-flag', '']) {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1']) {
        const response = await request(app.url)
          .post(`/ofrep/v1/evaluate/flags${path}`)
          .set('authorization', `Bearer ${gatewayKey}`)
          .set('content-type', type)
          .send(JSON.stringify({ context: { targetingKey: 'ofrep-user-7' } }));
        expect([path, type, response.status, response.body]).toEqual([
          path,
          type,
          415,
          expect.objectContaining({
            code: 'unsupported_content_type',
            message: `The request body must be JSON in UTF-8 with Content-Type: application/json (got ${JSON.stringify(type)}).`,
          }),
        ]);
      }
    }
  });

  it('refuses a body that is a list, instead of evaluating it as no context', async () => {
    for (const path of ['/ofrep-flag', '']) {
      for (const body of [[], [{ context: { targetingKey: 'ofrep-user-7' } }]]) {
        const response = await request(app.url)
          .post(`/ofrep/v1/evaluate/flags${path}`)
          .set('authorization', `Bearer ${gatewayKey}`)
          .send(body)
          .expect(400);
        expect(response.body).toMatchObject({
          errorCode: 'INVALID_CONTEXT',
          errorDetails: 'the request body must be an object { "context": { ... } }',
        });
      }
    }
  });
});
