import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { EmbeddedPostgresServer } from '../src/database/embedded-postgres';
import { DATABASE_RETRY_AFTER_SECONDS } from '../src/common/database-unavailable';
import { freePort } from './support/free-port';
import {
  exampleBodyOf,
  exampleOfParameter,
  operationsOf,
  responseExamplesOf,
  type OpenApiDocument,
} from './support/openapi';
import { api, policiesFor, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';

/**
 * An operator on a bad day: Postgres stops under a running app. Every route that documents the
 * database_unavailable 503 (everything that reads or writes the database) answers it with
 * Retry-After and a message that says the database is unavailable and when to retry, never a bare
 * 500; every other route (completions, flag evaluation, the model list, Prometheus) keeps answering
 * its documented success from memory.
 * The routes come from the live OpenAPI document, so a new route is held to this as well.
 */
describe('database unavailable: 503 with Retry-After on every operator route, the rest served from memory', () => {
  let server: EmbeddedPostgresServer;
  let app: TestApp;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'switchyard-db-down-'));
    await chmod(dataDir, 0o755);
    server = new EmbeddedPostgresServer({ dataDir, port: await freePort() });
    // Closing with the database still down: the metrics writer tries to flush its rows for a second, not 13.
    app = await startTestApp({
      databaseUrl: await server.start(),
      catalog: await writeTestCatalog(policiesFor('down-flag')),
      env: { SHUTDOWN_TIMEOUT_MS: '3000' },
    });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('answers each documented route as documented while Postgres is stopped', async () => {
    const spec = (await request(app.url).get('/docs-json').expect(200)).body as OpenApiDocument;
    const operations = operationsOf(spec);
    // Resources for path parameters, made while the database is up.
    await api(app)
      .post('/api/flags')
      .send({
        key: 'down-flag',
        variants: { control: 'gpt-4.1', treatment: 'deepseek-v3.2' },
        defaultVariant: 'control',
      })
      .expect(201);
    await api(app).post('/api/canaries').send({ flagKey: 'down-flag', variant: 'treatment' }).expect(201);
    await api(app)
      .post('/api/keys')
      .send({ name: 'down-team', scopes: ['read'] })
      .expect(201);
    // The metric POST /v1/outcomes's examples report: events keep being accepted while Postgres is down.
    await api(app)
      .post('/api/outcome-metrics')
      .send({ key: 'checkout_converted', type: 'binary', direction: 'higher_is_better', unit: 'user' })
      .expect(201);
    const firstOf = new Map<string, Record<string, unknown>>();
    for (const operation of operations.filter((op) => op.method === 'GET' && !op.path.includes('{'))) {
      const listed = (await api(app).get(operation.path)).body as unknown;
      const items = Array.isArray(listed) ? listed : (listed as { items?: unknown[] })?.items;
      if (items?.[0]) firstOf.set(operation.path, items[0] as Record<string, unknown>);
    }

    await server.stop();

    const problems: string[] = [];
    for (const operation of operations) {
      const path = operation.path.replace(/\{(\w+)\}/g, (_, name: string) => {
        const collection = operation.path.slice(0, operation.path.indexOf(`{${name}}`) - 1);
        const parameter = operation.parameters?.find((p) => p.in === 'path' && p.name === name);
        return encodeURIComponent(String(firstOf.get(collection)?.[name] ?? exampleOfParameter(spec, parameter!)));
      });
      const call = api(app)[operation.method.toLowerCase() as 'get'](path);
      const body = exampleBodyOf(spec, operation);
      const response = await (body === undefined ? call : call.send(body as object));
      const success = Object.keys(operation.responses).find((status) => /^2/.test(status));
      const where = `${operation.method} ${path} answered ${response.status}: ${response.text.slice(0, 300)}`;
      const needsDatabase = responseExamplesOf(operation, '503').some(
        (example) => (example as { code?: unknown }).code === 'database_unavailable',
      );
      if (needsDatabase) {
        if (response.status !== 503) problems.push(`${where} (expected 503)`);
        else if (response.headers['retry-after'] !== String(DATABASE_RETRY_AFTER_SECONDS))
          problems.push(`${where}: Retry-After`);
        else if (response.body.code !== 'database_unavailable') problems.push(`${where}: code`);
        else if (!/database is unavailable.*retry in \d+ s/i.test(response.body.message))
          problems.push(`${where}: message`);
      } else if (String(response.status) !== success && !(response.status === 503 && '503' in operation.responses)) {
        // Served from memory; a route whose own 503 means something else (readiness) may answer it.
        problems.push(`${where} (expected ${success}, from memory)`);
      }
    }
    expect(problems).toEqual([]);
    const routesNeedingDatabase = operations.filter((op) =>
      responseExamplesOf(op, '503').some((example) => (example as { code?: unknown }).code === 'database_unavailable'),
    );
    expect(routesNeedingDatabase.length).toBeGreaterThan(15);
  });
});
