/// <reference lib="dom" />
// Functions passed to page.evaluate / waitForFunction run in the browser, with its globals.
import { ManualClock } from '../../src/common/manual-clock';
import { api, type TestApp } from '../support/test-app';
import { queryRows } from '../support/test-database';
import { eventually } from '../support/webhook-server';
import { startControlRoom, type ControlRoomRig } from './control-room-rig';
import { BrowserSession } from './browser';

/*
 * A line chart with a single value in a real browser: a line through one point draws nothing, so
 * the chart must mark it. What the canvas shows is read back pixel by pixel.
 */
const HELD = new Date('2026-12-07T12:00:00.000Z');
const LONG = 180_000;
/** The first series' colour (COLOURS.series[0] in ui/src/charts.ts), as RGB. */
const FIRST_SERIES = [0x00, 0x72, 0xb2];

describe('a chart in a browser: a series of one point', () => {
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

  it(
    'draws a visible marker for the one minute that had traffic',
    async () => {
      await api(app)
        .post('/v1/chat/completions')
        .send({ model: 'route:recommendations', messages: [{ role: 'user', content: 'Recommend a book.' }] })
        .expect(200);
      const stored = async () =>
        (await queryRows<{ rows: number }>(databaseUrl, 'SELECT count(*)::int AS rows FROM request_metrics'))[0].rows;
      await eventually(async () => (await stored()) === 1, 5000, "the request's metric row");
      // The window ends at the clock's now, exclusive: the row is in it once the clock has moved on.
      await clock.advance(1000);
      const viewer = await browser.open(app.url, app.adminKey!, { heldClock: HELD });
      await viewer.show('#/traffic');
      const chart = viewer.page.locator('figure[data-chart="requests"] .chart');
      expect(await chart.getAttribute('data-points')).toBe('1');
      // Pixels of the series' colour on the canvas: the marker (the legend is HTML, not on it).
      const marked = await chart.locator('canvas').evaluate((canvas: HTMLCanvasElement, colour) => {
        const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
        let count = 0;
        for (let i = 0; i < data.length; i += 4)
          if (data[i + 3] > 200 && colour.every((value, channel) => Math.abs(data[i + channel] - value) <= 16)) count++;
        return count;
      }, FIRST_SERIES);
      expect(marked).toBeGreaterThanOrEqual(20);
      await viewer.screenshot('traffic-one-point');
      expect(browser.errors()).toEqual([]);
    },
    LONG,
  );
});
