import OpenAI from 'openai';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../src/database/data-source-options';
import { MIGRATIONS } from '../src/database/migrations';
import { createTestDatabase, queryRows } from './support/test-database';
import { startTestApp, type TestApp } from './support/test-app';

describe('platform: the service boots on a real Postgres with its schema, docs and health', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    gateway = await startTestApp({ databaseUrl: database.url });
  });

  afterAll(async () => {
    await gateway?.close();
    await database?.drop();
  });

  it('applies every migration at start-up', async () => {
    const rows = await queryRows<{ name: string }>(database.url, 'SELECT name FROM migrations ORDER BY id');
    expect(rows.map((row) => row.name)).toEqual(MIGRATIONS.map((migration) => (migration as { name: string }).name));
  });

  it('leaves no difference between the migrated schema and the entities', async () => {
    const dataSource = await new DataSource(buildDataSourceOptions(database.url, 1)).initialize();
    try {
      const pending = await dataSource.driver.createSchemaBuilder().log();
      // On failure: the entities changed without a migration (npm run migration:generate).
      expect(pending.upQueries.map((query) => query.query)).toEqual([]);
    } finally {
      await dataSource.destroy();
    }
  });

  it('is live', async () => {
    const response = await request(gateway.url).get('/health/live').expect(200);
    expect(response.body.status).toBe('ok');
  });

  it('is ready when the database and every provider answer', async () => {
    const response = await request(gateway.url).get('/health/ready').expect(200);
    expect(response.body.status).toBe('ok');
    expect(response.body.info).toMatchObject({ database: { status: 'up' }, 'provider:simulated': { status: 'up' } });
  });

  it('serves Swagger UI at /docs and the spec at /docs-json, identical to the committed docs/openapi.json', async () => {
    const ui = await request(gateway.url).get('/docs').redirects(1).expect(200);
    expect(ui.text).toContain('swagger-ui');
    const spec = await request(gateway.url).get('/docs-json').expect(200);
    expect(spec.body.paths['/health/ready']).toBeDefined();
    const committed = JSON.parse(readFileSync('docs/openapi.json', 'utf8'));
    // On failure: run `npm run openapi` and commit docs/openapi.json with the API change.
    expect(spec.body).toEqual(committed);
  });

  it('gives no field of a PATCH body a default: leaving one out keeps what is stored', async () => {
    const spec = (await request(gateway.url).get('/docs-json').expect(200)).body;
    const schemaOf = (ref: string) => spec.components.schemas[ref.replace('#/components/schemas/', '')];
    const defaults: string[] = [];
    const patched: string[] = [];
    for (const [path, operations] of Object.entries<Record<string, any>>(spec.paths)) {
      const body = operations.patch?.requestBody?.content?.['application/json']?.schema;
      if (!body) continue;
      const schema = body.$ref ? schemaOf(body.$ref) : body;
      patched.push(path);
      for (const [name, property] of Object.entries<Record<string, unknown>>(schema.properties ?? {}))
        if ('default' in property)
          defaults.push(`PATCH ${path}: ${name} defaults to ${JSON.stringify(property.default)}`);
    }
    expect(patched).toEqual(['/api/flags/{key}', '/api/budgets/{id}', '/api/outcome-metrics/{key}']);
    expect(defaults).toEqual([]);
    // The create bodies keep theirs: there, leaving a field out does give the default.
    expect(spec.components.schemas.CreateFlagDto.properties.enabled.default).toBe(true);
  });

  it('sends the bare URL to the control room', async () => {
    const response = await request(gateway.url).get('/').expect(302);
    expect(response.headers.location).toBe('/ui');
  });

  it('answers an unknown operator route with the operator error shape and a request id', async () => {
    const response = await request(gateway.url).get('/api/nothing-here').expect(404);
    const requestId = response.headers['x-switchyard-request-id'];
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      code: 'unknown_route',
      message: 'No route GET /api/nothing-here. The API is described at /docs (its OpenAPI document at /docs-json).',
      requestId,
    });
  });

  it('answers a route asked with a method it does not take with 405 and Allow', async () => {
    const operator = await request(gateway.url).delete('/health/live').expect(405);
    expect(operator.headers.allow).toBe('GET');
    expect(operator.body).toMatchObject({
      code: 'method_not_allowed',
      message: '/health/live does not take DELETE; it takes GET.',
    });
    const models = await request(gateway.url).post('/v1/models/gpt-4.1?x=1').expect(405);
    expect(models.headers.allow).toBe('GET');
    expect(models.body).toEqual({
      error: {
        message: '/v1/models/gpt-4.1 does not take POST; it takes GET.',
        type: 'invalid_request_error',
        code: 'method_not_allowed',
        param: null,
      },
    });
    const completions = await request(gateway.url).get('/v1/chat/completions').expect(405);
    expect(completions.headers.allow).toBe('POST');
  });

  it('keeps a caller-supplied x-request-id', async () => {
    const response = await request(gateway.url).get('/health/live').set('x-request-id', 'caller-42').expect(200);
    expect(response.headers['x-switchyard-request-id']).toBe('caller-42');
  });

  it('refuses a body over REQUEST_BODY_LIMIT (4mb by default) with 413', async () => {
    const prompt = 'x'.repeat(5 * 1024 * 1024);
    const response = await request(gateway.url)
      .post('/api/anything')
      .set('content-type', 'application/json')
      .send(JSON.stringify({ prompt }))
      .expect(413);
    expect(response.body.message).toBe('The request body is larger than 4mb (REQUEST_BODY_LIMIT).');
  });

  it('refuses malformed JSON with 400', async () => {
    const response = await request(gateway.url)
      .post('/api/anything')
      .set('content-type', 'application/json')
      .send('{"model": ')
      .expect(400);
    expect(response.body.statusCode).toBe(400);
  });

  it('answers an unknown /v1 route in the OpenAI error shape, naming the routes /v1 has', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.adminKey, maxRetries: 0 });
    const refused = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hi' }).catch((e) => e);
    expect(refused).toBeInstanceOf(OpenAI.NotFoundError);
    expect(refused.error).toEqual({
      message:
        'Switchyard serves no POST /v1/embeddings. Its OpenAI-compatible routes are POST /v1/chat/completions, ' +
        'GET /v1/models, GET /v1/models/{model}, POST /v1/outcomes; the operator API is under /api, described at /docs.',
      type: 'invalid_request_error',
      code: 'unknown_route',
      param: null,
    });
    // A base URL that ends in a slash doubles it: still an OpenAI client, still its error shape.
    const doubled = await request(gateway.url)
      .post('//v1/chat/completions')
      .set('authorization', `Bearer ${gateway.adminKey}`)
      .send({})
      .expect(404);
    expect(doubled.body.error).toMatchObject({ type: 'invalid_request_error', code: 'unknown_route' });
  });
});
