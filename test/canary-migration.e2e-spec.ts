import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ManualClock } from '../src/common/manual-clock';
import { buildDataSourceOptions } from '../src/database/data-source-options';
import { MIGRATIONS } from '../src/database/migrations';
import { CanaryDecisionEngine1764800000000 } from '../src/database/migrations/1764800000000-canary-decision-engine';
import { CanaryEventsShadowStage1796655345052 } from '../src/database/migrations/1796655345052-canary-events-shadow-stage';
import { api, startTestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';

/** What a canary created before the decision engine stored: the old analysis, an old verdict. */
const OLD_ANALYSIS = {
  minRequests: 50,
  maxErrorRate: 0.03,
  maxP99LatencyMs: 2000,
  stageEnd: { maxErrorRate: 0.01, maxAvgLatencyMs: 500 },
  compareToControl: true,
  maxCostPerRequestUsd: null,
  maxCostRatioToControl: 1.5,
  failureThreshold: 2,
  severeFactor: 2,
  significance: 0.01,
};
const OLD_VERDICT = {
  at: '2026-11-24T10:00:00.000Z',
  stage: 1,
  decision: 'hold',
  outcome: 'fail',
  severe: false,
  reasons: ['treatment error rate 3.1% > 3.0%'],
  failedChecks: 1,
  evidence: { treatment: { requests: 400, failures: 12 }, errorRateTest: { pValue: 0.04 } },
};

describe('canaries stored before the decision engine', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('stay readable and keep being judged: the migration maps their analysis and keeps the old one', async () => {
    // The schema as it was: every migration before the engine's.
    const engine = MIGRATIONS.indexOf(CanaryDecisionEngine1764800000000);
    const before = new DataSource({ ...buildDataSourceOptions(database.url), migrations: MIGRATIONS.slice(0, engine) });
    await before.initialize();
    await before.runMigrations();
    const id = randomUUID();
    await before.query(
      `INSERT INTO flags (key, variants, default_variant, rollout, salt)
       VALUES ('legacy-flag', '{"control":"deepseek-v3.2","treatment":"gpt-4.1"}', 'control', '{"treatment":1500}', 'salt')`,
    );
    await before.query(
      `INSERT INTO canaries (id, flag_key, variant, control_variant, stages, analysis, max_stage_extensions, state,
                             stage_index, stage_started_at, failed_checks, last_verdict, created_by)
       VALUES ($1, 'legacy-flag', 'treatment', 'control', $2, $3, 2, 'running', 1, now(), 1, $4, 'key:old')`,
      [
        id,
        JSON.stringify([
          { percentage: 5, durationSeconds: 3600 },
          { percentage: 15, durationSeconds: 3600 },
          { percentage: 100, durationSeconds: 0 },
        ]),
        JSON.stringify(OLD_ANALYSIS),
        JSON.stringify(OLD_VERDICT),
      ],
    );
    await before.destroy();

    const clock = new ManualClock();
    const app = await startTestApp({ databaseUrl: database.url, clock, env: { CANARY_TICK_SECONDS: '10' } });
    try {
      const canary = (await api(app).get(`/api/canaries/${id}`).expect(200)).body;
      expect(canary.analysis).toEqual({
        alpha: 0.01,
        minRequests: 50,
        guardrails: {
          errorRate: { absolute: 0.01 },
          abandonmentRate: { absolute: 0.01 },
          invalidRequestRate: { absolute: 0.01 },
          latencyP50: { relative: 0.2 },
          latencyP95: { relative: 0.2 },
          latencyP99: { relative: 0.2 },
          ttftP50: { relative: 0.2 },
          ttftP95: { relative: 0.2 },
          costPerRequest: { relative: 0.5 },
        },
        // Its own 3% limit becomes a hard gate; the old default 2000 ms does not.
        hardGates: { maxErrorRate: 0.03, maxP99LatencyMs: null, maxCostPerRequestUsd: null },
        srmPValue: 0.001,
        legacy: OLD_ANALYSIS,
      });
      expect(canary.lastVerdict).toEqual(OLD_VERDICT);
      expect(canary).not.toHaveProperty('failedChecks');

      // The next tick judges it with the new engine (no traffic yet: it waits for data).
      await clock.advance(10_000);
      const judged = (await api(app).get(`/api/canaries/${id}`).expect(200)).body;
      expect(judged.state).toBe('running');
      expect(judged.lastVerdict).toMatchObject({ outcome: 'insufficient_data', decision: 'wait', stage: 1 });
      expect(judged.lastVerdict.sentence).toMatch(/^waiting in stage 2 \(15%\): treatment has 0 requests/);
    } finally {
      await app.close();
    }
    const [column] = await queryRows(
      database.url,
      `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'request_metrics' AND column_name = 'user_key'`,
    );
    expect(column).toEqual({ n: 1 });
  });
});

