import { writeFile } from 'node:fs/promises';
import request from 'supertest';
import { freePort } from './support/free-port';
import { createTestDatabase } from './support/test-database';
import { api, startTestApp, writeTestCatalog } from './support/test-app';

describe('start-up refuses bad configuration with a message that says what to fix', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  it('names each invalid environment variable and what it expects', async () => {
    const start = startTestApp({
      databaseUrl: database.url,
      env: { PORT: 'eighty', LOG_LEVEL: 'loud', WORKERS: 'all' },
    });
    await expect(start).rejects.toThrow('PORT: PORT must be an integer between 0 and 65535');
    await expect(start).rejects.toThrow(
      'WORKERS: WORKERS must be auto (one gateway process per core) or a number of processes from 1 to 99',
    );
    await expect(start).rejects.toThrow(
      'LOG_LEVEL: LOG_LEVEL must be one of: fatal, error, warn, info, debug, trace, silent',
    );
  });

  it('lists every bad variable in one go, whichever part of the app reads it', async () => {
    const start = startTestApp({
      databaseUrl: database.url,
      env: {
        PORT: 'x',
        WORKERS: '0',
        LOG_LEVEL: 'loud',
        DATABASE_POOL_SIZE: '1',
        GATEWAY_MAX_RETRIES: '11',
        METRICS_REFERENCE_MODEL: 'gpt-9',
        ALERT_MAX_ATTEMPTS: '0',
        GUARDRAIL_ENABLED: 'yes',
        DOCS_PUBLIC: 'yes',
        BUDGET_SYNC_MS: '0',
      },
    });
    await expect(start).rejects.toThrow(
      [
        'Invalid configuration in environment:',
        '  - PORT: PORT must be an integer between 0 and 65535',
        '  - LOG_LEVEL: LOG_LEVEL must be one of: fatal, error, warn, info, debug, trace, silent',
        '  - WORKERS: WORKERS must be auto (one gateway process per core) or a number of processes from 1 to 99',
        '  - DATABASE_POOL_SIZE: DATABASE_POOL_SIZE must be an integer between 6 and 100',
        '  - GATEWAY_MAX_RETRIES: GATEWAY_MAX_RETRIES must be an integer between 0 and 10',
        '  - ALERT_MAX_ATTEMPTS: ALERT_MAX_ATTEMPTS must be an integer between 1 and 100',
        '  - GUARDRAIL_ENABLED: GUARDRAIL_ENABLED must be true or false',
        '  - DOCS_PUBLIC: DOCS_PUBLIC must be true or false',
        '  - BUDGET_SYNC_MS: BUDGET_SYNC_MS must be an integer between 10 and 10000',
        '  - METRICS_REFERENCE_MODEL: "gpt-9" is not a catalog model (catalog models: deepseek-v3.2, gemini-2.5-flash, claude-sonnet-4.5, gpt-4.1)',
      ].join('\n'),
    );
    // The catalog file's problems in a block of their own, in the same answer.
    const catalog = await writeTestCatalog((c) => (c.models[1].provider = 'nowhere'));
    await expect(startTestApp({ databaseUrl: database.url, catalog, env: { PORT: 'x' } })).rejects.toThrow(
      'Invalid configuration in environment:\n  - PORT: PORT must be an integer between 0 and 65535\n' +
        `Invalid configuration in ${catalog.path}:\n  - models[1].provider: unknown provider "nowhere"`,
    );
  });

  it('names bad access settings without quoting the admin key', async () => {
    const start = startTestApp({
      databaseUrl: database.url,
      adminKey: 'short-secret-value',
      env: { DOCS_PUBLIC: 'yes', RATE_LIMIT_SYNC_MS: '0' },
    });
    await expect(start).rejects.toThrow('SWITCHYARD_ADMIN_KEY: SWITCHYARD_ADMIN_KEY must be at least 32 characters');
    await expect(start).rejects.toThrow('DOCS_PUBLIC: DOCS_PUBLIC must be true or false');
    await expect(start).rejects.toThrow(
      'RATE_LIMIT_SYNC_MS: RATE_LIMIT_SYNC_MS must be an integer between 10 and 10000',
    );
    await expect(start).rejects.not.toThrow('short-secret-value');
    await expect(
      startTestApp({ databaseUrl: database.url, env: { CORS_ORIGINS: 'https://ok.example,dashboard.internal' } }),
    ).rejects.toThrow('CORS_ORIGINS: dashboard.internal is not an origin');
  });

  it('rejects a DATABASE_URL that is not a Postgres URL, and a pool too small for its jobs', async () => {
    await expect(startTestApp({ databaseUrl: 'mysql://localhost/db' })).rejects.toThrow(
      'DATABASE_URL: DATABASE_URL must be a postgres:// connection URL',
    );
    // Up to 5 jobs under an advisory lock each hold one connection for the lock while working on another.
    await expect(
      startTestApp({
        databaseUrl: database.url,
        env: { DATABASE_POOL_SIZE: '5', DATABASE_STATEMENT_TIMEOUT_MS: '10' },
      }),
    ).rejects.toThrow(
      /DATABASE_POOL_SIZE must be an integer between 6 and 100[\s\S]*DATABASE_STATEMENT_TIMEOUT_MS must be an integer between 1000 and 3600000/,
    );
  });

  it('rejects a DATABASE_URL that does not parse, without quoting it', async () => {
    for (const url of [
      'postgres://app:secret-password@db.internal:99999/switchyard',
      'postgres://app:secret%password@db.internal:5432/switchyard',
      // A Unix socket as a host parameter: pg reads it, but Switchyard reads the URL too.
      'postgres://app:secret-password@/switchyard?host=/var/run/postgresql',
    ]) {
      const start = startTestApp({ databaseUrl: url });
      await expect(start).rejects.toThrow(
        'DATABASE_URL: DATABASE_URL does not parse as a URL: check its host and port (1-65535), and percent-encode ' +
          'special characters in the user name and password (@ as %40, / as %2F, % as %25)',
      );
      await expect(start).rejects.not.toThrow('secret');
    }
  });

  it('names the path of every bad catalog entry', async () => {
    const catalog = await writeTestCatalog((c) => {
      c.models[1].provider = 'nowhere';
      c.models.push({ ...c.models[0] });
      c.policies[2].defaultModel = 'gpt-9';
    });
    const start = startTestApp({ databaseUrl: database.url, catalog });
    await expect(start).rejects.toThrow('models[1].provider: unknown provider "nowhere"');
    await expect(start).rejects.toThrow('models[4].id: duplicate model "deepseek-v3.2"');
    await expect(start).rejects.toThrow('policies[2].defaultModel: unknown model "gpt-9"');
  });

  it("lists a catalog's every problem at once: its fields', its references', its keys' and its strategies'", async () => {
    const catalog = await writeTestCatalog((c) => {
      c.models[0].tier = 0;
      c.policies[2].defaultModel = 'gpt-9';
      (c.policies[1] as Record<string, unknown>).strategy = 'fastest';
      // Not a strategy name at all: said once, by the field's check, not again as an unknown strategy.
      (c.policies[0] as Record<string, unknown>).strategy = 'Fast!';
      c.providers.push({
        ...c.providers[0],
        id: 'openai',
        baseUrl: 'https://api.openai.com/v1',
        apiKeyEnv: 'OPENAI_KEY_FOR_TEST',
      });
    });
    await expect(startTestApp({ databaseUrl: database.url, catalog })).rejects.toThrow(
      [
        `Invalid configuration in ${catalog.path}:`,
        '  - models[0].tier: tier must be an integer from 1 (weakest) upwards',
        '  - policies[0].strategy: strategy must be a strategy name such as "cost_first"',
        '  - policies[2].defaultModel: unknown model "gpt-9"',
        '  - providers[1].apiKeyEnv: environment variable OPENAI_KEY_FOR_TEST is not set',
        '  - policies[1].strategy: unknown strategy "fastest" (strategies: cost_first, latency_first, quality_first)',
      ].join('\n'),
    );
  });

  it('names a policy whose strategy no class implements, and one that names none', async () => {
    const catalog = await writeTestCatalog((c) => {
      (c.policies[1] as Record<string, unknown>).strategy = 'fastest';
      (c.policies as unknown[]).push({ name: 'search', flag: 'search-model', defaultModel: 'gpt-4.1', fallback: [] });
    });
    await expect(startTestApp({ databaseUrl: database.url, catalog })).rejects.toThrow(
      'policies[3].strategy: required (the strategy class this policy routes by, e.g. "cost_first")',
    );
    const unknown = await writeTestCatalog((c) => ((c.policies[1] as Record<string, unknown>).strategy = 'fastest'));
    await expect(startTestApp({ databaseUrl: database.url, catalog: unknown })).rejects.toThrow(
      'policies[1].strategy: unknown strategy "fastest" (strategies: cost_first, latency_first, quality_first)',
    );
  });

  it('says when the catalog file is missing or is not JSON', async () => {
    await expect(
      startTestApp({ databaseUrl: database.url, catalog: { path: '/nonexistent/catalog.json', simulatorPort: 0 } }),
    ).rejects.toThrow('cannot read catalog file /nonexistent/catalog.json (ENOENT)');
    const catalog = await writeTestCatalog();
    await writeFile(catalog.path, '{ "providers": [');
    await expect(startTestApp({ databaseUrl: database.url, catalog })).rejects.toThrow('not valid JSON');
  });

  it('requires the key of a provider that the simulator does not stand in for', async () => {
    const catalog = await writeTestCatalog((c) => {
      c.providers.push({
        ...c.providers[0],
        id: 'openai',
        baseUrl: 'https://api.openai.com/v1',
        apiKeyEnv: 'OPENAI_KEY_FOR_TEST',
      });
    });
    await expect(startTestApp({ databaseUrl: database.url, catalog })).rejects.toThrow(
      'providers[1].apiKeyEnv: environment variable OPENAI_KEY_FOR_TEST is not set',
    );
  });

  it('moves the simulator with SIMULATOR_PORT alone, no catalog file needed', async () => {
    const port = await freePort();
    const gateway = await startTestApp({
      databaseUrl: database.url,
      env: { SWITCHYARD_CATALOG: undefined, SIMULATOR_PORT: String(port) },
    });
    try {
      await request(`http://127.0.0.1:${port}`).get('/_simulator/stats').expect(200);
      const completion = await api(gateway)
        .post('/v1/chat/completions')
        .send({ model: 'deepseek-v3.2', messages: [{ role: 'user', content: 'hi' }] })
        .expect(200);
      expect(completion.headers['x-switchyard-provider']).toBe('simulated');
      const stats = await request(`http://127.0.0.1:${port}`).get('/_simulator/stats').expect(200);
      expect(stats.body.total).toBe(1);
    } finally {
      await gateway.close();
    }
  });
});
