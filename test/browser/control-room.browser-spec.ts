/// <reference lib="dom" />
// Functions passed to page.evaluate / waitForFunction run in the browser, with its globals.
import { Client } from 'pg';
import request from 'supertest';
import { ManualClock } from '../../src/common/manual-clock';
import { api, bearer, startTestApp, type TestApp } from '../support/test-app';
import { createTestDatabase } from '../support/test-database';
import { atLeast, MetricRows, Traffic } from '../support/traffic';
import { buildUi } from '../support/ui-build';
import { startControlRoom, type ControlRoomRig } from './control-room-rig';
import { BrowserSession, PHONE } from './browser';

/*
 * The control room in a real browser (Debian's chromium through playwright-core) against the real
 * app, Postgres and the simulator over HTTP. Time is a ManualClock: the canary's ticks run when the
 * test moves it, and metric rows carry its time; the page polls on its own every few seconds, and
 * the test waits for what it shows, never a fixed time. Screenshots go to test/browser/artifacts/.
 */
const TICK_MS = 1000;
const ENV = {
  CANARY_TICK_SECONDS: String(TICK_MS / 1000),
  METRICS_FLUSH_INTERVAL_MS: '20',
  ALERT_SEND_INTERVAL_MS: '100',
  GATEWAY_MAX_RETRIES: '0',
  // Breakers would hide a failing model behind its fallbacks before the canary sees enough of it.
  GATEWAY_BREAKER_MIN_REQUESTS: '100000',
  GATEWAY_BREAKER_CONSECUTIVE_FAILURES: '100000',
};
const STAGES = [
  { percentage: 50, durationSeconds: 3600 },
  { percentage: 100, durationSeconds: 0 },
];
const ANALYSIS = { minRequests: 10 };
const LONG = 180_000;

const createFlag = (app: TestApp, key: string, control: string, treatment: string) =>
  api(app)
    .post('/api/flags')
    .send({ key, variants: { control, treatment }, defaultVariant: 'control', rollout: {} })
    .expect(201);
const createCanary = async (app: TestApp, flagKey: string, analysis: Record<string, unknown> = ANALYSIS) =>
  (await api(app).post('/api/canaries').send({ flagKey, variant: 'treatment', stages: STAGES, analysis }).expect(201))
    .body as { id: string; stage: { startedAt: string; flagVersion: number | null } };

interface CanaryEvent {
  id: number;
  type: string;
  message: string;
  evidence: Record<string, any> | null;
}

