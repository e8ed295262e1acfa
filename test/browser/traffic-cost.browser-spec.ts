/// <reference lib="dom" />
// Functions passed to page.evaluate / waitForFunction run in the browser, with its globals.
import type { Page } from 'playwright-core';
import request from 'supertest';
import { dollars } from '../../libs/stats/src/grouped';
import { ManualClock } from '../../src/common/manual-clock';
import { api, type TestApp } from '../support/test-app';
import { queryRows } from '../support/test-database';
import { eventually } from '../support/webhook-server';
import { startControlRoom, type ControlRoomRig } from './control-room-rig';
import { BrowserSession } from './browser';

/*
 * The traffic page's spend in a real browser against the real app, simulator and Postgres: requests
 * a provider may have billed without reporting usage (here streams the simulator breaks after their
 * first chunk) have no cost in the dollars shown, and the page says how many, in all and per row.
 */
const HELD = new Date('2026-12-07T12:00:00.000Z');
const LONG = 180_000;
const hello = [{ role: 'user', content: 'Recommend a book.' }];

describe('the traffic page in a browser: spend with requests whose cost is unknown', () => {
  let app: TestApp;
  let browser: BrowserSession;
  let databaseUrl = '';
  const clock = new ManualClock();

  let rig: ControlRoomRig | undefined;
  beforeAll(async () => {
    rig = await startControlRoom({ clock, env: { METRICS_FLUSH_INTERVAL_MS: '20' } });
    ({ app, browser } = rig);
    databaseUrl = rig.database.url;
  }, 120_000);
  afterAll(() => rig?.close());

  /** Waits for `rows` metric rows, then moves the clock on: the report's window ends at now, exclusive. */
  const stored = async (rows: number) => {
    const count = async () =>
      (await queryRows<{ rows: number }>(databaseUrl, 'SELECT count(*)::int AS rows FROM request_metrics'))[0].rows;
    await eventually(async () => (await count()) === rows, 5000, `${rows} metric rows`);
    await clock.advance(1000);
  };
  /** Each row of a cost table: its name and its Cost cell. */
  const costCells = async (page: Page, id: string) =>
    (await page
      .locator(`#${id} tbody tr`)
      .evaluateAll((rows: HTMLTableRowElement[]) =>
        rows.map((row) => [row.cells[0].textContent, row.cells[2].textContent]),
      )) as Array<[string, string]>;

  it(
    'says how many requests are unpriced beside the dollars, and on each row that has any',
    async () => {
      // A priced answer through a policy: nothing to say.
      await api(app).post('/v1/chat/completions').send({ model: 'route:recommendations', messages: hello }).expect(200);
      await stored(1);
      const viewer = await browser.open(app.url, app.adminKey!, { heldClock: HELD });
      const { page } = viewer;
      await viewer.show('#/traffic');
      expect(await page.locator('#cost-unpriced').count()).toBe(0);
      expect((await costCells(page, 'cost-by-model')).map(([, cost]) => cost)).toEqual([
        expect.not.stringContaining('unpriced'),
      ]);

      // Two streams of gpt-4.1 (no policy) that break after their first chunk: usage never came.
      await request(app.simulatorUrl).put('/_simulator/profiles/gpt-4.1').send({ streamFailureRate: 1 }).expect(200);
      for (let i = 0; i < 2; i++) {
        const broken = await api(app)
          .post('/v1/chat/completions')
          .send({ model: 'gpt-4.1', messages: hello, stream: true })
          .expect(200);
        expect(broken.text).toContain('upstream_stream_error');
      }
      await stored(3);
      await viewer.refresh();
      expect(await page.locator('#cost-unpriced').allTextContents()).toEqual([
        '2 requests unpriced: the provider may have billed them without reporting usage (an answer without usage, ' +
          'a stream that broke, a client that left), so the dollars below leave them out; spend budgets charged ' +
          'each its worst case.',
      ]);
      // Each table's Cost cell, as the report gives the groups: the count beside the dollars where it is not 0.
      for (const [groupBy, id] of [
        ['model', 'cost-by-model'],
        ['policy', 'cost-by-policy'],
        ['apiKey', 'cost-by-key'],
      ]) {
        const report = (await api(app).get('/api/metrics/cost').query({ groupBy }).expect(200)).body;
        const expected = (report.groups as Array<{ costUsd: number; unpricedRequests: number }>).map((group) =>
          group.unpricedRequests > 0
            ? `${dollars(group.costUsd)} (${group.unpricedRequests} unpriced)`
            : dollars(group.costUsd),
        );
        expect({ id, costs: (await costCells(page, id)).map(([, cost]) => cost) }).toEqual({ id, costs: expected });
      }
      expect(await costCells(page, 'cost-by-model')).toEqual([
        ['deepseek-v3.2', expect.not.stringContaining('unpriced')],
        ['gpt-4.1', expect.stringMatching(/^\$[\d.]+ \(2 unpriced\)$/)],
      ]);
      expect(await costCells(page, 'cost-by-policy')).toEqual([
        ['recommendations', expect.not.stringContaining('unpriced')],
        ['(no policy)', expect.stringMatching(/ \(2 unpriced\)$/)],
      ]);
      expect(browser.errors()).toEqual([]);
    },
    LONG,
  );
});
