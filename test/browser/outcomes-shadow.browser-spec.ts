/// <reference lib="dom" />
// Functions passed to page.evaluate / waitForFunction run in the browser, with its globals.
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { dollars } from '@switchyard/stats';
import { ManualClock } from '../../src/common/manual-clock';
import { api, policiesFor, writeTestCatalog, type TestApp } from '../support/test-app';
import { createTestDatabase, queryRows } from '../support/test-database';
import { CANDIDATE_MODEL, withCandidate } from '../support/shadow';
import { atLeast, MetricRows, Traffic } from '../support/traffic';
import { eventually } from '../support/webhook-server';
import { startControlRoom, type ControlRoomRig } from './control-room-rig';
import { BrowserSession, PHONE } from './browser';

/*
 * The rollout page's outcome and shadow panels in a real browser against the real app, Postgres and
 * the simulator over HTTP. Time is a ManualClock: ticks run when the test moves it; the page polls
 * on its own and the test waits for what it shows. Screenshots go to test/browser/artifacts/.
 */
const TICK_MS = 1000;
const ENV = {
  CANARY_TICK_SECONDS: String(TICK_MS / 1000),
  METRICS_FLUSH_INTERVAL_MS: '20',
  GATEWAY_MAX_RETRIES: '0',
  SHADOW_ANSWER_CHARS: '200',
};
const STAGES = [
  { percentage: 50, durationSeconds: 3600 },
  { percentage: 100, durationSeconds: 0 },
];
const LONG = 180_000;

interface CanaryEvent {
  id: number;
  type: string;
  message: string;
  evidence: Record<string, any> | null;
}

