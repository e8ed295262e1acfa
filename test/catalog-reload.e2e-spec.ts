import { readFile, writeFile } from 'node:fs/promises';
import { SIMULATOR_DEVELOPMENT_KEYS } from '../src/config/catalog.config';
import { api, startTestApp, writeTestCatalog, type TestApp, type TestCatalog } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';
import { eventually } from './support/webhook-server';

/*
 * Two replicas on one database, each with its own copy of the catalog file (and its own in-app
 * simulator): a reload on one reaches the other through Postgres, everything that derives state from
 * the catalog follows, and a bad catalog changes nothing anywhere.
 */

type Catalog = Record<string, any>;

async function editCatalog(file: TestCatalog, edit: (catalog: Catalog) => void): Promise<void> {
  const catalog = JSON.parse(await readFile(file.path, 'utf8')) as Catalog;
  edit(catalog);
  await writeFile(file.path, JSON.stringify(catalog, null, 2));
}

/** A search team's use case: a new model, a model behind a new provider, and its policy. */
function addSearch(catalog: Catalog, simulatorPort: number): void {
  catalog.providers.push({
    id: 'proxy',
    baseUrl: `http://127.0.0.1:${simulatorPort}/v1`,
    apiKeyEnv: 'PROXY_API_KEY',
    timeoutMs: 30_000,
  });
  catalog.models.push(
    {
      id: 'mistral-small',
      provider: 'simulated',
      upstreamModel: 'mistral-small',
      contextWindow: 32_000,
      tier: 1,
      pricing: { inputPer1M: 0.1, outputPer1M: 0.3 },
    },
    {
      id: 'deepseek-via-proxy',
      provider: 'proxy',
      upstreamModel: 'deepseek-v3.2',
      contextWindow: 128_000,
      tier: 2,
      pricing: { inputPer1M: 0.3, outputPer1M: 0.5 },
    },
  );
  catalog.simulator.profiles['mistral-small'] = { latencyMs: { median: 0, p99: 0 }, tokensPerSecond: 0 };
  catalog.policies.push({
    name: 'search',
    strategy: 'latency_first',
    flag: 'search-model',
    defaultModel: 'mistral-small',
    fallback: ['deepseek-via-proxy'],
    budgets: { attemptTimeoutMs: 2000 },
  });
}