describe('control room in a browser', () => {
  let app: TestApp;
  let rows: MetricRows;
  let browser: BrowserSession;
  let readKey = '';
  const clock = new ManualClock();

  const open = (key: string, viewport?: { width: number; height: number }) => browser.open(app.url, key, { viewport });
  const canaryOf = async (id: string) => (await api(app).get(`/api/canaries/${id}`).expect(200)).body;
  const eventsOf = async (id: string) =>
    (await api(app).get(`/api/canaries/${id}/events`).query({ limit: 500 }).expect(200)).body.items as CanaryEvent[];
  const profile = (model: string, settings: Record<string, unknown>) =>
    request(app.simulatorUrl).put(`/_simulator/profiles/${model}`).send(settings).expect(200);

  let rig: ControlRoomRig | undefined;
  beforeAll(async () => {
    rig = await startControlRoom({ clock, env: ENV });
    ({ app, rows, readKey, browser } = rig);
  }, 120_000);
  afterAll(() => rig?.close());

  it(
    "a read key sees a running canary's charts update as traffic flows, and no action buttons; the API refuses its actions",
    async () => {
      await createFlag(app, 'recommendations-model', 'deepseek-v3.2', 'gemini-2.5-flash');
      const canary = await createCanary(app, 'recommendations-model');
      const traffic = new Traffic(app, 'recommendations');
      try {
        await rows.waitFor('recommendations-model', canary.stage, {
          treatment: atLeast(20),
          control: atLeast(20),
        });
        await clock.advance(TICK_MS);
        const viewer = await open(readKey);
        await viewer.show('#/rollouts');
        const row = viewer.page.locator(`#rollouts-table a[data-canary="${canary.id}"]`);
        await row.waitFor();
        await viewer.screenshot('rollouts');
        await row.click();
        const points = viewer.page.locator('figure[data-metric="errorRate"] .chart').first();
        await points.waitFor();
        const first = Number(await points.getAttribute('data-points'));
        const caption = await viewer.page.locator('figure[data-metric="errorRate"] figcaption').textContent();
        expect(first).toBeGreaterThanOrEqual(1);
        expect(caption).toMatch(/^Last look: treatment \d+\.\d\d%, control \d+\.\d\d%;/);
        // A marker the page would lose on a reload: updates must come without one.
        await viewer.page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));

        // More traffic and two more looks: the charts grow and the numbers move, on their own.
        const seen = await rows.arm('recommendations-model', 'treatment', canary.stage);
        await rows.waitFor('recommendations-model', canary.stage, {
          treatment: atLeast(seen.requests + 20),
        });
        await clock.advance(TICK_MS);
        await clock.advance(TICK_MS);
        await viewer.page.waitForFunction(
          (count) =>
            Number(document.querySelector('figure[data-metric="errorRate"] .chart')?.getAttribute('data-points')) >=
            count,
          first + 2,
        );
        const latest = (await canaryOf(canary.id)).lastVerdict;
        const errorRate = latest.metrics.find((metric: { metric: string }) => metric.metric === 'errorRate');
        await viewer.page.waitForFunction(
          (n) => document.querySelector('figure[data-metric="errorRate"] figcaption')?.textContent?.includes(n),
          `n = ${errorRate.treatment.n.toLocaleString('en-US')} / ${errorRate.control.n.toLocaleString('en-US')}`,
        );
        expect(await viewer.page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
        await expect(viewer.page.locator('#verdict-sentence').textContent()).resolves.toBe(latest.sentence);

        // Read only: no action buttons, and the API refuses the actions to this key.
        expect(await viewer.page.locator('[data-action]').count()).toBe(0);
        expect(await viewer.page.locator('#actions').count()).toBe(0);
        for (const action of ['pause', 'resume', 'promote', 'rollback', 'abort']) {
          await request(app.url)
            .post(`/api/canaries/${canary.id}/${action}`)
            .set('authorization', bearer(readKey))
            .send({ reason: 'watching only' })
            .expect(403);
        }
        expect((await canaryOf(canary.id)).state).toBe('running');
        await viewer.screenshot('rollout-running');
        await viewer.screenshot('rollout-top', 1500);
      } finally {
        await traffic.stop();
      }
    },
    LONG,
  );

  it(
    'a planted regression shows as a rollback whose logged sentence and numbers match GET /api/canaries/:id/events',
    async () => {
      await createFlag(app, 'chat-model', 'gemini-2.5-flash', 'deepseek-v3.2');
      const canary = await createCanary(app, 'chat-model');
      const viewer = await open(readKey);
      await viewer.show(`#/rollouts/${canary.id}`);
      // The clock has not moved since the canary was created: its spend so far is nothing, not an error.
      expect(await viewer.page.locator('#rollout-cost .error-text').count()).toBe(0);
      expect(await viewer.page.locator('#cost-table tbody tr td:nth-child(2)').allTextContents()).toEqual(['0', '0']);
      // The treatment's model now fails every call; the chat policy's fallback rescues the users,
      // which the canary counts against the treatment.
      await profile('deepseek-v3.2', { errorRate: 1 });
      const traffic = new Traffic(app, 'chat');
      try {
        await rows.waitFor('chat-model', canary.stage, {
          treatment: (arm) => arm.failures >= 30 && arm.failures > 0.8 * arm.requests,
          control: atLeast(10),
        });
        await clock.advance(TICK_MS);
      } finally {
        await traffic.stop();
        await profile('deepseek-v3.2', { errorRate: 0 });
      }
      const done = await canaryOf(canary.id);
      expect(done.state).toBe('rolled_back');

      const state = viewer.page.locator('#canary-state');
      await viewer.page.waitForFunction(() => document.querySelector('#canary-state')?.textContent === 'rolled back');
      expect(await state.textContent()).toBe('rolled back');
      const events = await eventsOf(canary.id);
      const rolledBack = events.find((event) => event.type === 'rolled_back')!;
      const verdict = events.find((event) => event.type === 'verdict' && event.evidence?.decision === 'rollback')!;
      expect(rolledBack.message).toMatch(/^rolled back in stage 1 \(50%\): error rate \+\d+\.\d pp/);
      // The log says exactly what the API says, numbers included.
      for (const event of [rolledBack, verdict]) {
        const entry = viewer.page.locator(`#decision-log li[data-event-id="${event.id}"] .sentence`);
        await entry.waitFor();
        expect(await entry.textContent()).toBe(event.message);
      }
      expect(await viewer.page.locator('#verdict-sentence').textContent()).toBe(done.lastVerdict.sentence);
      const errorRate = verdict.evidence!.metrics.find((metric: { metric: string }) => metric.metric === 'errorRate');
      const cells = await viewer.page
        .locator('#verdict-metrics tr', { hasText: 'error rate' })
        .first()
        .locator('td')
        .allTextContents();
      expect(cells.slice(0, 3)).toEqual([
        'error rate',
        `${(errorRate.treatment.estimate * 100).toFixed(2)}%`,
        `${(errorRate.control.estimate * 100).toFixed(2)}%`,
      ]);
      expect(cells[6]).toBe('harm');
      await viewer.screenshot('rollout-rolled-back');
    },
    LONG,
  );

  it(
    'an admin pauses and resumes a canary from the page, by keyboard, and finds the reasons in the flag history',
    async () => {
      await createFlag(app, 'fraud-model', 'claude-sonnet-4.5', 'gpt-4.1');
      const canary = await createCanary(app, 'fraud-model');
      await api(app)
        .post('/api/budgets')
        .send({ scope: 'policy', target: 'fraud', limitUsd: 250, period: 'month', onExhausted: 'downgrade' })
        .expect(201);
      const admin = await open(app.adminKey!);
      await admin.show(`#/rollouts/${canary.id}`);
      const { page } = admin;
      // The policy's budget is on the rollout page, with its spend.
      const budget = await page.locator('#rollout-budget tbody tr').first().locator('td').allTextContents();
      expect(budget).toEqual(['policy fraud', 'month', '$0.00', '$250.00', '$250.00', 'downgrade']);

      const act = async (action: string, reason: string, state: string) => {
        await page.locator(`[data-action="${action}"]`).focus();
        await page.keyboard.press('Enter');
        await expect(
          page.locator('#action-reason').evaluate((element) => element === document.activeElement),
        ).resolves.toBe(true);
        await page.keyboard.type(reason);
        await page.keyboard.press('Tab');
        await page.keyboard.press('Enter');
        await page.waitForFunction(
          (expected) => document.querySelector('#canary-state')?.textContent === expected,
          state,
        );
      };
      // No reason, no action: the dialog says what is missing.
      await page.locator('[data-action="pause"]').click();
      await page.getByRole('button', { name: 'Pause', exact: true }).last().click();
      await page.locator('#action-dialog [role="alert"]', { hasText: 'Say why' }).waitFor();
      await page.keyboard.press('Escape');
      expect((await canaryOf(canary.id)).state).toBe('running');

      await act('pause', 'provider latency spike, holding the ramp', 'paused');
      expect(await page.locator('[data-action="pause"]').isDisabled()).toBe(true);
      expect(await page.locator('[data-action="resume"]').isEnabled()).toBe(true);
      await admin.screenshot('rollout-paused');
      await act('resume', 'provider recovered', 'running');

      const history = (await api(app).get('/api/flags/fraud-model/history').expect(200)).body.items;
      expect(history[0].reason).toContain('provider recovered');
      expect(history[1].reason).toContain('provider latency spike, holding the ramp');

      await admin.show('#/flags');
      await page.locator('[data-history="fraud-model"]').click();
      const notes = page.locator('[data-flag="fraud-model"] li[data-action="note"] .reason');
      await page.waitForFunction(
        () => document.querySelectorAll('[data-flag="fraud-model"] li[data-action="note"]').length >= 2,
      );
      const texts = await notes.allTextContents();
      expect(texts[0]).toBe(`Reason: ${history[0].reason}`);
      expect(texts[1]).toBe(`Reason: ${history[1].reason}`);
      const events = await eventsOf(canary.id);
      expect(events.map((event) => event.message)).toEqual(
        expect.arrayContaining([expect.stringContaining('provider latency spike, holding the ramp')]),
      );
      await admin.screenshot('flags');
    },
    LONG,
  );

  it(
    'an archived flag, shown on request, reads as archived on the flags page, and its history says that archiving archived it',
    async () => {
      await createFlag(app, 'retired-model', 'gemini-2.5-flash', 'deepseek-v3.2');
      await createFlag(app, 'kept-model', 'gemini-2.5-flash', 'deepseek-v3.2');
      await api(app).delete('/api/flags/retired-model').send({ reason: 'replaced by chat-model' }).expect(200);
      const { archivedAt } = (await api(app).get('/api/flags/retired-model').expect(200)).body;
      const viewer = await open(readKey);
      await viewer.show('#/flags');
      // Archived flags are left out until asked for.
      expect(await viewer.page.locator('[data-flag="retired-model"]').count()).toBe(0);
      await viewer.page.getByLabel('also show archived flags').check();
      const panel = viewer.page.locator('[data-flag="retired-model"]');
      await panel.waitFor();
      expect(await panel.locator('.archived').allTextContents()).toEqual([
        `Archived ${archivedAt.slice(0, 10)} ${archivedAt.slice(11, 19)} UTC: it serves no request and takes no change; its history stays.`,
      ]);
      // A live flag carries no such mark.
      expect(await viewer.page.locator('[data-flag="kept-model"] .archived').count()).toBe(0);
      await panel.locator('[data-history="retired-model"]').click();
      const archive = panel.locator('li[data-action="archive"]');
      await archive.waitFor();
      expect(await archive.locator('div').nth(1).textContent()).toBe('archived: no → yes');
    },
    LONG,
  );

  it(
    'every page loads at 1280 px and at phone width without console errors, and is saved as a screenshot',
    async () => {
      // The canary with traffic and verdicts, so its charts are in the pictures.
      const running = (await api(app).get('/api/canaries').expect(200)).body.items.find(
        (canary: { flagKey: string }) => canary.flagKey === 'recommendations-model',
      );
      const routes: Array<[string, string]> = [
        ['rollouts', '#/rollouts'],
        ['rollout', `#/rollouts/${running.id}`],
        ['flags', '#/flags'],
        ['traffic', '#/traffic'],
        ['alerts', '#/alerts'],
      ];
      for (const [label, viewport] of [
        ['desktop', undefined],
        ['phone', PHONE],
      ] as const) {
        const viewer = await open(readKey, viewport);
        for (const [name, hash] of routes) {
          await viewer.show(hash);
          if (name === 'traffic') {
            await viewer.page.locator('#cost-by-policy').waitFor();
            // By team key: the series are named after the keys, as the cost report names them.
            await viewer.page.getByLabel('Group by').selectOption('apiKey');
            await viewer.page.locator('figure[data-chart="requests"] .u-legend', { hasText: 'admin' }).waitFor();
          }
          // Nothing wider than the screen: tables scroll inside their own box.
          const overflow = await viewer.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          expect({ page: name, overflow }).toEqual({ page: name, overflow: 0 });
          await viewer.screenshot(`${name}-${label}`);
        }
      }
      expect(browser.errors()).toEqual([]);
    },
    LONG,
  );
});

