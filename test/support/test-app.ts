import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { generateApiKey } from '../../src/access/api-key-format';
import { DEFAULT_CATALOG as defaultCatalog } from '../../src/config/catalog.config';
import { createApp, shutDownApp } from '../../src/bootstrap';
import type { ManualClock } from '../../src/common/manual-clock';
import { freePort } from './free-port';

export interface TestApp {
  app: NestExpressApplication;
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** The in-app simulated provider, e.g. http://127.0.0.1:41235 */
  simulatorUrl: string;
  /** The SWITCHYARD_ADMIN_KEY the app was started with (unset when started with `adminKey: null`). */
  adminKey?: string;
  close: () => Promise<void>;
}

/** `Authorization` header value for `key`. */
export function bearer(key: string): string {
  return `Bearer ${key}`;
}

/**
 * supertest against the app with `Authorization: Bearer <key>` on every request (default: the app's
 * admin key): `api(app).get('/api/flags').expect(200)`.
 */
export function api(app: TestApp, key: string | undefined = app.adminKey) {
  if (!key) throw new Error('api(): the app has no admin key (started with adminKey: null); pass a key');
  return request.agent(app.url).set('authorization', bearer(key));
}

type DefaultModel = (typeof defaultCatalog)['models'][number];
/** The default catalog's shape, with the optional model fields optional (a test may add a model without them). */
type Catalog = Omit<typeof defaultCatalog, 'models'> & {
  models: Array<Omit<DefaultModel, 'maxOutputTokens'> & { maxOutputTokens?: number }>;
} & Record<string, unknown>;

/**
 * The default catalog on a free simulator port, with zero simulated latency so tests are fast;
 * `edit` may change anything (add providers, profiles...).
 */
export interface TestCatalog {
  path: string;
  simulatorPort: number;
}

export async function writeTestCatalog(
  edit: (catalog: Catalog, simulatorPort: number) => void = () => undefined,
): Promise<TestCatalog> {
  const simulatorPort = await freePort();
  const catalog = structuredClone(defaultCatalog) as Catalog;
  catalog.providers[0].baseUrl = `http://127.0.0.1:${simulatorPort}/v1`;
  catalog.simulator.port = simulatorPort;
  for (const profile of Object.values(catalog.simulator.profiles)) {
    profile.latencyMs = { median: 0, p99: 0 };
    profile.tokensPerSecond = 0;
  }
  edit(catalog, simulatorPort);
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-catalog-'));
  const path = join(dir, 'catalog.json');
  await writeFile(path, JSON.stringify(catalog, null, 2));
  return { path, simulatorPort };
}

/**
 * Sets `env` (restoring the previous values afterwards) while `fn` runs: the app reads its
 * configuration from the environment at start-up, as in production.
 */
export async function withEnv<T>(env: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const previous = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.entries(env).forEach(([name, value]) =>
    value === undefined ? delete process.env[name] : (process.env[name] = value),
  );
  try {
    return await fn();
  } finally {
    Object.entries(previous).forEach(([name, value]) =>
      value === undefined ? delete process.env[name] : (process.env[name] = value),
    );
  }
}

/**
 * A catalog edit for writeTestCatalog: a cost_first policy named after each flag key, routing by
 * it, so that the flag serves traffic (`route:<flag>`) and canaries may run on it.
 */
export function policiesFor(...flags: string[]): (catalog: Catalog) => void {
  return (catalog) => {
    for (const flag of flags) {
      catalog.policies.push({ name: flag, strategy: 'cost_first', flag, defaultModel: 'deepseek-v3.2', fallback: [] });
    }
  };
}

/** Boots the real app (same bootstrap as `npm start`) on a free port against `databaseUrl`. */
export async function startTestApp(options: {
  databaseUrl?: string;
  /** From writeTestCatalog; default: the test catalog unchanged. */
  catalog?: TestCatalog;
  env?: Record<string, string | undefined>;
  /** SWITCHYARD_ADMIN_KEY; default: a freshly generated key. null: unset (the app creates and prints one). */
  adminKey?: string | null;
  /** Time and scheduled jobs (canary ticks, guardrail) moved by the test; default: the system clock. */
  clock?: ManualClock;
}): Promise<TestApp> {
  const catalog = options.catalog ?? (await writeTestCatalog());
  const simulatorPort = catalog.simulatorPort;
  const adminKey = options.adminKey === null ? undefined : (options.adminKey ?? generateApiKey().key);
  // Its own data folder (the metric rows' spool, on a database outage), not the project's ./.data.
  const dataDir = options.databaseUrl ? { SWITCHYARD_DATA_DIR: await mkdtemp(join(tmpdir(), 'switchyard-data-')) } : {};
  const app = await withEnv(
    {
      DATABASE_URL: options.databaseUrl,
      ...dataDir,
      SWITCHYARD_CATALOG: catalog.path,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
      SWITCHYARD_ADMIN_KEY: adminKey,
      ...options.env,
    },
    async () => {
      const created = await createApp({ clock: options.clock });
      await created.listen(0, '127.0.0.1');
      return created;
    },
  );
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    simulatorUrl: `http://127.0.0.1:${simulatorPort}`,
    adminKey,
    // The same ordered shutdown as Ctrl-C on `npm start`.
    close: () => shutDownApp(app),
  };
}