describe('catalog reload across replicas', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const files: TestCatalog[] = [];
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    // The new provider's key variable is set when the replicas start, as a deployment would set it.
    const env = { PROXY_API_KEY: SIMULATOR_DEVELOPMENT_KEYS.primary, METRICS_FLUSH_INTERVAL_MS: '20' };
    files.push(await writeTestCatalog(), await writeTestCatalog());
    a = await startTestApp({ databaseUrl: database.url, catalog: files[0], env });
    b = await startTestApp({ databaseUrl: database.url, catalog: files[1], env, adminKey: a.adminKey });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  const complete = (app: TestApp, model: string) =>
    api(app)
      .post('/v1/chat/completions')
      .send({ model, messages: [{ role: 'user', content: 'find me a hotel' }] });
  const modelIds = async (app: TestApp) =>
    ((await api(app).get('/v1/models').expect(200)).body.data as Array<{ id: string }>).map((model) => model.id);

  it('reaches the other replica within a second, and every catalog-derived part follows', async () => {
    await complete(b, 'route:search').expect(404);
    for (const file of files) await editCatalog(file, (catalog) => addSearch(catalog, file.simulatorPort));

    const started = Date.now();
    const reload = await api(a).post('/api/catalog/reload').expect(200);
    expect(reload.body).toMatchObject({ trigger: 'api', outcome: 'applied', source: files[0].path, problems: [] });
    expect(reload.body.actor).toMatch(/^key:/);
    expect(reload.body.changes).toEqual([
      { section: 'providers', id: 'proxy', change: 'added' },
      { section: 'models', id: 'mistral-small', change: 'added' },
      { section: 'models', id: 'deepseek-via-proxy', change: 'added' },
      { section: 'policies', id: 'search', change: 'added' },
      { section: 'simulator', id: 'simulator', change: 'changed', fields: ['profiles'] },
    ]);
    await eventually(async () => (await modelIds(b)).includes('route:search'), 1000, 'route:search on replica B');
    expect(Date.now() - started).toBeLessThan(1000);

    for (const app of [a, b]) {
      // A new model on the in-app simulator, a new provider with its own key and connection pool.
      const search = await complete(app, 'route:search').expect(200);
      expect([search.headers['x-switchyard-policy'], search.headers['x-switchyard-model']]).toEqual([
        'search',
        'mistral-small',
      ]);
      const proxied = await complete(app, 'deepseek-via-proxy').expect(200);
      expect(proxied.headers['x-switchyard-provider']).toBe('proxy');
      const policies = (await api(app).get('/api/policies').expect(200)).body.policies;
      expect(policies.find((policy: { name: string }) => policy.name === 'search')).toMatchObject({
        strategy: { name: 'latency_first' },
        budgets: { attemptTimeoutMs: 2000 },
        fallback: ['deepseek-via-proxy'],
      });
    }
    // Prometheus labels come from the requests: the new policy and model are there.
    const scrape = await api(b).get('/metrics').expect(200);
    expect(scrape.text).toMatch(
      /switchyard_requests_total\{policy="search",flag="none",variant="none",model="mistral-small"/,
    );

    // The record says who, when and what, and how replica B took it.
    const bInstance = (await api(b).get('/api/catalog').expect(200)).body.instance;
    const record = await eventually(async () => {
      const [row] = (await api(b).get('/api/catalog/reloads').expect(200)).body.items;
      return row.replicas.length > 0 ? row : undefined;
    });
    expect(record).toMatchObject({ id: reload.body.id, instance: (await api(a).get('/api/catalog')).body.instance });
    expect(record.replicas).toEqual([
      { instance: bInstance, at: expect.any(String), outcome: 'applied', sha256: expect.any(String), problems: [] },
    ]);
  });

  it('refuses a bad catalog with every problem named, and nothing changes on either replica', async () => {
    await api(a)
      .post('/api/flags')
      .send({
        key: 'fraud-model',
        defaultVariant: 'control',
        variants: { control: 'claude-sonnet-4.5', treatment: 'gpt-4.1' },
      })
      .expect(201);
    const before = await Promise.all([a, b].map(async (app) => (await api(app).get('/api/catalog').expect(200)).body));
    const good = await readFile(files[0].path, 'utf8');
    await editCatalog(files[0], (catalog) => {
      catalog.models = catalog.models.filter((model: { id: string }) => model.id !== 'claude-sonnet-4.5');
      catalog.policies = catalog.policies.filter((policy: { name: string }) => policy.name !== 'fraud');
      delete catalog.simulator.profiles['claude-sonnet-4.5'];
      catalog.policies[1].strategy = 'fastest';
      catalog.simulator.seed = 7;
    });

    const refused = await api(a).post('/api/catalog/reload').expect(400);
    expect(refused.body.code).toBe('catalog_invalid');
    expect(refused.body.details).toHaveLength(3);
    expect(refused.body.details).toEqual(
      expect.arrayContaining([
        'policies[1].strategy: unknown strategy "fastest" (strategies: cost_first, latency_first, quality_first)',
        'models: "claude-sonnet-4.5" is missing, but variant "control" of flag "fraud-model" serves it; point the variant at another model (or archive the flag) first',
        'simulator.seed: changes only with a restart (running with 42)',
      ]),
    );
    // A field's problem does not hide the others: they all come in one answer.
    await editCatalog(files[0], (catalog) => {
      catalog.models[1].tier = 0;
    });
    const alsoFields = await api(a).post('/api/catalog/reload').expect(400);
    expect(alsoFields.body.details).toEqual([
      'models[1].tier: tier must be an integer from 1 (weakest) upwards',
      ...refused.body.details,
    ]);
    await writeFile(files[0].path, '{ "providers": [');
    const notJson = await api(a).post('/api/catalog/reload').expect(400);
    expect(notJson.body.details).toEqual([expect.stringContaining('not valid JSON')]);

    const after = await Promise.all([a, b].map(async (app) => (await api(app).get('/api/catalog').expect(200)).body));
    expect(after).toEqual(before);
    for (const app of [a, b]) {
      expect(await modelIds(app)).toContain('route:fraud');
      const fraud = await complete(app, 'route:fraud').expect(200);
      expect(fraud.headers['x-switchyard-model']).toBe('claude-sonnet-4.5');
    }
    const refusals = await queryRows<{
      outcome: string;
      problems: string[];
      sha256: string | null;
      replicas: unknown[];
    }>(
      database.url,
      `SELECT outcome, problems, sha256, replicas FROM catalog_reloads WHERE outcome = 'refused' ORDER BY id`,
    );
    expect(refusals.map((row) => [row.problems.length, row.sha256 === null, row.replicas])).toEqual([
      [3, false, []],
      [4, true, []],
      [1, true, []],
    ]);
    await writeFile(files[0].path, good);
  });

  it('takes no body: one with fields is refused, not ignored; none or {} reloads', async () => {
    const count = async () =>
      (await queryRows<{ n: number }>(database.url, 'SELECT count(*)::int AS n FROM catalog_reloads'))[0].n;
    const before = await count();
    const forced = await api(a).post('/api/catalog/reload').send({ force: true, dryRun: true }).expect(400);
    expect(forced.body).toMatchObject({
      code: 'validation_failed',
      message: 'force is not a field of this request; remove it; dryRun is not a field of this request; remove it',
    });
    const listed = await api(a)
      .post('/api/catalog/reload')
      .send([{ force: true }])
      .expect(400);
    expect(listed.body).toMatchObject({ code: 'validation_failed', message: expect.stringContaining('takes no body') });
    expect(await count()).toBe(before);

    await api(a).post('/api/catalog/reload').expect(200);
    await api(a).post('/api/catalog/reload').send({}).expect(200);
    expect(await count()).toBe(before + 2);
  });

  it('reloads on SIGHUP, recorded as the signal', async () => {
    await editCatalog(files[0], (catalog) => {
      catalog.policies.find((policy: { name: string }) => policy.name === 'search').budgets.attemptTimeoutMs = 3000;
    });
    // Jest gives each test file a `process` object of its own, where the app registered its handler:
    // a real signal to the jest process would not reach it, so the signal is delivered on that object
    // (test/platform-process.e2e-spec.ts sends a real SIGHUP to a built app). Both replicas run in this
    // process, so both get it: A reads a changed file, B its unchanged one.
    process.emit('SIGHUP', 'SIGHUP');
    const [aInstance, bInstance] = await Promise.all(
      [a, b].map(async (app) => (await api(app).get('/api/catalog').expect(200)).body.instance as string),
    );
    const rows = await eventually(async () => {
      const found = await queryRows<{ instance: string; outcome: string; actor: string }>(
        database.url,
        `SELECT instance, outcome, actor FROM catalog_reloads WHERE trigger = 'signal' ORDER BY instance`,
      );
      return found.length === 2 ? found : undefined;
    });
    expect(rows).toEqual(
      expect.arrayContaining([
        { instance: aInstance, outcome: 'applied', actor: 'signal:SIGHUP' },
        { instance: bInstance, outcome: 'unchanged', actor: 'signal:SIGHUP' },
      ]),
    );
    const search = (await api(a).get('/api/policies').expect(200)).body.policies.find(
      (policy: { name: string }) => policy.name === 'search',
    );
    expect(search.budgets.attemptTimeoutMs).toBe(3000);
  });
});