describe('control room in a browser: a canary that ran long', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  let browser: BrowserSession;
  const clock = new ManualClock();

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ databaseUrl: database.url, clock, env: { ...ENV, UI_DIR: await buildUi() } });
    browser = await BrowserSession.launch();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await database?.drop();
  });

  it(
    'loads its quiet looks thinned, as GET …/events?quietEvery gives them, and says so in the log',
    async () => {
      await createFlag(app, 'chat-model', 'gemini-2.5-flash', 'deepseek-v3.2');
      const { id } = await createCanary(app, 'chat-model', { minRequests: 1_000_000 });
      // Looks that wait for data: a few, 50 minutes of nothing, then a few more. 3 008 s of life in
      // about 400 looks' worth: one quiet look per 7 s is kept.
      for (let i = 0; i < 5; i++) await clock.advance(TICK_MS);
      await clock.advance(3_000_000);
      for (let i = 0; i < 3; i++) await clock.advance(TICK_MS);
      const canary = (await api(app).get(`/api/canaries/${id}`).expect(200)).body;
      const life = (Date.parse(canary.lastVerdict.at) - Date.parse(canary.createdAt)) / 1000;
      const quietEvery = Math.floor(life / 400);
      expect(quietEvery).toBe(7);
      const page = async (query: Record<string, number>) =>
        (
          await api(app)
            .get(`/api/canaries/${id}/events`)
            .query({ limit: 500, ...query })
            .expect(200)
        ).body.items as CanaryEvent[];
      const all = await page({});
      const thinned = await page({ quietEvery });
      expect(thinned.length).toBeLessThan(all.length);

      const viewer = await browser.open(app.url, app.adminKey!);
      await viewer.show(`#/rollouts/${id}`);
      await viewer.page.locator('#show-quiet').check();
      await viewer.page.locator('#quiet-thinned').waitFor();
      expect(await viewer.page.locator('#quiet-thinned').textContent()).toContain(
        'one look that decided to wait is shown per 7 s',
      );
      const shown = await viewer.page
        .locator('#decision-log li')
        .evaluateAll((items) => items.map((item) => Number(item.getAttribute('data-event-id'))));
      expect(shown).toEqual(thinned.map((event) => event.id).reverse());
      expect(browser.errors()).toEqual([]);
    },
    LONG,
  );
});

