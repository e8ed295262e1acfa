import type { ManualClock } from '../../src/common/manual-clock';
import { api, startTestApp, type TestApp, type TestCatalog } from '../support/test-app';
import { createTestDatabase } from '../support/test-database';
import { MetricRows } from '../support/traffic';
import { buildUi } from '../support/ui-build';
import { BrowserSession } from './browser';

/** What a browser spec drives: the app serving the built control room, its rows, a read key, a browser. */
export interface ControlRoomRig {
  database: Awaited<ReturnType<typeof createTestDatabase>>;
  app: TestApp;
  rows: MetricRows;
  /** A key with the read scope only: what an on-call engineer signs in with. */
  readKey: string;
  browser: BrowserSession;
  close(): Promise<void>;
}

/** A fresh database, the app on `clock` with the control room built, and a browser: one per spec file. */
export async function startControlRoom(options: {
  clock: ManualClock;
  env: Record<string, string>;
  catalog?: TestCatalog;
}): Promise<ControlRoomRig> {
  const database = await createTestDatabase();
  const app = await startTestApp({
    databaseUrl: database.url,
    catalog: options.catalog,
    clock: options.clock,
    env: { ...options.env, UI_DIR: await buildUi() },
  });
  const rows = await MetricRows.open(database.url);
  const readKey = (
    await api(app)
      .post('/api/keys')
      .send({ name: 'on-call', scopes: ['read'] })
      .expect(201)
  ).body.key as string;
  const browser = await BrowserSession.launch();
  return {
    database,
    app,
    rows,
    readKey,
    browser,
    close: async () => {
      await browser.close();
      await rows.close();
      await app.close();
      await database.drop();
    },
  };
}
