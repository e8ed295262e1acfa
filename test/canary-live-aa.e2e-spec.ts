import { ManualClock } from '../src/common/manual-clock';
import { api, policiesFor, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { createTestDatabase } from './support/test-database';
import { atLeast, MetricRows, Traffic } from './support/traffic';

/*
 * An A/A canary end to end: real requests through the gateway to the simulator, whose model answers
 * both arms with a realistic latency (median 500 ms, p99 2 s) and 0.5% errors, judged with the
 * default analysis. The canary's ticks run when the test moves the clock; the traffic is real.
 */
const TICK_MS = 10_000;
const STAGE_SECONDS = 600;
const FLAG = 'live-aa-flag';
const MODEL = 'deepseek-v3.2';

describe('canary: an A/A rollout through the real gateway is promoted with the default analysis', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: TestApp;
  let rows: MetricRows;
  const clock = new ManualClock(Math.floor(Date.now() / TICK_MS) * TICK_MS);

  beforeAll(async () => {
    database = await createTestDatabase();
    const catalog = await writeTestCatalog((edited) => {
      policiesFor(FLAG)(edited);
      const profiles = edited.simulator.profiles as Record<string, Record<string, unknown>>;
      profiles[MODEL] = { ...profiles[MODEL], latencyMs: { median: 500, p99: 2000 }, errorRate: 0.005 };
    });
    app = await startTestApp({
      databaseUrl: database.url,
      clock,
      catalog,
      env: { CANARY_TICK_SECONDS: String(TICK_MS / 1000), METRICS_FLUSH_INTERVAL_MS: '20', GATEWAY_MAX_RETRIES: '0' },
    });
    rows = await MetricRows.open(database.url);
  }, 60_000);
  afterAll(async () => {
    await rows?.close();
    await app?.close();
    await database?.drop();
  });

  it('advances 25% -> 50% -> 100% on real traffic and promotes, every verdict a pass', async () => {
    // Both arms serve the same model: whatever differs between them is chance.
    await api(app)
      .post('/api/flags')
      .send({ key: FLAG, variants: { control: MODEL, treatment: { model: MODEL } }, defaultVariant: 'control' })
      .expect(201);
    const created = await api(app)
      .post('/api/canaries')
      .send({
        flagKey: FLAG,
        variant: 'treatment',
        stages: [
          { percentage: 25, durationSeconds: STAGE_SECONDS },
          { percentage: 50, durationSeconds: STAGE_SECONDS },
          { percentage: 100, durationSeconds: 0 },
        ],
      })
      .expect(201);
    const id: string = created.body.id;
    const minRequests: number = created.body.analysis.minRequests;

    for (const stage of [0, 1]) {
      const canary = (await api(app).get(`/api/canaries/${id}`).expect(200)).body;
      expect(canary).toMatchObject({ state: 'running', stage: { index: stage } });
      const traffic = new Traffic(app, FLAG, 100);
      // The promotion needs every estimate within its margin: the last stage gets enough requests
      // for a p99 ratio to be within 1.2 but by a chance of about 1 in 5 000 (with 250 it is 1 in 5).
      const perArm = stage === 1 ? 4_000 : minRequests + 50;
      try {
        await rows.waitFor(FLAG, canary.stage, { treatment: atLeast(perArm), control: atLeast(perArm) }, 180_000);
      } finally {
        await traffic.stop();
      }
      await rows.waitForAll(FLAG, canary.stage, traffic);
      await clock.advance(STAGE_SECONDS * 1000);
    }

    const done = (await api(app).get(`/api/canaries/${id}`).expect(200)).body;
    const events = (await api(app).get(`/api/canaries/${id}/events`).query({ limit: 500 }).expect(200)).body.items as
      Array<{ type: string; message: string; evidence: any }> | [];
    const verdicts = events.filter((event) => event.type === 'verdict');
    expect({ state: done.state, outcomes: [...new Set(verdicts.map((event) => event.evidence.outcome))] }).toEqual({
      state: 'promoted',
      outcomes: ['pass'],
    });
    expect(events.filter((event) => event.type !== 'verdict').map((event) => event.type)).toEqual([
      'created',
      'started',
      'stage_advanced',
      'promoted',
    ]);
    const flag = (await api(app).get(`/api/flags/${FLAG}`).expect(200)).body;
    expect(flag.rollout).toEqual({ treatment: 100 });
  }, 300_000);
});