describe('control room in a browser: a canary no tick can judge', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  let browser: BrowserSession;
  const clock = new ManualClock();

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({
      databaseUrl: database.url,
      clock,
      // A tick waiting on the held row gives up after 2 s instead of a minute.
      env: { ...ENV, DATABASE_STATEMENT_TIMEOUT_MS: '2000', UI_DIR: await buildUi() },
    });
    browser = await BrowserSession.launch();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await database?.drop();
  });

  it(
    'says it is stalled, since when and why, in the list and on its page, until a tick judges it',
    async () => {
      await createFlag(app, 'chat-model', 'gemini-2.5-flash', 'deepseek-v3.2');
      const { id } = await createCanary(app, 'chat-model');
      // Another session holds the canary's row: every tick fails to claim its period.
      const locker = new Client({ connectionString: database.url });
      await locker.connect();
      try {
        await locker.query('BEGIN');
        await locker.query('SELECT 1 FROM canaries WHERE id = $1 FOR UPDATE', [id]);
        for (let i = 0; i < 3; i++) await clock.advance(TICK_MS);
        const { stalled } = (await api(app).get(`/api/canaries/${id}`).expect(200)).body;
        expect(stalled).toMatchObject({ missedTicks: 3 });

        const viewer = await browser.open(app.url, app.adminKey!);
        await viewer.show('#/rollouts');
        await viewer.page.locator('#rollouts-table .badge.stalled').waitFor();
        await viewer.show(`#/rollouts/${id}`);
        const notice = viewer.page.locator('#canary-stalled');
        await notice.waitFor();
        const text = await notice.textContent();
        expect(text).toContain('No tick has judged this canary since');
        expect(text).toContain('(3 tick periods)');
        // Why, as the tick that failed stored it.
        expect(text).toContain(`on ${stalled.lastFailure.instance}: canceling statement due to statement timeout.`);
        expect(text).toContain('switchyard_canary_tick_failures_total');

        await locker.query('ROLLBACK');
        await clock.advance(TICK_MS);
        expect((await api(app).get(`/api/canaries/${id}`).expect(200)).body.stalled).toBeNull();
        // The page's next poll drops the notice.
        await notice.waitFor({ state: 'detached' });
        expect(browser.errors()).toEqual([]);
      } finally {
        await locker.end();
      }
    },
    LONG,
  );
});
