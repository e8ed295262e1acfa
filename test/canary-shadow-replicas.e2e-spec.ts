import { Client } from 'pg';
import request from 'supertest';
import { ManualClock } from '../src/common/manual-clock';
import { picoOf } from '../src/metrics/cost';
import { parsePrometheus, sumOf } from './support/prometheus';
import { CANDIDATE_MODEL, withCandidate } from './support/shadow';
import { api, policiesFor, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';
import { eventually } from './support/webhook-server';

/*
 * Two replicas sharing one Postgres run the same shadow stage: the spend cap holds across both
 * (one shared counter), and a pause sent to one stops the shadow calls of both within a second
 * (NOTIFY). Each replica has its own simulator, so each one's shadow calls are counted apart.
 */
const ENV = {
  CANARY_TICK_SECONDS: '1',
  METRICS_FLUSH_INTERVAL_MS: '20',
  GATEWAY_MAX_RETRIES: '0',
  GUARDRAIL_ENABLED: 'false',
};
const STAGES = [
  { percentage: 5, durationSeconds: 60 },
  { percentage: 100, durationSeconds: 0 },
];
const LONG = 180_000;

describe('the shadow stage on two replicas', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const replicas: TestApp[] = [];
  const clock = new ManualClock();

  beforeAll(async () => {
    database = await createTestDatabase();
    for (let i = 0; i < 2; i++) {
      const catalog = await writeTestCatalog((edit) => {
        policiesFor('spend-flag', 'pause-flag', 'kill-flag')(edit);
        withCandidate(edit);
      });
      replicas.push(await startTestApp({ databaseUrl: database.url, catalog, clock, env: ENV }));
    }
  }, 90_000);
  afterAll(async () => {
    for (const replica of replicas) await replica.close();
    await database?.drop();
  }, 60_000);

  const a = () => replicas[0];
  const createFlag = (key: string) =>
    api(a())
      .post('/api/flags')
      .send({
        key,
        variants: { control: 'deepseek-v3.2', treatment: CANDIDATE_MODEL },
        defaultVariant: 'control',
        rollout: {},
      })
      .expect(201);
  const chat = (replica: TestApp, policy: string, user: string, key = replica.adminKey) =>
    request(replica.url)
      .post('/v1/chat/completions')
      .set('authorization', `Bearer ${key}`)
      .set('x-user-id', user)
      .send({
        model: `route:${policy}`,
        messages: [{ role: 'user', content: 'Is this payment fraud?' }],
        max_tokens: 16,
      });
  const candidateCalls = async (replica: TestApp) =>
    ((await request(replica.simulatorUrl).get('/_simulator/stats').expect(200)).body.byModel?.[
      CANDIDATE_MODEL
    ] as number) ?? 0;
  /** The shadow series of a replica's /metrics (only those: prom-client's default series may print "Nan"). */
  const scrape = async (replica: TestApp) =>
    parsePrometheus(
      (await api(replica).get('/metrics').expect(200)).text
        .split('\n')
        .filter((line) => line.startsWith('switchyard_shadow_'))
        .join('\n'),
    );
  /** Both replicas have the canary's shadow stage in memory (the flag, too: its NOTIFY may come later). */
  const bothShadowing = (flag: string) =>
    eventually(
      async () => {
        for (const replica of replicas) {
          const samples = await scrape(replica);
          if (sumOf(samples, 'switchyard_shadow_stages') !== 1) return undefined;
          const before = sumOf(samples, 'switchyard_shadow_sampled_total', { flag });
          await chat(replica, flag, 'probe').expect(200);
          if (sumOf(await scrape(replica), 'switchyard_shadow_sampled_total', { flag }) === before) return undefined;
        }
        return true;
      },
      10_000,
      'both replicas in the shadow stage',
    );

  it(
    'never spends more than maxSpendUsd across both replicas; the stage ends early and is judged on its pairs',
    async () => {
      await createFlag('spend-flag');
      const cap = '0.0002';
      const created = await api(a())
        .post('/api/canaries')
        .send({
          flagKey: 'spend-flag',
          variant: 'treatment',
          shadow: { percentage: 100, durationSeconds: 3600, maxSpendUsd: Number(cap), maxConcurrency: 4, minPairs: 5 },
          stages: STAGES,
        })
        .expect(201);
      const id = created.body.id;
      await bothShadowing('spend-flag');
      const sampler = new Client({ connectionString: database.url });
      await sampler.connect();
      let sampling = true;
      const overCap: string[] = [];
      const sample = (async () => {
        while (sampling) {
          const { rows } = await sampler.query(
            `SELECT spent_usd + reserved_usd AS used FROM shadow_spend WHERE canary_id = $1`,
            [id],
          );
          if (rows[0] && picoOf(String(rows[0].used)) > picoOf(cap)) overCap.push(String(rows[0].used));
        }
      })();
      try {
        const before = await Promise.all(replicas.map(candidateCalls));
        const send = async (replica: TestApp, worker: number) => {
          for (let i = 0; i < 25; i++) await chat(replica, 'spend-flag', `user-${worker}-${i}`).expect(200);
        };
        await Promise.all(replicas.flatMap((replica, r) => [0, 1, 2].map((w) => send(replica, r * 10 + w))));
        const state = await eventually(
          async () => {
            const [row] = await queryRows<{
              reserved_usd: string;
              spent_usd: string;
              refused: number;
              exhausted_at: Date | null;
              calls: number;
            }>(database.url, `SELECT * FROM shadow_spend WHERE canary_id = $1`, [id]);
            return row && Number(row.reserved_usd) === 0 ? row : undefined;
          },
          30_000,
          'every shadow call settled',
        );
        sampling = false;
        await sample;
        expect(overCap).toEqual([]);
        expect(picoOf(state.spent_usd)).toBeLessThanOrEqual(picoOf(cap));
        expect(state.refused).toBeGreaterThan(0);
        expect(state.exhausted_at).not.toBeNull();
        const after = await Promise.all(replicas.map(candidateCalls));
        // Both replicas made shadow calls, and spent from the same cap.
        expect(after[0]).toBeGreaterThan(before[0]);
        expect(after[1]).toBeGreaterThan(before[1]);
        // What the candidate's rows cost is what the counter settled.
        const rows = await eventually(
          async () => {
            const [row] = await queryRows<{ n: number; cost: string | null }>(
              database.url,
              `SELECT count(*)::int AS n, sum(cost_usd)::text AS cost FROM request_metrics WHERE flag = 'spend-flag' AND shadow`,
            );
            return row.n === state.calls ? row : undefined;
          },
          30_000,
          'shadow rows',
        );
        expect(picoOf(rows.cost ?? '0')).toBe(picoOf(state.spent_usd));
        // Every call's pair is written (batched) before the stage is judged.
        await eventually(
          async () => {
            const [pairs] = await queryRows<{ n: number }>(
              database.url,
              `SELECT count(*)::int AS n FROM shadow_pairs WHERE canary_id = $1`,
              [id],
            );
            return pairs.n === state.calls ? true : undefined;
          },
          30_000,
          'every pair written',
        );
      } finally {
        sampling = false;
        await sample;
        await sampler.end();
      }
      // The cap ended the stage an hour early: judged on the pairs it has, it passes into stage 1.
      await clock.advance(1000);
      const canary = (await api(a()).get(`/api/canaries/${id}`).expect(200)).body;
      expect(canary).toMatchObject({ phase: 'live', stage: { index: 0, percentage: 5 } });
      expect(canary.lastVerdict).toMatchObject({
        kind: 'shadow',
        outcome: 'pass',
        decision: 'advance',
        spendExhausted: true,
      });
    },
    LONG,
  );

  it(
    "stops shadow calls on both replicas within a second of a pause; shadow calls count against no caller's limits",
    async () => {
      await createFlag('pause-flag');
      const created = await api(a())
        .post('/api/canaries')
        .send({
          flagKey: 'pause-flag',
          variant: 'treatment',
          shadow: { percentage: 100, durationSeconds: 3600, maxSpendUsd: 10, maxConcurrency: 16 },
          stages: STAGES,
        })
        .expect(201);
      const id = created.body.id;
      await bothShadowing('pause-flag');

      // A key limited to 20 requests a minute: 20 shadowed requests use exactly its 20.
      const limited = await api(a())
        .post('/api/keys')
        .send({ name: 'limited-team', scopes: ['gateway'], requestsPerMinute: 20 })
        .expect(201);
      // Per-key limits count in windows of the wall clock's minutes: start with room for 20 requests in this one.
      const leftInMinute = 60_000 - (Date.now() % 60_000);
      if (leftInMinute < 20_000) await new Promise((resolve) => setTimeout(resolve, leftInMinute + 50));
      const sampledBefore = sumOf(await scrape(a()), 'switchyard_shadow_sampled_total', { flag: 'pause-flag' });
      let last: request.Response | undefined;
      for (let i = 0; i < 20; i++) last = await chat(a(), 'pause-flag', `limited-${i}`, limited.body.key).expect(200);
      expect(last!.headers['x-ratelimit-remaining-requests']).toBe('0');
      expect(sumOf(await scrape(a()), 'switchyard_shadow_sampled_total', { flag: 'pause-flag' })).toBe(
        sampledBefore + 20,
      );
      await eventually(
        async () => {
          const [row] = await queryRows<{ n: number }>(
            database.url,
            `SELECT count(*)::int AS n FROM shadow_pairs WHERE canary_id = $1 AND primary_request_id = $2`,
            [id, last!.headers['x-switchyard-request-id']],
          );
          return row.n === 1 ? true : undefined;
        },
        30_000,
        'the last request paired',
      );
      await chat(a(), 'pause-flag', 'limited-21', limited.body.key).expect(429);

      // Pause on replica A: both replicas drop the stage within a second.
      const paused = Date.now();
      await api(a()).post(`/api/canaries/${id}/pause`).send({ reason: 'checking the pairs' }).expect(200);
      const stopped = await Promise.all(
        replicas.map((replica) =>
          eventually(
            async () =>
              sumOf(await scrape(replica), 'switchyard_shadow_stages') === 0 ? Date.now() - paused : undefined,
            5000,
            'the shadow stage dropped',
          ),
        ),
      );
      for (const elapsed of stopped) expect(elapsed).toBeLessThan(1000);
      // No request is sampled any more on either replica: the count is taken before each answer is written.
      for (const replica of replicas) {
        const before = sumOf(await scrape(replica), 'switchyard_shadow_sampled_total', { flag: 'pause-flag' });
        for (let i = 0; i < 10; i++) await chat(replica, 'pause-flag', `after-pause-${i}`).expect(200);
        expect(sumOf(await scrape(replica), 'switchyard_shadow_sampled_total', { flag: 'pause-flag' })).toBe(before);
      }
    },
    LONG,
  );
  it(
    "stops shadow calls on both replicas within a second of the flag's kill switch",
    async () => {
      await createFlag('kill-flag');
      await api(a())
        .post('/api/canaries')
        .send({
          flagKey: 'kill-flag',
          variant: 'treatment',
          shadow: { percentage: 100, durationSeconds: 3600, maxSpendUsd: 10, maxConcurrency: 16 },
          stages: STAGES,
        })
        .expect(201);
      await eventually(
        async () => {
          for (const replica of replicas) {
            const before = sumOf(await scrape(replica), 'switchyard_shadow_sampled_total', { flag: 'kill-flag' });
            await chat(replica, 'kill-flag', 'probe').expect(200);
            if (sumOf(await scrape(replica), 'switchyard_shadow_sampled_total', { flag: 'kill-flag' }) === before)
              return undefined;
          }
          return true;
        },
        10_000,
        'both replicas copying kill-flag',
      );
      const killed = Date.now();
      await api(a()).post('/api/flags/kill-flag/kill').send({ reason: 'incident' }).expect(200);
      // Each replica stops sampling once its flag cache has the change (NOTIFY): measured from the kill.
      const stopped = await Promise.all(
        replicas.map((replica, index) =>
          eventually(
            async () => {
              const before = sumOf(await scrape(replica), 'switchyard_shadow_sampled_total', { flag: 'kill-flag' });
              await chat(replica, 'kill-flag', `killed-${index}`).expect(200);
              const after = sumOf(await scrape(replica), 'switchyard_shadow_sampled_total', { flag: 'kill-flag' });
              return after === before ? Date.now() - killed : undefined;
            },
            5000,
            'sampling stopped after the kill switch',
          ),
        ),
      );
      for (const elapsed of stopped) expect(elapsed).toBeLessThan(1000);
    },
    LONG,
  );
});
