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
const TICK_MS = 1000;
const STAGES = [
  { percentage: 50, durationSeconds: 3600 },
  { percentage: 100, durationSeconds: 0 },
];
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

  const createFlag = (key: string, control: string, treatment: string) =>
    api(app)
      .post('/api/flags')
      .send({ key, variants: { control, treatment }, defaultVariant: 'control', rollout: {} })
      .expect(201);

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({
      databaseUrl: database.url,
      clock,
      env: { CANARY_TICK_SECONDS: String(TICK_MS / 1000), UI_DIR: await buildUi() },
    });
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

  it(
    'a poll keeps the keyboard focus and the text a person selected, on every page, while the data moves',
    async () => {
      await createFlag('chat-model', 'gemini-2.5-flash', 'deepseek-v3.2');
      await createFlag('fraud-model', 'claude-sonnet-4.5', 'gpt-4.1');
      const canary = (
        await api(app)
          .post('/api/canaries')
          .send({ flagKey: 'chat-model', variant: 'treatment', stages: STAGES })
          .expect(201)
      ).body as { id: string };
      await clock.advance(TICK_MS);
      const viewer = await browser.open(app.url, app.adminKey!, { heldClock: HELD });
      const { page } = viewer;
      const focused = () =>
        page.evaluate(() => {
          const element = document.activeElement;
          if (!element || element === document.body) return 'nothing';
          return `${element.tagName} ${element.closest('tr, article')?.getAttribute('data-key') ?? ''} ${element.textContent}`;
        });
      const select = (selector: string) =>
        page.evaluate((target) => {
          const range = document.createRange();
          range.selectNodeContents(document.querySelector(target)!);
          getSelection()!.removeAllRanges();
          getSelection()!.addRange(range);
          return getSelection()!.toString();
        }, selector);
      const selected = () => page.evaluate(() => getSelection()!.toString());

      // Flags: another flag changes under the reader's focus.
      await viewer.show('#/flags');
      await page.locator('[data-history="fraud-model"]').focus();
      const onToggle = await focused();
      await api(app)
        .patch('/api/flags/chat-model')
        .send({ version: 2, description: 'Chat on the cheaper model' })
        .expect(200);
      await viewer.refresh();
      await page.locator('[data-flag="chat-model"]', { hasText: 'Chat on the cheaper model' }).waitFor();
      expect(await focused()).toBe(onToggle);

      // Rollouts: the time in stage moves.
      await viewer.show('#/rollouts');
      const link = page.locator(`#rollouts-table a[data-canary="${canary.id}"]`);
      await link.focus();
      const onLink = await focused();
      await clock.advance(60_000);
      await viewer.refresh();
      expect(await focused()).toBe(onLink);

      // Alerts: a new alert comes on top of the one being read.
      await viewer.show('#/alerts');
      await page.locator('#alerts-table a', { hasText: 'rollout' }).first().focus();
      const onAlert = await focused();
      const message = await select('#alerts-table tbody tr:first-child td:nth-child(4)');
      await api(app).post(`/api/canaries/${canary.id}/pause`).send({ reason: 'a look at the numbers' }).expect(200);
      await viewer.refresh();
      expect(await page.locator('#alerts-table tbody tr').count()).toBe(2);
      expect(await focused()).toBe(onAlert);
      expect(await selected()).toBe(message);

      // A rollout: its verdict sentence, selected to copy, across a poll.
      await viewer.show(`#/rollouts/${canary.id}`);
      const sentence = await select('#verdict-sentence');
      expect(sentence.length).toBeGreaterThan(0);
      await viewer.refresh();
      expect(await selected()).toBe(sentence);
    },
    LONG,
  );

  it(
    'what a screen reader follows in the status line changes when there is news, not at every poll',
    async () => {
      const viewer = await browser.open(app.url, app.adminKey!, { heldClock: HELD });
      await viewer.show('#/rollouts');
      const live = () => viewer.page.locator('[aria-live], [role="status"], [role="alert"]').allTextContents();
      const heard = await live();
      await viewer.refresh();
      await viewer.refresh();
      expect(await live()).toEqual(heard);
      // The time of the last update is still there to see.
      expect(await viewer.page.locator('#updated').textContent()).toMatch(/^Updated .+ · every 3 s$/);
    },
    LONG,
  );

  it(
    'while the gateway is unreachable, says since when and from when the data shown is, and marks it stale',
    async () => {
      const viewer = await browser.open(app.url, app.adminKey!, { heldClock: HELD });
      const { page } = viewer;
      await viewer.show('#/flags');
      const status = page.locator('#status');
      const stale = page.locator('main.stale');
      expect(await stale.count()).toBe(0);

      await viewer.context.setOffline(true);
      await viewer.tick();
      await page.locator('#status.error').waitFor();
      const outage = 'Gateway unreachable since 12:00:03 UTC; showing data from 12:00:00 UTC.';
      expect(await status.textContent()).toBe(outage);
      expect(await stale.count()).toBe(1);
      // Another failed poll: still since the first one.
      await viewer.poll();
      expect(await status.textContent()).toBe(outage);

      await viewer.context.setOffline(false);
      await viewer.refresh();
      expect(await status.textContent()).toBe('');
      expect(await stale.count()).toBe(0);
      expect(await page.locator('#updated').textContent()).toBe('Updated 12:00:09 UTC · every 3 s');
    },
    LONG,
  );

  it(
    'a rollout that does not exist says so, offers no action, and is not asked for again',
    async () => {
      const missing = '00000000-0000-0000-0000-000000000000';
      const viewer = await browser.open(app.url, app.adminKey!, { heldClock: HELD });
      const { page } = viewer;
      await viewer.go(`#/rollouts/${missing}`);
      expect(await page.locator('main h2').allTextContents()).toEqual(['No such rollout']);
      expect(await page.locator('#rollout-missing').allTextContents()).toEqual([
        `canary "${missing}" does not exist. The link may be mistyped, or from another gateway.`,
      ]);
      expect(await page.getByText('Loading…').count()).toBe(0);
      expect(await page.locator('[data-action]').count()).toBe(0);
      expect(await page.locator('#status').textContent()).toBe('');
      const before = (await viewer.apiCalls()).length;
      await viewer.tick(3 * POLL_MS);
      expect((await viewer.apiCalls()).slice(before)).toEqual([]);
    },
    LONG,
  );

  it(
    'a link whose id is no canary id (a mistyped link) is no such rollout either, with what the gateway said',
    async () => {
      const viewer = await browser.open(app.url, app.adminKey!, { heldClock: HELD });
      const { page } = viewer;
      await viewer.go(`#/rollouts/${'-'.repeat(36)}`);
      expect(await page.locator('main h2').allTextContents()).toEqual(['No such rollout']);
      expect(await page.locator('#rollout-missing').allTextContents()).toEqual([
        'id must be a canary id (a UUID). The link may be mistyped, or from another gateway.',
      ]);
      expect(await page.locator('#status').textContent()).toBe('');
    },
    LONG,
  );

  it(
    'the sign-in form says when what was typed cannot be a key, without asking the gateway',
    async () => {
      const viewer = await browser.blank({ heldClock: HELD });
      const { page } = viewer;
      await page.goto(`${app.url}/`);
      const notAKey =
        'That is not a Switchyard key: a key has only letters, digits and ASCII signs, without spaces (e.g. sy_k3j5n2m8q1_…).';
      for (const [typed, said] of [
        ['   ', 'Type or paste your API key: the field is empty.'],
        ['ключ🔑', notAKey],
        ['sy_k3j5n2m8q1 extra', notAKey],
      ]) {
        await page.getByLabel('API key').fill(typed);
        await page.getByRole('button', { name: 'Sign in' }).click();
        expect({ typed, said: await page.locator('.signin [role="alert"]').textContent() }).toEqual({ typed, said });
      }
      expect(await viewer.apiCalls()).toEqual([]);
      expect(viewer.errors).toEqual([]);
    },
    LONG,
  );

  it(
    'the page links show once signed in, not on the sign-in form',
    async () => {
      const viewer = await browser.blank({ heldClock: HELD });
      const { page } = viewer;
      await page.goto(`${app.url}/`);
      await page.getByLabel('API key').waitFor();
      expect(await page.getByRole('navigation', { name: 'Pages' }).isVisible()).toBe(false);
      await viewer.signIn(app.url, app.adminKey!);
      expect(await page.getByRole('navigation', { name: 'Pages' }).isVisible()).toBe(true);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('API key').waitFor();
      expect(await page.getByRole('navigation', { name: 'Pages' }).isVisible()).toBe(false);
    },
    LONG,
  );

  it(
    'an empty table says so, instead of showing its headers alone',
    async () => {
      const viewer = await browser.open(app.url, app.adminKey!, { heldClock: HELD });
      await viewer.show('#/traffic');
      for (const id of ['cost-by-policy', 'cost-by-model', 'cost-by-key'])
        expect({ id, rows: await viewer.page.locator(`#${id} tbody tr`).allTextContents() }).toEqual({
          id,
          rows: ['No data.'],
        });
    },
    LONG,
  );
});
