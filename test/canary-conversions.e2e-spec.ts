import request from 'supertest';
import { ManualClock } from '../src/common/manual-clock';
import { api as authorized, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';
import { eventually } from './support/webhook-server';

/*
 * Canaries gate on outcomes services report. Real requests from many users go through the gateway
 * (the simulator over HTTP) and are bucketed by the flag; a test client then reports each user's
 * conversion to POST /v1/outcomes at a planted rate per arm. Time is a ManualClock: outcome windows
 * close, and ticks run, when the test moves it.
 */
const TICK_MS = 1000;
const WINDOW_SECONDS = 300;
const STAGE_SECONDS = 600;
const ENV = {
  CANARY_TICK_SECONDS: '1',
  METRICS_FLUSH_INTERVAL_MS: '20',
  GATEWAY_MAX_RETRIES: '0',
  GATEWAY_BREAKER_MIN_REQUESTS: '100000',
  GATEWAY_BREAKER_CONSECUTIVE_FAILURES: '100000',
  // Every failed treatment call falls back: the extra-call budget must not refuse fallbacks here.
  GATEWAY_RETRY_BUDGET_MIN_PER_WINDOW: '100000',
};
const GUARDRAILS_OFF = Object.fromEntries(
  [
    'errorRate',
    'abandonmentRate',
    'invalidRequestRate',
    'latencyP50',
    'latencyP95',
    'latencyP99',
    'ttftP50',
    'ttftP95',
  ].map((key) => [key, null]),
);
const ANALYSIS = {
  minRequests: 50,
  guardrails: GUARDRAILS_OFF,
  outcomes: [{ metric: 'checkout_converted', margin: { relative: 0.02 } }],
  primaryOutcome: 'checkout_converted',
};
const STAGES = [
  { percentage: 50, durationSeconds: STAGE_SECONDS },
  { percentage: 100, durationSeconds: 0 },
];
const LONG = 240_000;
const hello = [{ role: 'user', content: 'Recommend a book.' }];

/** A fixed pseudo-random draw in [0, 1) per user, so a run is repeatable. */
function draw(user: string): number {
  let h = 2166136261;
  for (let i = 0; i < user.length; i++) h = Math.imul(h ^ user.charCodeAt(i), 16777619);
  return ((h >>> 0) % 1_000_000) / 1_000_000;
}

describe('canaries gate on reported conversions', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  const clock = new ManualClock();

  beforeAll(async () => {
    database = await createTestDatabase();
    const catalog = await writeTestCatalog((c) => {
      for (const flag of ['drop-flag', 'aa-flag', 'fallback-flag', 'archive-flag']) {
        c.policies.push({
          name: flag,
          strategy: 'cost_first',
          flag,
          defaultModel: flag === 'fallback-flag' ? 'gpt-4.1' : 'deepseek-v3.2',
          // The treatment's model failing falls back to the control's.
          fallback: flag === 'fallback-flag' ? ['deepseek-v3.2'] : [],
        });
      }
    });
    app = await startTestApp({ databaseUrl: database.url, catalog, clock, env: ENV });
    await authorized(app)
      .post('/api/outcome-metrics')
      .send({
        key: 'checkout_converted',
        type: 'binary',
        direction: 'higher_is_better',
        unit: 'user',
        attributionWindowSeconds: WINDOW_SECONDS,
      })
      .expect(201);
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const api = () => authorized(app);
  const canaryOf = async (id: string) => (await api().get(`/api/canaries/${id}`).expect(200)).body;

  async function startCanary(flag: string, treatmentModel = 'gemini-2.5-flash') {
    await api()
      .post('/api/flags')
      .send({ key: flag, variants: { control: 'deepseek-v3.2', treatment: treatmentModel }, defaultVariant: 'control' })
      .expect(201);
    const created = await api()
      .post('/api/canaries')
      .send({ flagKey: flag, variant: 'treatment', stages: STAGES, analysis: ANALYSIS })
      .expect(201);
    return created.body;
  }

  /** One request per user through the flag's policy; the variant each user was assigned. */
  async function expose(flag: string, users: number): Promise<Map<string, string>> {
    const variants = new Map<string, string>();
    let next = 0;
    const worker = async () => {
      while (next < users) {
        const user = `${flag}-user-${next++}`;
        const response = await fetch(`${app.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-user-id': user, authorization: `Bearer ${app.adminKey}` },
          body: JSON.stringify({ model: `route:${flag}`, messages: hello }),
        });
        await response.arrayBuffer();
        expect(response.status).toBe(200);
        variants.set(user, response.headers.get('x-switchyard-variant')!);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    await eventually(async () => {
      const [{ n }] = await queryRows<{ n: number }>(
        database.url,
        'SELECT count(*)::int AS n FROM request_metrics WHERE flag = $1',
        [flag],
      );
      return n >= users ? true : undefined;
    }, 30_000);
    return variants;
  }

  /** Reports each user's conversion (true at the arm's rate), in batches, as a shop's backend would. */
  async function reportConversions(variants: Map<string, string>, rates: Record<string, number>) {
    const events = [...variants].map(([user, variant]) => ({
      metric: 'checkout_converted',
      value: draw(user) < rates[variant],
      userId: user,
      idempotencyKey: `order-${user}`,
    }));
    const ids: string[] = [];
    for (let i = 0; i < events.length; i += 1000) {
      const answer = await request(app.url)
        .post('/v1/outcomes')
        .set('authorization', `Bearer ${app.adminKey}`)
        .send({ events: events.slice(i, i + 1000) })
        .expect(202);
      expect(answer.body.refused).toBe(0);
      ids.push(...answer.body.results.map((result: { id: string }) => result.id));
    }
    await eventually(async () => {
      const [{ n }] = await queryRows<{ n: number }>(
        database.url,
        'SELECT count(*)::int AS n FROM outcome_events WHERE id = ANY($1)',
        [ids],
      );
      return n >= events.length ? true : undefined;
    }, 30_000);
  }

  const gateOf = (verdict: { metrics: Array<Record<string, any>> }) =>
    verdict.metrics.find((metric) => metric.metric === 'checkout_converted')!;

  it(
    'rolls back a treatment whose conversion drops from 10% to 7%, once the attribution windows close',
    async () => {
      const canary = await startCanary('drop-flag');
      const variants = await expose('drop-flag', 8000);
      await reportConversions(variants, { control: 0.1, treatment: 0.07 });
      // Outcomes are in, but no exposure's window has closed: nothing is judged on them yet.
      await clock.advance(TICK_MS);
      const early = await canaryOf(canary.id);
      expect(early.state).toBe('running');
      expect(gateOf(early.lastVerdict)).toMatchObject({ treatment: { n: 0 }, control: { n: 0 } });
      await clock.advance(WINDOW_SECONDS * 1000);
      const done = await canaryOf(canary.id);
      expect(done.state).toBe('rolled_back');
      const gate = gateOf(done.lastVerdict);
      expect(gate).toMatchObject({ status: 'harm', direction: 'higher_is_better', marginType: 'relative' });
      expect(gate.treatment.estimate).toBeLessThan(0.085);
      expect(gate.control.estimate).toBeGreaterThan(0.085);
      expect(gate.treatment.n + gate.control.n).toBe(8000);
      // Higher is better: the harm is an effect below its margin, and the sentence says so.
      const clause =
        /^rolled back in stage 1 \(50%\): checkout converted rate ×0\.\d\d \[×0\.\d\d, ×0\.\d\d\] < margin ×0\.98 at n = /;
      expect(done.lastVerdict.sentence).toMatch(clause);
      const alerts = (
        await api().get('/api/alerts').query({ type: 'canary.rolled_back', flag: 'drop-flag' }).expect(200)
      ).body.items;
      expect(alerts).toEqual([
        expect.objectContaining({ message: `Canary on drop-flag ${done.lastVerdict.sentence}` }),
      ]);
      // The primary metric: the effect with its confidence sequence, and the cost per conversion per arm.
      const primary = done.lastVerdict.primary;
      expect(primary).toMatchObject({ metric: 'checkout_converted', scale: 'ratio', effect: gate.effect });
      expect(primary.interval).toEqual(gate.interval);
      expect(primary.interval[1]).toBeLessThan(0.98);
      for (const arm of [primary.treatment, primary.control]) {
        expect(arm.outcomes).toBeGreaterThan(100);
        expect(arm.costUsd).toBeGreaterThan(0);
        expect(arm.costPerOutcomeUsd).toBeCloseTo(arm.costUsd / arm.outcomes, 12);
      }
      // The planted drop, in conversions counted.
      expect(primary.treatment.outcomes).toBeLessThan(primary.control.outcomes);
    },
    LONG,
  );

  it(
    "promotes an A/A conversion canary, and holds its stage until the last exposures' windows close",
    async () => {
      const canary = await startCanary('aa-flag', 'deepseek-v3.2');
      // The preview says what the windows add: each judged stage waits for its last exposures' outcomes.
      const preview = await api()
        .post('/api/canaries/preview')
        .send({ flagKey: 'aa-flag', variant: 'treatment', stages: STAGES, analysis: ANALYSIS })
        .expect(200);
      expect(preview.body.outcomeWindowSeconds).toBe(WINDOW_SECONDS);
      expect(preview.body.warnings).toContain(
        `each stage waits ${WINDOW_SECONDS} s past its duration for the attribution windows of its last exposures to close: ${WINDOW_SECONDS} s added to the rollout`,
      );
      const variants = await expose('aa-flag', 4000);
      await reportConversions(variants, { control: 0.1, treatment: 0.1 });
      // The summary per variant: conversions with a 95% interval and the cost per conversion.
      const summary = (
        await api()
          .get('/api/metrics/summary')
          .query({
            groupBy: 'variant',
            flag: 'aa-flag',
            from: new Date(clock.nowMs() - 60_000).toISOString(),
            to: new Date(clock.nowMs() + 60_000).toISOString(),
          })
          .expect(200)
      ).body;
      expect(summary.groups.map((group: { key: string }) => group.key)).toEqual(['control', 'treatment']);
      let users = 0;
      for (const group of summary.groups) {
        const conversion = group.outcomeMetrics.find(
          (figure: { metric: string }) => figure.metric === 'checkout_converted',
        );
        expect(conversion).toMatchObject({ builtIn: false, type: 'binary', unit: 'user' });
        const expected = [...variants].filter(([user, variant]) => variant === group.key && draw(user) < 0.1).length;
        expect(conversion.outcomes).toBe(expected);
        expect(conversion.value).toBeCloseTo(expected / conversion.n, 10);
        expect(conversion.interval[0]).toBeLessThan(conversion.value);
        expect(conversion.costPerOutcomeUsd).toBeCloseTo(group.costUsd / expected, 12);
        const empty = group.outcomeMetrics.find((figure: { metric: string }) => figure.metric === 'empty_answer');
        expect(empty).toMatchObject({ builtIn: true, n: group.requests, outcomes: 0, value: 0 });
        users += conversion.n;
      }
      expect(users).toBe(4000);
      // The stage's own duration is up, but exposures of its last moments still have open windows.
      await clock.advance(STAGE_SECONDS * 1000);
      const held = await canaryOf(canary.id);
      expect(held).toMatchObject({ state: 'running', stage: { index: 0 } });
      expect(held.lastVerdict.decision).toBe('wait');
      await clock.advance(WINDOW_SECONDS * 1000);
      const done = await canaryOf(canary.id);
      expect(done.state).toBe('promoted');
      const events = (await api().get(`/api/canaries/${canary.id}/events`).query({ limit: 500 }).expect(200)).body
        .items;
      const last = events.filter((event: { type: string }) => event.type === 'verdict').at(-1).evidence;
      expect(gateOf(last).status).not.toBe('harm');
      expect(gateOf(last).treatment.n + gateOf(last).control.n).toBe(4000);
    },
    LONG,
  );

  it(
    "counts the conversions of users the control's model served after a fallback for the treatment",
    async () => {
      await request(app.simulatorUrl).put('/_simulator/profiles/gemini-2.5-flash').send({ errorRate: 1 }).expect(200);
      try {
        const canary = await startCanary('fallback-flag');
        const variants = await expose('fallback-flag', 400);
        const treated = [...variants.values()].filter((variant) => variant === 'treatment').length;
        expect(treated).toBeGreaterThan(100);
        const [{ served }] = await queryRows<{ served: number }>(
          database.url,
          `SELECT count(*)::int AS served FROM request_metrics
            WHERE flag = 'fallback-flag' AND variant = 'treatment' AND model = 'deepseek-v3.2' AND fallback`,
        );
        expect(served).toBe(treated);
        await reportConversions(variants, { control: 0.1, treatment: 0.1 });
        await clock.advance(WINDOW_SECONDS * 1000 + TICK_MS);
        const verdict = (await canaryOf(canary.id)).lastVerdict;
        expect(gateOf(verdict).treatment.n).toBe(treated);
        expect(gateOf(verdict).control.n).toBe(400 - treated);
        await api().post(`/api/canaries/${canary.id}/abort`).send({ reason: 'test over' }).expect(200);
      } finally {
        await request(app.simulatorUrl).put('/_simulator/profiles/gemini-2.5-flash').send({ errorRate: 0 }).expect(200);
      }
    },
    LONG,
  );
  it('refuses to archive a metric an active canary gates on, naming the canary, until the canary ends', async () => {
    await api()
      .post('/api/outcome-metrics')
      .send({ key: 'newsletter_signup', type: 'binary', direction: 'higher_is_better', unit: 'user' })
      .expect(201);
    await api()
      .post('/api/flags')
      .send({
        key: 'archive-flag',
        variants: { control: 'deepseek-v3.2', treatment: 'gpt-4.1' },
        defaultVariant: 'control',
      })
      .expect(201);
    const canary = (
      await api()
        .post('/api/canaries')
        .send({
          flagKey: 'archive-flag',
          variant: 'treatment',
          stages: STAGES,
          analysis: { outcomes: [{ metric: 'newsletter_signup', margin: { absolute: 0.01 } }] },
          start: false,
        })
        .expect(201)
    ).body;
    // Archived, the metric would take no more events while the canary goes on judging it.
    const refused = await api().delete('/api/outcome-metrics/newsletter_signup').expect(409);
    expect(refused.body).toMatchObject({
      code: 'outcome_metric_in_use',
      message: `outcome metric "newsletter_signup" is a gate of canary ${canary.id} (pending): archived, it would take no more events while the canary judges it; end the canary first (abort it, or let it finish)`,
    });
    expect((await api().get('/api/outcome-metrics/newsletter_signup').expect(200)).body.archived).toBe(false);
    await api().post(`/api/canaries/${canary.id}/abort`).send({ reason: 'test over' }).expect(200);
    const archived = await api().delete('/api/outcome-metrics/newsletter_signup').expect(200);
    expect(archived.body.archived).toBe(true);
  });
});
