/// <reference lib="dom" />
// Functions passed to page.evaluate / waitForFunction run in the browser, with its globals.
import { ManualClock } from '../../src/common/manual-clock';
import { api, policiesFor, writeTestCatalog, type TestApp } from '../support/test-app';
import { atLeast, MetricRows, Traffic } from '../support/traffic';
import { startControlRoom, type ControlRoomRig } from './control-room-rig';
import { BrowserSession } from './browser';
import { LATENCY_GUARDRAILS_OFF } from '../support/canary-analysis';

/*
 * A rollout's page in a real browser as its canary and its flag change, against the real app,
 * Postgres and the simulator. The app's time is a ManualClock (ticks run when the test moves it); the
 * browser's clock is held too (Playwright's fake clock), so the page polls when the test says.
 */
const TICK_MS = 1000;
const HELD = new Date('2026-12-07T12:00:00.000Z');
const ENV = {
  CANARY_TICK_SECONDS: String(TICK_MS / 1000),
  METRICS_FLUSH_INTERVAL_MS: '20',
  GATEWAY_MAX_RETRIES: '0',
  GATEWAY_BREAKER_MIN_REQUESTS: '100000',
  GATEWAY_BREAKER_CONSECUTIVE_FAILURES: '100000',
};
const STAGES = [
  { percentage: 50, durationSeconds: 3600 },
  { percentage: 100, durationSeconds: 0 },
];
const LONG = 180_000;
/** An API time as the page writes it. */
const utc = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
const FLAGS = [
  'tz-flag',
  'rollback-flag',
  'promote-flag',
  'kill-flag',
  'pause-flag',
  'act-flag',
  'elsewhere-flag',
  'axis-flag',
  'phone-flag',
  'ttft-flag',
];

