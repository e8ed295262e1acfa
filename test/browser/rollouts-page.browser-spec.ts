/// <reference lib="dom" />
// Functions passed to page.evaluate / waitForFunction run in the browser, with its globals.
import { ManualClock } from '../../src/common/manual-clock';
import { api, policiesFor, writeTestCatalog, type TestApp } from '../support/test-app';
import { startControlRoom, type ControlRoomRig } from './control-room-rig';
import { BrowserSession, type WatchedPage } from './browser';

/*
 * The rollouts page in a real browser against the real app and Postgres, with more canaries than one
 * page of the API holds: 51 ended on one flag, then one running on another. The browser's clock is
 * held (Playwright's fake clock): the page asks the API only when the test moves it or the reader acts.
 */
const HELD = new Date('2026-12-07T12:00:00.000Z');
const LONG = 180_000;
const ENDED = 51;
const plan = {
  variant: 'treatment',
  stages: [
    { percentage: 5, durationSeconds: 300 },
    { percentage: 100, durationSeconds: 0 },
  ],
};

describe('the rollouts page in a browser: canaries a page at a time, newest first, filtered by state', () => {
  let app: TestApp;
  let browser: BrowserSession;
  let readKey = '';
  const clock = new ManualClock();
  /** Newest first. */
  const made: string[] = [];

  let rig: ControlRoomRig | undefined;
  beforeAll(async () => {
    rig = await startControlRoom({ clock, env: {}, catalog: await writeTestCatalog(policiesFor('roll-a', 'roll-b')) });
    ({ app, readKey, browser } = rig);
    for (const key of ['roll-a', 'roll-b'])
      await api(app)
        .post('/api/flags')
        .send({ key, variants: { control: 'deepseek-v3.2', treatment: 'gpt-4.1' }, defaultVariant: 'control' })
        .expect(201);
    for (let index = 0; index < ENDED; index++) {
      const id = (
        await api(app)
          .post('/api/canaries')
          .send({ flagKey: 'roll-a', ...plan })
          .expect(201)
      ).body.id;
      await api(app).post(`/api/canaries/${id}/abort`).send({}).expect(200);
      made.unshift(id);
      await clock.advance(1000);
    }
    made.unshift(
      (
        await api(app)
          .post('/api/canaries')
          .send({ flagKey: 'roll-b', ...plan })
          .expect(201)
      ).body.id,
    );
  }, 120_000);
  afterAll(() => rig?.close());

  const shown = (viewer: WatchedPage) =>
    viewer.page
      .locator('#rollouts-table [data-canary]')
      .evaluateAll((links) => links.map((link) => link.getAttribute('data-canary')));
  const until = (viewer: WatchedPage, ids: string[]) =>
    viewer.page.waitForFunction(
      (want) =>
        [...document.querySelectorAll('#rollouts-table [data-canary]')]
          .map((link) => link.getAttribute('data-canary'))
          .join() === want,
      ids.join(),
    );

  it(
    'shows the 50 newest canaries, loads older ones on request, and keeps them across polls',
    async () => {
      const viewer = await browser.open(app.url, readKey, { heldClock: HELD });
      await viewer.show('#/rollouts');
      expect(await shown(viewer)).toEqual(made.slice(0, 50));
      expect(await viewer.page.locator('#rollouts-shown').textContent()).toBe(
        '50 canaries shown, older ones after them.',
      );

      await viewer.page.getByRole('button', { name: 'Load 50 more' }).click();
      await until(viewer, made);
      expect(await viewer.page.locator('#rollouts-shown').textContent()).toBe('52 canaries shown.');
      expect(await viewer.page.locator('#load-more-rollouts').count()).toBe(0);
      await viewer.poll();
      expect(await shown(viewer)).toEqual(made);
      expect(browser.errors()).toEqual([]);
    },
    LONG,
  );

  it(
    'shows only active or only ended canaries when the reader asks, the API filtering them',
    async () => {
      const viewer = await browser.open(app.url, readKey, { heldClock: HELD });
      await viewer.show('#/rollouts');
      await viewer.page.getByLabel('Show').selectOption('active');
      await until(viewer, [made[0]]);
      expect(await viewer.apiCalls()).toContain('/api/canaries?state=active&limit=50');
      expect(await viewer.page.locator('#rollouts-shown').textContent()).toBe('1 canary shown.');

      await viewer.page.getByLabel('Show').selectOption('ended');
      await until(viewer, made.slice(1, 51));
      expect(await viewer.apiCalls()).toContain('/api/canaries?state=ended&limit=50');
      expect(browser.errors()).toEqual([]);
    },
    LONG,
  );
});