describe('outcome and shadow panels in a browser', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  let rows: MetricRows;
  let browser: BrowserSession;
  let readKey = '';
  const clock = new ManualClock();

  const open = (key: string, viewport?: { width: number; height: number }) => browser.open(app.url, key, { viewport });
  const createFlag = (key: string, treatment: string) =>
    api(app)
      .post('/api/flags')
      .send({ key, variants: { control: 'deepseek-v3.2', treatment }, defaultVariant: 'control', rollout: {} })
      .expect(201);
  const canaryOf = async (id: string) => (await api(app).get(`/api/canaries/${id}`).expect(200)).body;
  const eventsOf = async (id: string) =>
    (await api(app).get(`/api/canaries/${id}/events`).query({ limit: 500 }).expect(200)).body.items as CanaryEvent[];
  const profile = (model: string, settings: Record<string, unknown>) =>
    request(app.simulatorUrl).put(`/_simulator/profiles/${model}`).send(settings).expect(200);

  let rig: ControlRoomRig | undefined;
  beforeAll(async () => {
    rig = await startControlRoom({
      catalog: await writeTestCatalog((catalog) => {
        policiesFor('empty-flag', 'json-flag', 'checkout-flag')(catalog);
        withCandidate(catalog);
      }),
      clock,
      env: ENV,
    });
    ({ database, app, rows, readKey, browser } = rig);
  }, 120_000);
  afterAll(() => rig?.close());

  // First: it moves the clock past the attribution window, ahead of the wall clock, so the tests
  // after it show the rollout page on a clock ahead of real time (the metrics API's default `to` is
  // the gateway's clock, and a window that has just begun is empty, not refused).
  it(
    'a canary gating on a defined conversion metric shows it in the outcome panel and the cost per conversion of both arms',
    async () => {
      const WINDOW_SECONDS = 300;
      await api(app)
        .post('/api/outcome-metrics')
        .send({
          key: 'checkout_converted',
          type: 'binary',
          direction: 'higher_is_better',
          unit: 'user',
          attributionWindowSeconds: WINDOW_SECONDS,
        })
        .expect(201);
      await createFlag('checkout-flag', 'gemini-2.5-flash');
      const canary = (
        await api(app)
          .post('/api/canaries')
          .send({
            flagKey: 'checkout-flag',
            variant: 'treatment',
            stages: STAGES,
            analysis: {
              minRequests: 50,
              outcomes: [{ metric: 'checkout_converted', margin: { relative: 0.02 } }],
              primaryOutcome: 'checkout_converted',
            },
          })
          .expect(201)
      ).body as { id: string };
      // 400 users, one request each; every fifth converts, whatever its arm.
      const users = Array.from({ length: 400 }, (_, i) => `checkout-user-${i}`);
      for (let i = 0; i < users.length; i += 20)
        await Promise.all(
          users.slice(i, i + 20).map((user) =>
            request(app.url)
              .post('/v1/chat/completions')
              .set('authorization', `Bearer ${app.adminKey}`)
              .set('x-user-id', user)
              .send({ model: 'route:checkout-flag', messages: [{ role: 'user', content: 'Recommend a book.' }] })
              .expect(200),
          ),
        );
      await rows.waitFor('checkout-flag', new Date(0).toISOString(), { treatment: atLeast(50), control: atLeast(50) });
      const reported = await request(app.url)
        .post('/v1/outcomes')
        .set('authorization', `Bearer ${app.adminKey}`)
        .send({
          events: users.map((user, i) => ({
            metric: 'checkout_converted',
            value: i % 5 === 0,
            userId: user,
            idempotencyKey: `order-${user}`,
          })),
        })
        .expect(202);
      const ids = reported.body.results.map((result: { id: string }) => result.id);
      await eventually(async () => {
        const [row] = await queryRows<{ n: number }>(
          database.url,
          'SELECT count(*)::int AS n FROM outcome_events WHERE id = ANY($1)',
          [ids],
        );
        return row.n >= users.length ? true : undefined;
      }, 30_000);
      // The attribution windows close: the look counts the conversions.
      await clock.advance(WINDOW_SECONDS * 1000);
      const running = await canaryOf(canary.id);
      const primary = running.lastVerdict.primary;
      expect(primary.treatment.outcomes + primary.control.outcomes).toBe(80);

      const viewer = await open(readKey);
      await viewer.show(`#/rollouts/${canary.id}`);
      const figure = viewer.page.locator('#outcomes figure[data-metric="checkout_converted"]');
      await figure.locator('figcaption').waitFor();
      const gate = running.lastVerdict.metrics.find((m: { metric: string }) => m.metric === 'checkout_converted');
      expect(await figure.locator('figcaption').textContent()).toContain(
        `treatment ${(gate.treatment.estimate * 100).toFixed(2)}%, control ${(gate.control.estimate * 100).toFixed(2)}%; ratio ${gate.effect.toFixed(3)}×`,
      );
      const perOutcome = await viewer.page.locator('#cost-table tbody tr td:nth-child(5)').allTextContents();
      expect(perOutcome).toEqual(
        [primary.treatment, primary.control].map(
          (arm: { costPerOutcomeUsd: number; outcomes: number }) =>
            `${dollars(arm.costPerOutcomeUsd)} (${arm.outcomes} outcomes)`,
        ),
      );
      expect(await viewer.page.locator('#primary-outcome').textContent()).toContain(
        `effect ${primary.effect.toFixed(3)}×`,
      );
      await viewer.screenshot('rollout-conversions');
      expect(browser.errors()).toEqual([]);
    },
    LONG,
  );
  it(
    'a canary gating on empty_answer shows the metric in the outcome panel, and after the rollback the events API’s sentence',
    async () => {
      await createFlag('empty-flag', 'gemini-2.5-flash');
      await profile('gemini-2.5-flash', { emptyAnswerRate: 0.3 });
      const canary = (
        await api(app)
          .post('/api/canaries')
          .send({
            flagKey: 'empty-flag',
            variant: 'treatment',
            stages: STAGES,
            analysis: {
              minRequests: 10,
              outcomes: [{ metric: 'empty_answer', margin: { absolute: 0.005 } }],
              primaryOutcome: 'empty_answer',
            },
          })
          .expect(201)
      ).body as { id: string; stage: { startedAt: string } };
      const viewer = await open(readKey);
      await viewer.show(`#/rollouts/${canary.id}`);
      await viewer.page
        .locator('#outcome-gates', { hasText: 'Gated on empty_answer (primary: empty_answer)' })
        .waitFor();

      const traffic = new Traffic(app, 'empty-flag');
      try {
        const from = canary.stage.startedAt;
        // Enough empty answers that the confidence sequence (valid at every look) clears the margin.
        await eventually(
          async () => {
            const [row] = await queryRows<{ empty: number; control: number }>(
              database.url,
              `SELECT count(*) FILTER (WHERE variant = 'treatment' AND quality_signals & 1 <> 0)::int AS empty,
                      count(*) FILTER (WHERE variant = 'control' AND quality_signals IS NOT NULL)::int AS control
                 FROM request_metrics WHERE flag = 'empty-flag' AND at >= $1`,
              [new Date(from)],
            );
            return row.empty >= 40 && row.control >= 100 ? true : undefined;
          },
          60_000,
          'empty answers of the treatment',
        );
        await rows.waitFor('empty-flag', from, { control: atLeast(10) });
        await clock.advance(TICK_MS);
      } finally {
        await traffic.stop();
        await profile('gemini-2.5-flash', { emptyAnswerRate: 0 });
      }
      const done = await canaryOf(canary.id);
      expect(done.state).toBe('rolled_back');
      await viewer.page.waitForFunction(() => document.querySelector('#canary-state')?.textContent === 'rolled back');

      // The outcome panel charts empty_answer with the numbers of the deciding verdict; the guardrails' does not.
      const events = await eventsOf(canary.id);
      const verdict = events.find((event) => event.type === 'verdict' && event.evidence?.decision === 'rollback')!;
      const empty = verdict.evidence!.metrics.find((metric: { metric: string }) => metric.metric === 'empty_answer');
      const figure = viewer.page.locator('#outcomes figure[data-metric="empty_answer"]');
      await figure.locator('figcaption', { hasText: 'harm' }).waitFor();
      expect(await figure.locator('h4').textContent()).toBe(empty.label);
      expect(await figure.locator('figcaption').textContent()).toContain(
        `treatment ${(empty.treatment.estimate * 100).toFixed(2)}%, control ${(empty.control.estimate * 100).toFixed(2)}%`,
      );
      expect(Number(await figure.locator('.chart').first().getAttribute('data-points'))).toBeGreaterThanOrEqual(1);
      expect(await viewer.page.locator('#guardrails figure[data-metric="empty_answer"]').count()).toBe(0);
      expect(await viewer.page.locator('#no-outcomes').count()).toBe(0);

      // The sentences are the events API's, word for word.
      const rolledBack = events.find((event) => event.type === 'rolled_back')!;
      expect(rolledBack.message).toMatch(/^rolled back in stage 1 \(50%\): empty-answer rate \+\d+(\.\d)? pp/);
      for (const event of [rolledBack, verdict]) {
        const entry = viewer.page.locator(`#decision-log li[data-event-id="${event.id}"] .sentence`);
        await entry.waitFor();
        expect(await entry.textContent()).toBe(event.message);
      }
      expect(await viewer.page.locator('#verdict-sentence').textContent()).toBe(done.lastVerdict.sentence);

      // The primary outcome: its effect with its band, and cost per outcome for both arms.
      const primary = done.lastVerdict.primary;
      await viewer.page.locator('#primary-outcome').waitFor();
      expect(await viewer.page.locator('#primary-outcome').textContent()).toContain(
        `effect +${(primary.effect * 100).toFixed(2)} pp`,
      );
      const perOutcome = await viewer.page.locator('#cost-table tbody tr td:nth-child(5)').allTextContents();
      expect(perOutcome[0]).toBe(
        `${dollars(primary.treatment.costPerOutcomeUsd)} (${primary.treatment.outcomes.toLocaleString('en-US')} outcomes)`,
      );
      expect(perOutcome[1]).toMatch(/outcomes\)$|^—/);
      await viewer.screenshot('rollout-outcomes');
    },
    LONG,
  );

  it(
    'a canary with a shadow stage shows its plan and verdict; an admin sees the disagreeing pairs side by side, a read key does not',
    async () => {
      await createFlag('json-flag', CANDIDATE_MODEL);
      await profile(CANDIDATE_MODEL, { invalidJsonRate: 0.5 });
      const created = await api(app)
        .post('/api/canaries')
        .send({
          flagKey: 'json-flag',
          variant: 'treatment',
          shadow: { percentage: 100, durationSeconds: 600, maxSpendUsd: 1, maxConcurrency: 8, minPairs: 30 },
          stages: STAGES,
        })
        .expect(201);
      const id = created.body.id as string;
      const admin = await open(app.adminKey!);
      await admin.show(`#/rollouts/${id}`);
      const facts = await admin.page.locator('#shadow-facts dd').allTextContents();
      expect(facts[0]).toBe('100% of users copied to the candidate for 10.0 min, at most $1.00; judged from 30 pairs');
      expect(facts[1]).toMatch(/^running, /);

      // Users of a json_object policy; half the candidate's copies come back as invalid JSON.
      for (let i = 0; i < 80; i++) {
        await request(app.url)
          .post('/v1/chat/completions')
          .set('authorization', `Bearer ${app.adminKey}`)
          .set('x-user-id', randomUUID())
          .send({
            model: 'route:json-flag',
            messages: [{ role: 'user', content: 'Is this payment fraud? <b>answer</b>' }],
            response_format: { type: 'json_object' },
          })
          .expect(200);
      }
      await eventually(
        async () => {
          const [row] = await queryRows<{ n: number }>(
            database.url,
            `SELECT count(*)::int AS n FROM shadow_pairs WHERE canary_id = $1`,
            [id],
          );
          return row.n >= 60 ? true : undefined;
        },
        30_000,
        'pairs',
      );
      await clock.advance(TICK_MS);
      await profile(CANDIDATE_MODEL, { invalidJsonRate: 0 });
      const done = await canaryOf(id);
      expect(done).toMatchObject({ state: 'rolled_back', phase: 'shadow' });

      // The shadow verdict with its numbers, as the events API has it.
      const verdict = (await eventsOf(id)).filter((event) => event.evidence?.kind === 'shadow').pop()!;
      expect(verdict.evidence).toMatchObject({ outcome: 'fail', decision: 'rollback' });
      await admin.page.waitForFunction(() => document.querySelector('#canary-state')?.textContent === 'rolled back');
      await admin.page.locator('#shadow-sentence').waitFor();
      expect(await admin.page.locator('#shadow-sentence').textContent()).toBe(verdict.evidence!.sentence);
      expect(await admin.page.locator('#shadow-pairs-count').textContent()).toBe(
        verdict.evidence!.pairs.toLocaleString('en-US'),
      );
      expect(await admin.page.locator('#shadow-spend').textContent()).toBe(
        `${dollars(Number(verdict.evidence!.spentUsd))} of $1.00`,
      );
      // The timeline: the shadow stage first, and no live stage ever started.
      const timeline = await admin.page.locator('#timeline-table tbody tr').allTextContents();
      expect(timeline).toHaveLength(3);
      const shadowRow = await admin.page.locator('#timeline-table tbody tr').first().locator('td').allTextContents();
      expect(shadowRow.slice(0, 4)).toEqual(['shadow', '0% (100% copied)', '—', '10.0 min']);
      const live = await admin.page.locator('#timeline-table tbody tr').nth(1).locator('td').allTextContents();
      expect(live[5]).toBe('—');
      const quality = admin.page.locator('#shadow-signals tr', { hasText: 'quality' }).first().locator('td');
      expect((await quality.allTextContents()).slice(0, 2)).toEqual(['quality', 'harm']);

      // The admin: the disagreeing pairs, both answers side by side, as text (user data is never markup).
      const first = admin.page.locator('#shadow-disagreements li').first();
      await first.waitFor();
      const shown = await first.getAttribute('data-pair');
      const disagreeing = (
        await api(app).get(`/api/canaries/${id}/shadow-pairs`).query({ disagree: 'true', limit: 100 }).expect(200)
      ).body as Array<{ id: string; control: { answer: string }; candidate: { answer: string } }>;
      const pair = disagreeing.find((one) => one.id === shown)!;
      expect(pair).toBeDefined();
      expect(await first.locator('[data-side="control"] .answer').textContent()).toBe(pair.control.answer);
      expect(await first.locator('[data-side="candidate"] .answer').textContent()).toBe(pair.candidate.answer);
      expect(await admin.page.locator('#shadow-disagreements .answer *').count()).toBe(0);
      expect(await admin.page.locator('#verdict-sentence').textContent()).toBe(verdict.evidence!.sentence);
      await admin.screenshot('rollout-shadow-admin');

      // At phone width the pairs stack: nothing wider than the screen.
      const phone = await open(app.adminKey!, PHONE);
      await phone.show(`#/rollouts/${id}`);
      await phone.page.locator('#shadow-disagreements li').first().waitFor();
      expect(await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBe(0);
      await phone.screenshot('rollout-shadow-phone');

      // A read key: the same verdict, no answers, and a note saying they are for admin keys.
      const viewer = await open(readKey);
      await viewer.show(`#/rollouts/${id}`);
      await viewer.page.locator('#shadow-pairs-admin-only').waitFor();
      expect(await viewer.page.locator('#shadow-sentence').textContent()).toBe(verdict.evidence!.sentence);
      expect(await viewer.page.locator('#shadow-disagreements').count()).toBe(0);
      await viewer.screenshot('rollout-shadow-read');
      expect(browser.errors()).toEqual([]);
    },
    LONG,
  );
});
