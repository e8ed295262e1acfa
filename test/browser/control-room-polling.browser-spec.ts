/// <reference lib="dom" />
// Functions passed to page.evaluate / waitForFunction run in the browser, with its globals.
import { ManualClock } from '../../src/common/manual-clock';
import { api, startTestApp, type TestApp } from '../support/test-app';
import { createTestDatabase } from '../support/test-database';
import { buildUi } from '../support/ui-build';
import { BrowserSession, POLL_MS } from './browser';

/*
 * The control room's sign-in, its polls and its status line, in a real browser against the real app
 * and Postgres. The browser's clock is held (Playwright's fake clock): the page polls only when the
 * test moves it, so that a poll did not happen is checked, never waited for.
 */
const HELD = new Date('2026-12-07T12:00:00.000Z');
const LONG = 180_000;

describe('control room in a browser: signing in, polling, the status line', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  let browser: BrowserSession;
  const clock = new ManualClock();

  const newReadKey = async (name: string) =>
    (
      await api(app)
        .post('/api/keys')
        .send({ name, scopes: ['read'] })
        .expect(201)
    ).body as { id: string; key: string };

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ databaseUrl: database.url, clock, env: { UI_DIR: await buildUi() } });
    browser = await BrowserSession.launch();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await database?.drop();
  });

  it(
    'stops polling once the key is revoked, and keeps what the person types into the sign-in form',
    async () => {
      const { id, key } = await newReadKey('revoked-soon');
      const viewer = await browser.open(app.url, key, { heldClock: HELD });
      await viewer.show('#/flags');
      await api(app).delete(`/api/keys/${id}`).expect(200);

      await viewer.tick();
      const message = viewer.page.locator('.signin [role="alert"]');
      await message.filter({ hasText: 'The key stopped working' }).waitFor();
      const input = viewer.page.getByLabel('API key');
      await input.fill('sy_half_typed');
      const before = (await viewer.apiCalls()).length;
      await viewer.tick(3 * POLL_MS);
      // Signed out: nothing asks the API any more, so nothing redraws the form.
      expect((await viewer.apiCalls()).slice(before)).toEqual([]);
      expect(await input.inputValue()).toBe('sy_half_typed');
      expect(await message.textContent()).toBe('The key stopped working (revoked?): sign in again.');
    },
    LONG,
  );
});
