/// <reference lib="dom" />
// Functions passed to page.evaluate / waitForFunction run in the browser, with its globals.
import { ManualClock } from '../../src/common/manual-clock';
import { api, type TestApp } from '../support/test-app';
import { startControlRoom, type ControlRoomRig } from './control-room-rig';
import { BrowserSession, type WatchedPage } from './browser';

/*
 * The flags page in a real browser against the real app and Postgres, with more flags than one
 * page of the API holds. The browser's clock is held (Playwright's fake clock): the page asks the
 * API only when the test moves it or the reader acts, so what it asked for can be read back.
 */
const HELD = new Date('2026-12-07T12:00:00.000Z');
const LONG = 180_000;
/** flag-00 … flag-54: 55 flags, one archived, so the active ones fill one page of 50 and part of a second. */
const KEYS = Array.from({ length: 55 }, (_, index) => `flag-${String(index).padStart(2, '0')}`);

describe('the flags page in a browser: a page at a time, searched by the API, archived flags on request', () => {
  let app: TestApp;
  let browser: BrowserSession;
  let readKey = '';
  const clock = new ManualClock();

  let rig: ControlRoomRig | undefined;
  beforeAll(async () => {
    rig = await startControlRoom({ clock, env: {} });
    ({ app, readKey, browser } = rig);
    for (const key of KEYS)
      await api(app)
        .post('/api/flags')
        .send({
          key,
          description: key === 'flag-07' ? 'Hotel search ranking' : 'Product recommendations',
          variants: { control: 'gpt-4.1', treatment: 'deepseek-v3.2' },
          defaultVariant: 'control',
        })
        .expect(201);
    await api(app).delete('/api/flags/flag-03').send({ reason: 'replaced' }).expect(200);
  }, 120_000);
  afterAll(() => rig?.close());

  const shown = (viewer: WatchedPage) =>
    viewer.page.locator('#flags [data-flag]').evaluateAll((panels) => panels.map((p) => p.getAttribute('data-flag')));
  const until = (viewer: WatchedPage, keys: string[]) =>
    viewer.page.waitForFunction(
      (want) =>
        [...document.querySelectorAll('#flags [data-flag]')].map((p) => p.getAttribute('data-flag')).join() === want,
      keys.join(),
    );

  it(
    'shows the first 50 active flags, loads the rest on request, and finds a flag by words of its description',
    async () => {
      const active = KEYS.filter((key) => key !== 'flag-03');
      const viewer = await browser.open(app.url, readKey, { heldClock: HELD });
      await viewer.show('#/flags');
      expect(await shown(viewer)).toEqual(active.slice(0, 50));
      expect(await viewer.page.locator('#flags-shown').textContent()).toBe('50 flags shown, more after them.');

      await viewer.page.getByRole('button', { name: 'Load 50 more' }).click();
      await until(viewer, active);
      expect(await viewer.page.locator('#flags-shown').textContent()).toBe('54 flags shown.');
      expect(await viewer.page.locator('#load-more-flags').count()).toBe(0);
      // A poll asks for both pages again, so the flags loaded stay.
      await viewer.poll();
      expect(await shown(viewer)).toEqual(active);

      await viewer.page.getByLabel('Search flags').fill('HOTEL search');
      await until(viewer, ['flag-07']);
      // The API searched: the page asked for the matching flags, not for all of them to filter itself.
      expect(await viewer.apiCalls()).toContain('/api/flags?search=HOTEL+search&limit=50');
      expect(await viewer.page.locator('#load-more-flags').count()).toBe(0);
      expect(await viewer.page.evaluate(() => document.activeElement?.id)).toBe('flag-search');
      expect(browser.errors()).toEqual([]);
    },
    LONG,
  );

  it(
    'leaves archived flags out until the reader asks for them, then marks them archived',
    async () => {
      const viewer = await browser.open(app.url, readKey, { heldClock: HELD });
      await viewer.show('#/flags');
      await viewer.page.getByLabel('Search flags').fill('flag-03');
      await viewer.page.getByText('No flag matches “flag-03”.').waitFor();

      await viewer.page.getByLabel('also show archived flags').check();
      await until(viewer, ['flag-03']);
      expect(await viewer.apiCalls()).toContain('/api/flags?search=flag-03&archived=all&limit=50');
      expect(await viewer.page.locator('[data-flag="flag-03"] .archived').textContent()).toMatch(
        /^Archived \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: it serves no request/,
      );

      await viewer.page.getByLabel('also show archived flags').uncheck();
      await viewer.page.getByText('No flag matches “flag-03”.').waitFor();
      expect(browser.errors()).toEqual([]);
    },
    LONG,
  );
});