describe('a rollout page in a browser, as its canary and its flag change', () => {
  let app: TestApp;
  let rows: MetricRows;
  let browser: BrowserSession;
  let readKey = '';
  const clock = new ManualClock();

  const canaryOf = async (id: string) => (await api(app).get(`/api/canaries/${id}`).expect(200)).body;
  const createFlag = (key: string) =>
    api(app)
      .post('/api/flags')
      .send({
        key,
        variants: { control: 'deepseek-v3.2', treatment: 'gemini-2.5-flash' },
        defaultVariant: 'control',
        rollout: {},
      })
      .expect(201);
  const startCanary = async (flagKey: string, stages = STAGES, analysis: object = { minRequests: 10 }) => {
    await createFlag(flagKey);
    return (await api(app).post('/api/canaries').send({ flagKey, variant: 'treatment', stages, analysis }).expect(201))
      .body as { id: string; stage: { startedAt: string } };
  };
  /** Traffic until both arms have `n` rows in the stage, then a tick: a look with numbers. */
  const look = async (flagKey: string, stageStartedAt: string, n = 20) => {
    const traffic = new Traffic(app, flagKey);
    try {
      await rows.waitFor(flagKey, stageStartedAt, { treatment: atLeast(n), control: atLeast(n) });
    } finally {
      await traffic.stop();
    }
    await clock.advance(TICK_MS);
  };

  let rig: ControlRoomRig | undefined;
  beforeAll(async () => {
    rig = await startControlRoom({
      catalog: await writeTestCatalog(policiesFor(...FLAGS)),
      clock,
      env: ENV,
    });
    ({ app, rows, readKey, browser } = rig);
  }, 120_000);
  afterAll(() => rig?.close());

  it(
    'says every time in UTC, and says so, to a browser set to Paris and French',
    async () => {
      const canary = await startCanary('tz-flag');
      await look('tz-flag', canary.stage.startedAt);
      // Three looks a second apart: ticks of whole seconds, none read twice.
      await clock.advance(TICK_MS);
      await clock.advance(TICK_MS);
      const viewer = await browser.open(app.url, readKey, {
        heldClock: HELD,
        timezoneId: 'Europe/Paris',
        locale: 'fr-FR',
        canvasText: true,
      });
      await viewer.show(`#/rollouts/${canary.id}`);
      await viewer.page.locator('figure[data-metric="errorRate"] figcaption').waitFor();
      expect(await viewer.page.locator('#updated').textContent()).toBe('Updated 12:00:00 UTC · every 3 s');
      expect(await viewer.page.locator('#rollout-header dd').nth(2).textContent()).toMatch(
        /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by /,
      );
      // The charts' time axes: 24-hour UTC, the date as in the tables, and the first tick says UTC.
      const at = Date.parse((await canaryOf(canary.id)).lastVerdict.at);
      const hours = new Set([at - 180_000, at, at + 120_000].map((t) => new Date(t).toISOString().slice(11, 13)));
      const drawn = (await viewer.canvasText()).filter(
        (text) => text.metric === 'errorRate' && text.align === 'center',
      );
      const labels = drawn.map((text) => text.text);
      for (const canvas of new Set(drawn.map((text) => text.canvas))) {
        const ticks = drawn
          .filter((text) => text.canvas === canvas && /^\d\d:/.test(text.text))
          .map((text) => text.text);
        expect(new Set(ticks).size).toBe(ticks.length);
      }
      expect(labels.length).toBeGreaterThan(0);
      for (const label of labels) expect(label).toMatch(/^(\d\d:\d\d(:\d\d)?( UTC)?|\d{4}-\d\d-\d\d)$/);
      const times = labels.filter((label) => /^\d\d:/.test(label));
      expect(times.every((label) => hours.has(label.slice(0, 2)))).toBe(true);
      expect(times.some((label) => label.endsWith(' UTC'))).toBe(true);
      await viewer.screenshot('rollout-paris');
      expect(browser.errors()).toEqual([]);
    },
    LONG,
  );

  it(
    'an ended canary reads as ended: where it ended and the share it left, in the list, its header and its stages',
    async () => {
      // Rolled back by hand in its first stage.
      const back = await startCanary('rollback-flag');
      await api(app).post(`/api/canaries/${back.id}/rollback`).send({ reason: 'wrong model' }).expect(200);
      // Promoted by the tick at the end of its first stage, straight to the last (100%, until promoted).
      const ahead = await startCanary(
        'promote-flag',
        [
          { percentage: 50, durationSeconds: 60 },
          { percentage: 100, durationSeconds: 0 },
        ],
        { minRequests: 10, guardrails: LATENCY_GUARDRAILS_OFF },
      );
      await look('promote-flag', ahead.stage.startedAt);
      await clock.advance(60_000);
      const [rolledBack, promoted] = [await canaryOf(back.id), await canaryOf(ahead.id)];
      expect([rolledBack.state, promoted.state]).toEqual(['rolled_back', 'promoted']);

      const viewer = await browser.open(app.url, readKey, { heldClock: HELD });
      const { page } = viewer;
      await viewer.show('#/rollouts');
      // Stage, planned share, time in stage.
      const row = async (id: string) => {
        const cells = await page.locator(`#rollouts-table tr[data-key="${id}"] td`).allTextContents();
        return [cells[3], cells[4], cells[6]];
      };
      expect(await row(back.id)).toEqual(['ended in 1 of 2', '0% (ended)', `ended ${utc(rolledBack.endedAt)}`]);
      expect(await row(ahead.id)).toEqual(['ended in 2 of 2', '100% (ended)', `ended ${utc(promoted.endedAt)}`]);

      const stages = () => page.locator('#timeline-table tbody tr td:first-child').allTextContents();
      await viewer.show(`#/rollouts/${back.id}`);
      expect(await page.locator('#rollout-header dd').first().textContent()).toBe(
        'rolled back in stage 1 of 2 (planned 50%), leaving the treatment at 0%',
      );
      expect(await page.locator('#rollout-header progress').count()).toBe(0);
      expect(await stages()).toEqual(['1 (rolled back here)', '2']);

      await viewer.show(`#/rollouts/${ahead.id}`);
      expect(await page.locator('#rollout-header dd').first().textContent()).toBe(
        'promoted in stage 2 of 2 (planned 100%), leaving the treatment at 100%',
      );
      expect(await stages()).toEqual(['1', '2 (promoted here)']);
      // The promotion started the last stage.
      expect(await page.locator('#timeline-table tbody tr').nth(1).locator('td').nth(5).textContent()).toBe(
        utc(promoted.endedAt),
      );
      expect(browser.errors()).toEqual([]);
    },
    LONG,
  );

  it(
    'a running canary whose flag was killed says so: every user gets the control, whatever the stage plans',
    async () => {
      const canary = await startCanary('kill-flag');
      const viewer = await browser.open(app.url, readKey, { heldClock: HELD });
      const { page } = viewer;
      await viewer.show(`#/rollouts/${canary.id}`);
      const notice = page.locator('#flag-killed');
      expect(await notice.count()).toBe(0);

      await api(app).post('/api/flags/kill-flag/kill').send({ reason: 'provider incident' }).expect(200);
      await viewer.refresh();
      expect(await notice.allTextContents()).toEqual([
        'The flag kill-flag is switched off (killed): every user gets its default variant, control, and none the treatment, whatever this stage plans. Enabling the flag gives the stage its weight back.',
      ]);
      expect((await canaryOf(canary.id)).state).toBe('running');

      await api(app).post('/api/flags/kill-flag/enable').send({ reason: 'incident over' }).expect(200);
      await viewer.refresh();
      expect(await notice.count()).toBe(0);
      expect(browser.errors()).toEqual([]);
    },
    LONG,
  );

  it(
    "a paused canary's time in stage stands still, and the page says a resume starts the stage again",
    async () => {
      const canary = await startCanary('pause-flag');
      await clock.advance(120_000);
      await api(app).post(`/api/canaries/${canary.id}/pause`).send({ reason: 'a closer look' }).expect(200);
      const viewer = await browser.open(app.url, readKey, { heldClock: HELD });
      const { page } = viewer;
      await viewer.show(`#/rollouts/${canary.id}`);
      const timeInStage = page.locator('#rollout-header dd').nth(1);
      const paused = '2.0 min of 60.0 min, paused: a resume starts the stage again';
      expect(await timeInStage.textContent()).toBe(paused);
      expect(await page.locator('#rollout-header progress').count()).toBe(0);
      await clock.advance(600_000);
      await viewer.refresh();
      expect(await timeInStage.textContent()).toBe(paused);

      await viewer.show('#/rollouts');
      const cells = await page.locator(`#rollouts-table tr[data-key="${canary.id}"] td`).allTextContents();
      expect(cells[6]).toBe('2.0 min of 60.0 min (paused)');
      expect(browser.errors()).toEqual([]);
    },
    LONG,
  );

  it(
    'after an action from the dialog, the keyboard focus goes to the button that undoes it, or to the result',
    async () => {
      const canary = await startCanary('act-flag');
      const admin = await browser.open(app.url, app.adminKey!, { heldClock: HELD });
      const { page } = admin;
      await admin.show(`#/rollouts/${canary.id}`);
      const act = async (action: string, reason: string, result: string) => {
        await page.locator(`[data-action="${action}"]`).focus();
        await page.keyboard.press('Enter');
        await page.keyboard.type(reason);
        await page.keyboard.press('Tab');
        await page.keyboard.press('Enter');
        await page.locator('#rollout-action-result', { hasText: result }).waitFor();
        return page.evaluate(() => {
          const element = document.activeElement;
          return element === document.body ? 'nothing' : (element?.getAttribute('data-action') ?? element?.textContent);
        });
      };
      expect(await act('pause', 'a closer look', 'the canary is paused')).toBe('resume');
      expect(await act('resume', 'looked', 'the canary is running')).toBe('pause');
      // Nothing is left to do once it ended: the result, which says so, has the focus.
      expect(await act('abort', 'not now', 'the canary is aborted')).toBe('Abort: done, the canary is aborted.');
      expect(browser.errors()).toEqual([]);
    },
    LONG,
  );

  it(
    "an action's result goes once the canary changes elsewhere",
    async () => {
      const canary = await startCanary('elsewhere-flag');
      const admin = await browser.open(app.url, app.adminKey!, { heldClock: HELD });
      const { page } = admin;
      await admin.show(`#/rollouts/${canary.id}`);
      await page.locator('[data-action="pause"]').click();
      await page.locator('#action-reason').fill('a closer look');
      await page.locator('#action-dialog button[type="submit"]').click();
      const result = page.locator('#rollout-action-result');
      await result.filter({ hasText: 'Pause: done, the canary is paused.' }).waitFor();
      // A poll that finds the canary as the action left it keeps the result.
      await admin.refresh();
      expect(await result.textContent()).toBe('Pause: done, the canary is paused.');

      await api(app).post(`/api/canaries/${canary.id}/resume`).send({ reason: 'resumed by someone else' }).expect(200);
      await admin.refresh();
      expect(await page.locator('#canary-state').textContent()).toBe('running');
      expect(await result.textContent()).toBe('');
      expect(browser.errors()).toEqual([]);
    },
    LONG,
  );

  it(
    "every chart's value labels show whole, signs included: the axis is as wide as its longest label",
    async () => {
      const canary = await startCanary('axis-flag');
      await look('axis-flag', canary.stage.startedAt);
      const viewer = await browser.open(app.url, readKey, { heldClock: HELD, canvasText: true });
      await viewer.show(`#/rollouts/${canary.id}`);
      await viewer.page.locator('figure[data-metric="errorRate"] figcaption').waitFor();
      // The y axis' labels are right-aligned against it: each must start inside the canvas.
      const labels = (await viewer.canvasText()).filter((drawn) => drawn.metric && drawn.align === 'right');
      expect(labels.map((label) => label.text)).toEqual(
        expect.arrayContaining([expect.stringMatching(/^[+-]\d+\.\d\d pp$/)]),
      );
      const cut = labels.filter((label) => label.x - label.width < 0).map((label) => `${label.metric}: ${label.text}`);
      expect(cut).toEqual([]);
      expect(browser.errors()).toEqual([]);
    },
    LONG,
  );

  it(
    "on a phone, the rollouts list gives the last verdict's sentence room to read, the table scrolling instead",
    async () => {
      const canary = await startCanary('phone-flag');
      await clock.advance(TICK_MS);
      expect((await canaryOf(canary.id)).lastVerdict.sentence.length).toBeGreaterThan(60);
      const viewer = await browser.open(app.url, readKey, { heldClock: HELD, viewport: { width: 375, height: 812 } });
      await viewer.show('#/rollouts');
      const cell = viewer.page.locator(`#rollouts-table tr[data-key="${canary.id}"] td`).last();
      expect((await cell.boundingBox())!.width).toBeGreaterThanOrEqual(240);
      // The table scrolls in its own box: the page is no wider than the screen.
      expect(await viewer.page.evaluate(() => document.documentElement.scrollWidth)).toBe(375);
      expect(viewer.errors).toEqual([]);
    },
    LONG,
  );

  it(
    'a chart with no data says so, instead of drawing an axis for values that are not there',
    async () => {
      // No request streams, so neither arm has a time to first token.
      const canary = await startCanary('ttft-flag');
      await look('ttft-flag', canary.stage.startedAt);
      const ttft = (await canaryOf(canary.id)).lastVerdict.metrics.find(
        (m: { metric: string }) => m.metric === 'ttftP50',
      );
      expect([ttft.treatment.estimate, ttft.control.estimate]).toEqual([null, null]);
      const viewer = await browser.open(app.url, readKey, { heldClock: HELD, canvasText: true });
      await viewer.show(`#/rollouts/${canary.id}`);
      const figure = viewer.page.locator('figure[data-metric="ttftP50"]');
      await figure.locator('figcaption').waitFor();
      expect(await figure.locator('.no-data:visible').allTextContents()).toEqual(['No data yet', 'No data yet']);
      const values = (await viewer.canvasText()).filter(
        (drawn) => drawn.metric === 'ttftP50' && drawn.align === 'right' && drawn.text !== '',
      );
      expect(values.map((drawn) => drawn.text)).toEqual([]);
      // A chart with data has its axis and no such note.
      expect(await viewer.page.locator('figure[data-metric="errorRate"] .no-data:visible').count()).toBe(0);
      expect(viewer.errors).toEqual([]);
    },
    LONG,
  );
});