describe('canary events stored before the shadow stage had no stage number', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("get a null stage where they were the shadow stage's, and keep it where they were a live stage's", async () => {
    const migration = MIGRATIONS.indexOf(CanaryEventsShadowStage1796655345052);
    const before = new DataSource({
      ...buildDataSourceOptions(database.url),
      migrations: MIGRATIONS.slice(0, migration),
    });
    await before.initialize();
    await before.runMigrations();
    await before.query(
      `INSERT INTO flags (key, variants, default_variant, rollout, salt)
       VALUES ('old-flag', '{"control":"deepseek-v3.2","treatment":"gpt-4.1"}', 'control', '{}', 'salt')`,
    );
    const shadow = { percentage: 100, durationSeconds: 60, maxSpendUsd: 1, maxConcurrency: 8 };
    // Passed its shadow stage, then on the first live stage; still in its shadow stage; never had one.
    const canaries = {
      passed: {
        shadow,
        phase: 'live',
        state: 'rolled_back',
        types: ['created', 'started', 'verdict', 'shadow_passed', 'verdict', 'rolled_back'],
      },
      shadowing: { shadow, phase: 'shadow', state: 'aborted', types: ['created', 'started', 'verdict', 'aborted'] },
      plain: { shadow: null, phase: 'live', state: 'aborted', types: ['created', 'started', 'verdict', 'aborted'] },
    };
    const ids: Record<string, string> = {};
    for (const [name, canary] of Object.entries(canaries)) {
      ids[name] = randomUUID();
      await before.query(
        `INSERT INTO canaries (id, flag_key, variant, control_variant, stages, analysis, max_stage_extensions, state,
                               stage_index, created_by, shadow, phase, ended_at)
         VALUES ($1, 'old-flag', 'treatment', 'control', '[{"percentage":5,"durationSeconds":60},{"percentage":100,"durationSeconds":0}]',
                 '{}', 2, $2, 0, 'key:old', $3, $4, now())`,
        [ids[name], canary.state, canary.shadow === null ? null : JSON.stringify(canary.shadow), canary.phase],
      );
      for (const type of canary.types) {
        await before.query(
          `INSERT INTO canary_events (canary_id, type, state, stage, message, actor, instance)
           VALUES ($1, $2, 'running', 0, $2, 'key:old', 'old-replica')`,
          [ids[name], type],
        );
      }
    }
    await before.destroy();

    const after = new DataSource({ ...buildDataSourceOptions(database.url), migrations: MIGRATIONS });
    await after.initialize();
    await after.runMigrations();
    await after.destroy();
    const stages = async (id: string) =>
      (
        await queryRows<{ type: string; stage: number | null }>(
          database.url,
          `SELECT type, stage FROM canary_events WHERE canary_id = $1 ORDER BY id`,
          [id],
        )
      ).map(({ type, stage }) => `${type}:${stage}`);
    expect(await stages(ids.passed)).toEqual([
      'created:null',
      'started:null',
      'verdict:null',
      'shadow_passed:0',
      'verdict:0',
      'rolled_back:0',
    ]);
    expect(await stages(ids.shadowing)).toEqual(['created:null', 'started:null', 'verdict:null', 'aborted:null']);
    expect(await stages(ids.plain)).toEqual(['created:0', 'started:0', 'verdict:0', 'aborted:0']);
  });
});
