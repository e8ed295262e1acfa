import request from 'supertest';
import { ManualClock } from '../src/common/manual-clock';
import { api as authorized, policiesFor, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';
import { atLeast, MetricRows, Traffic } from './support/traffic';
import { eventually } from './support/webhook-server';
import { LATENCY_GUARDRAILS_OFF } from './support/canary-analysis';

/*
 * Canaries gate on the built-in answer-quality signals. Real requests go through the gateway to the
 * simulator over HTTP; the treatment's model answers 200 with empty content, or with tool calls
 * whose arguments are not JSON, 30% of the time, which HTTP health cannot see. Time is a
 * ManualClock: ticks run when the test moves it.
 */
const TICK_MS = 1000;
const ENV = {
  CANARY_TICK_SECONDS: '1',
  METRICS_FLUSH_INTERVAL_MS: '20',
  GATEWAY_MAX_RETRIES: '0',
};
const MIN_REQUESTS = 10;
const STAGES = [
  { percentage: 50, durationSeconds: 60 },
  { percentage: 100, durationSeconds: 0 },
];
const gate = (metric: string) => ({
  minRequests: MIN_REQUESTS,
  guardrails: LATENCY_GUARDRAILS_OFF,
  outcomes: [{ metric, margin: { absolute: 0.005 } }],
});
const GATE = gate('empty_answer');
/** Bits of request_metrics.quality_signals (metrics/quality-signals.ts). */
const EMPTY_ANSWER = 1;
const MALFORMED_TOOL_CALL = 16;
const TOOLS = { tools: [{ type: 'function', function: { name: 'find_books', parameters: { type: 'object' } } }] };
const LONG = 120_000;

describe('canaries gate on answer-quality signals', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  let rows: MetricRows;
  const clock = new ManualClock();

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({
      databaseUrl: database.url,
      catalog: await writeTestCatalog(policiesFor('empty-flag', 'healthy-flag', 'tools-flag')),
      clock,
      env: ENV,
    });
    rows = await MetricRows.open(database.url);
  });
  afterAll(async () => {
    await rows?.close();
    await app?.close();
    await database?.drop();
  });
  afterEach(async () => {
    await request(app.simulatorUrl).post('/_simulator/reset').expect(204);
  });

  const api = () => authorized(app);
  const canaryOf = async (id: string) => (await api().get(`/api/canaries/${id}`).expect(200)).body;
  const createFlag = (key: string) =>
    api()
      .post('/api/flags')
      .send({
        key,
        variants: { control: 'deepseek-v3.2', treatment: 'gemini-2.5-flash' },
        defaultVariant: 'control',
        rollout: {},
      })
      .expect(201);

  /** An arm's answers since `from`, and how many carry the quality signal `bit`, as the canary counts them. */
  async function signalOf(flag: string, variant: string, from: string, bit: number) {
    const [row] = await queryRows<{ answers: number; flagged: number }>(
      database.url,
      `SELECT count(*) FILTER (WHERE quality_signals IS NOT NULL)::int AS answers,
              count(*) FILTER (WHERE quality_signals & $4 <> 0)::int AS flagged
         FROM request_metrics WHERE flag = $1 AND variant = $2 AND at >= $3`,
      [flag, variant, new Date(from), bit],
    );
    return row;
  }

  /**
   * Runs traffic (with `extra` in every body) until the treatment has 40 answers with the signal
   * and the control 100 answers: enough that the confidence sequence, valid at every look, clears
   * the margin. Then lets the canary judge them with one tick.
   */
  async function judgeOnSignal(flag: string, from: string, bit: number, extra: Record<string, unknown> = {}) {
    const traffic = new Traffic(app, flag, 6, extra);
    try {
      await eventually(
        async () => {
          const [treatment, control] = [
            await signalOf(flag, 'treatment', from, bit),
            await signalOf(flag, 'control', from, bit),
          ];
          return treatment.flagged >= 40 && control.answers >= 100 ? true : undefined;
        },
        60_000,
        `answers of ${flag}'s treatment with quality bit ${bit}`,
      );
      await rows.waitFor(flag, from, { control: atLeast(MIN_REQUESTS) });
      await clock.advance(TICK_MS);
    } finally {
      await traffic.stop();
    }
  }

  it(
    'rolls back a treatment that answers 200 with empty content 30% of the time',
    async () => {
      await createFlag('empty-flag');
      await request(app.simulatorUrl)
        .put('/_simulator/profiles/gemini-2.5-flash')
        .send({ emptyAnswerRate: 0.3 })
        .expect(200);
      const created = await api()
        .post('/api/canaries')
        .send({ flagKey: 'empty-flag', variant: 'treatment', stages: STAGES, analysis: GATE })
        .expect(201);
      expect(created.body.analysis.outcomes).toEqual(GATE.outcomes);
      const id = created.body.id;
      await judgeOnSignal('empty-flag', created.body.stage.startedAt, EMPTY_ANSWER);
      const done = await canaryOf(id);
      expect(done.state).toBe('rolled_back');
      expect(done.lastVerdict).toMatchObject({ decision: 'rollback', outcome: 'fail' });
      const empty = done.lastVerdict.metrics.find((metric: { metric: string }) => metric.metric === 'empty_answer');
      expect(empty).toMatchObject({ status: 'harm', against: 'control', kind: 'rate', margin: 0.005 });
      expect(empty.treatment.estimate).toBeGreaterThan(0.15);
      expect(empty.control.estimate).toBe(0);
      expect(empty.interval[0]).toBeGreaterThan(0.005);
      // HTTP health alone would have let it through: its error rate is within the margin.
      const errors = done.lastVerdict.metrics.find((metric: { metric: string }) => metric.metric === 'errorRate');
      expect(errors.status).not.toBe('harm');
      expect(done.lastVerdict.sentence).toMatch(/^rolled back in stage 1 \(50%\): empty-answer rate \+\d+(\.\d)? pp/);
      expect((await api().get('/api/flags/empty-flag').expect(200)).body.rollout).toEqual({ treatment: 0 });
    },
    LONG,
  );

  it(
    'rolls back a treatment whose tool calls are malformed 30% of the time',
    async () => {
      await createFlag('tools-flag');
      // Both arms call a tool for every request; only the treatment's arguments are ever broken.
      await request(app.simulatorUrl).put('/_simulator/profiles/deepseek-v3.2').send({ toolCallRate: 1 }).expect(200);
      await request(app.simulatorUrl)
        .put('/_simulator/profiles/gemini-2.5-flash')
        .send({ toolCallRate: 1, malformedToolCallRate: 0.3 })
        .expect(200);
      const created = await api()
        .post('/api/canaries')
        .send({ flagKey: 'tools-flag', variant: 'treatment', stages: STAGES, analysis: gate('malformed_tool_call') })
        .expect(201);
      const id = created.body.id;
      const from = created.body.stage.startedAt;
      await judgeOnSignal('tools-flag', from, MALFORMED_TOOL_CALL, TOOLS);

      const done = await canaryOf(id);
      expect(done.state).toBe('rolled_back');
      expect(done.lastVerdict).toMatchObject({ decision: 'rollback', outcome: 'fail' });
      const malformed = done.lastVerdict.metrics.find(
        (metric: { metric: string }) => metric.metric === 'malformed_tool_call',
      );
      expect(malformed).toMatchObject({ status: 'harm', against: 'control', kind: 'rate', margin: 0.005 });
      expect(malformed.treatment.estimate).toBeGreaterThan(0.15);
      expect(malformed.control.estimate).toBe(0);
      expect(malformed.interval[0]).toBeGreaterThan(0.005);
      const errors = done.lastVerdict.metrics.find((metric: { metric: string }) => metric.metric === 'errorRate');
      expect(errors.status).not.toBe('harm');
      expect((await api().get('/api/flags/tools-flag').expect(200)).body.rollout).toEqual({ treatment: 0 });
      // The malformed calls were tool calls, not empty answers: a tool call is an answer.
      expect((await signalOf('tools-flag', 'treatment', from, EMPTY_ANSWER)).flagged).toBe(0);
      expect((await signalOf('tools-flag', 'control', from, MALFORMED_TOOL_CALL)).flagged).toBe(0);
    },
    LONG,
  );

  it(
    'advances a healthy treatment gated on the same signal',
    async () => {
      await createFlag('healthy-flag');
      const created = await api()
        .post('/api/canaries')
        .send({ flagKey: 'healthy-flag', variant: 'treatment', stages: STAGES, analysis: GATE })
        .expect(201);
      const id = created.body.id;
      const traffic = new Traffic(app, 'healthy-flag');
      try {
        await rows.waitFor('healthy-flag', created.body.stage, {
          treatment: atLeast(100),
          control: atLeast(100),
        });
        await clock.advance(60_000);
      } finally {
        await traffic.stop();
      }
      const done = await canaryOf(id);
      expect(done.state).toBe('promoted');
      const verdicts = (await api().get(`/api/canaries/${id}/events`).query({ limit: 500 }).expect(200)).body.items
        .filter((event: { type: string }) => event.type === 'verdict')
        .map((event: { evidence: { metrics: Array<{ metric: string; status: string }> } }) => event.evidence);
      const gate = verdicts.at(-1).metrics.find((metric: { metric: string }) => metric.metric === 'empty_answer');
      expect(gate).toMatchObject({ treatment: { estimate: 0 }, control: { estimate: 0 } });
      expect(gate.status).not.toBe('harm');
    },
    LONG,
  );
});
