import { Client } from 'pg';
import request from 'supertest';
import { ManualClock } from '../src/common/manual-clock';
import {
  chat,
  createBudget,
  createKey,
  MAX_TOKENS,
  pico,
  picoOfUsd,
  PROMPT_BOUND_TOKENS,
  SIMULATED_PROMPT_TOKENS,
  usd,
  type Answer,
} from './support/budgets';
import { api, startTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';
import { eventually } from './support/webhook-server';

/*
 * Replicas sharing one Postgres, each with its own leases of budget headroom. Time is a ManualClock
 * (leases are synced, and expire, only when the test moves it); nothing here depends on how fast
 * the machine is: the assertions are invariants checked on every sample, and counts once everything
 * is answered and settled.
 */

const SYNC_MS = 200;
const WATCH_MS = 10_000;
const RELOAD_MS = 10_000;
const TTL_MS = 30_000;
const ENV = {
  BUDGET_SYNC_MS: String(SYNC_MS),
  BUDGET_WATCH_SECONDS: String(WATCH_MS / 1000),
  BUDGET_LEASE_TTL_MS: String(TTL_MS),
  METRICS_FLUSH_INTERVAL_MS: '20',
  GATEWAY_MAX_RETRIES: '0',
  GUARDRAIL_ENABLED: 'false',
};
const DAY_MS = 86_400_000;
const T0 = Math.floor(Date.now() / DAY_MS) * DAY_MS + 10 * 3_600_000;
/** gpt-4.1 at $2 / $8 per 1M tokens. */
const WORST = pico(PROMPT_BOUND_TOKENS, 2) + pico(MAX_TOKENS, 8);
const COST = pico(SIMULATED_PROMPT_TOKENS, 2) + pico(MAX_TOKENS, 8);
const LONG = 240_000;

describe('budgets across replicas', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  }, 30_000);

  /** Spent plus every live lease of the budget's current period, as one snapshot. */
  async function committed(client: Client, budgetId: string, nowMs: number): Promise<bigint> {
    const { rows } = await client.query(
      `SELECT coalesce((SELECT sum(spent_usd) FROM budget_periods WHERE budget_id = $1), 0)
            + coalesce((SELECT sum(granted_usd) FROM budget_leases WHERE budget_id = $1 AND expires_at > $2), 0)
              AS total`,
      [budgetId, new Date(nowMs)],
    );
    return picoOfUsd(String(rows[0].total));
  }

  it(
    'holds a $0.05 key budget exactly under 1 000 concurrent requests on three replicas',
    async () => {
      const clock = new ManualClock(T0);
      const replicas: TestApp[] = [];
      const sampler = new Client({ connectionString: database.url });
      try {
        for (let started = 0; started < 3; started++) {
          replicas.push(await startTestApp({ databaseUrl: database.url, clock, env: ENV }));
        }
        await sampler.connect();
        const { id: keyId, key } = await createKey(replicas[0], 'burst-team');
        const limit = picoOfUsd('0.05');
        const budget = await createBudget(replicas[0], {
          scope: 'key',
          target: keyId,
          limitUsd: 0.05,
          period: 'day',
          onExhausted: 'reject',
          alertAt: [0.5, 0.8, 1],
        });
        // Every replica reloads its budgets (it would on the NOTIFY too, at its own pace).
        await clock.advance(RELOAD_MS);

        let answered = false;
        let samples = 0;
        let mostCommitted = 0n;
        const sampling = (async () => {
          while (!answered) {
            const total = await committed(sampler, budget.id, clock.nowMs());
            if (total > mostCommitted) mostCommitted = total;
            samples++;
          }
        })();
        const answers: Answer[] = await Promise.all(
          Array.from({ length: 1000 }, (_, index) => chat(replicas[index % 3], key)),
        ).finally(() => (answered = true));
        await sampling;

        const served = answers.filter((answer) => answer.status === 200);
        const refused = answers.filter((answer) => answer.status !== 200);
        expect(served.length).toBeGreaterThan(0);
        expect(refused.length).toBeGreaterThan(0);
        expect(served.length + refused.length).toBe(1000);
        for (const answer of refused) {
          expect(answer.status).toBe(429);
          expect(answer.body.error).toMatchObject({ type: 'insufficient_quota', code: 'insufficient_quota' });
          expect(answer.body.error!.message).toMatch(
            new RegExp(`key budget "burst-team" \\(day, \\$[0-9.]+; id ${budget.id}\\)`),
          );
          expect(answer.body.error!.message).toContain('resets at');
        }
        // Never more than the limit spent and held, in any snapshot taken during the burst.
        expect(samples).toBeGreaterThan(0);
        expect(mostCommitted).toBeLessThanOrEqual(limit);

        await clock.advance(SYNC_MS);
        const [period] = await queryRows<{ spent: string }>(
          database.url,
          'SELECT spent_usd::text AS spent FROM budget_periods WHERE budget_id = $1',
          [budget.id],
        );
        const spent = picoOfUsd(period.spent);
        expect(spent).toBeLessThanOrEqual(limit);
        expect(spent).toBe(BigInt(served.length) * COST);
        // The ledger and the metric rows agree to the picodollar.
        const metrics = await eventually(
          async () => {
            const [row] = await queryRows<{ rows: number; cost: string | null }>(
              database.url,
              `SELECT count(*)::int AS rows, sum(cost_usd)::text AS cost FROM request_metrics WHERE api_key_id = $1`,
              [keyId],
            );
            return row.rows === 1000 && row;
          },
          30_000,
          'the 1 000 metric rows',
        );
        expect(picoOfUsd(metrics.cost!)).toBe(spent);
        const rejected = await queryRows<{ n: number }>(
          database.url,
          `SELECT count(*)::int AS n FROM request_metrics
            WHERE api_key_id = $1 AND outcome = 'rejected' AND error_type = 'insufficient_quota' AND budget_id = $2`,
          [keyId, budget.id],
        );
        expect(rejected[0].n).toBe(refused.length);

        // The first refusal recorded the exhaustion off the request path: wait until it is stored.
        await eventually(
          async () =>
            (
              await queryRows(
                database.url,
                'SELECT 1 FROM budget_periods WHERE budget_id = $1 AND exhausted_at IS NOT NULL',
                [budget.id],
              )
            ).length === 1,
          30_000,
          'the exhaustion to be recorded',
        );
        // One alert, also when looked for again (and by every replica): no watch ran before it ran out,
        // so its exhaustion alert names the thresholds it is past, and they get none of their own.
        await clock.advance(WATCH_MS);
        await clock.advance(WATCH_MS);
        const alerts = await queryRows<{ type: string; thresholds: number[] | null }>(
          database.url,
          `SELECT type, evidence->'thresholds' AS thresholds FROM alerts WHERE evidence->>'budget' = $1`,
          [budget.id],
        );
        expect(alerts).toEqual([{ type: 'budget.exhausted', thresholds: [0.5, 0.8, 1] }]);
        const status = (await api(replicas[1]).get(`/api/budgets/${budget.id}`).expect(200)).body;
        expect(picoOfUsd(status.current.spentUsd)).toBe(spent);
        expect(status.current.exhausted).toBe(true);

        // A replica that stops gracefully hands its leases back at once: nothing waits for an expiry.
        await Promise.all(replicas.splice(0).map((replica) => replica.close()));
        const left = await queryRows<{ leases: number; spent: string }>(
          database.url,
          `SELECT (SELECT count(*)::int FROM budget_leases WHERE budget_id = $1) AS leases,
                  (SELECT spent_usd::text FROM budget_periods WHERE budget_id = $1) AS spent`,
          [budget.id],
        );
        expect(left[0]).toEqual({ leases: 0, spent: period.spent });
      } finally {
        await sampler.end().catch(() => undefined);
        await Promise.all(replicas.map((replica) => replica.close()));
      }
    },
    LONG,
  );

  it(
    "gets a killed replica's reservations back once its lease expires",
    async () => {
      // The replica to kill keeps its own clock: once "killed", it never runs a job again.
      const clock = new ManualClock(T0);
      const victimClock = new ManualClock(T0);
      const survivor = await startTestApp({ databaseUrl: database.url, clock, env: ENV });
      const victim = await startTestApp({ databaseUrl: database.url, clock: victimClock, env: ENV });
      try {
        const { id: keyId, key } = await createKey(survivor, 'kill-team');
        // Room for three worst cases, not four.
        const limit = 3n * WORST + WORST / 2n;
        const budget = await createBudget(survivor, {
          scope: 'key',
          target: keyId,
          limitUsd: Number(usd(limit)),
          period: 'day',
          onExhausted: 'reject',
        });
        await Promise.all([clock.advance(RELOAD_MS), victimClock.advance(RELOAD_MS)]);
        // The victim's upstream answers only after a minute: its three requests stay in flight.
        await request(victim.simulatorUrl)
          .put('/_simulator/profiles/gpt-4.1')
          .send({ latencyMs: { median: 60_000, p99: 60_000 } })
          .expect(200);
        const inFlight = Array.from({ length: 3 }, () => chat(victim, key).catch((error: Error) => error));
        await eventually(
          async () => {
            const stats = (await request(victim.simulatorUrl).get('/_simulator/stats').expect(200)).body;
            return (stats.byModel['gpt-4.1'] ?? 0) >= 3;
          },
          30_000,
          "the victim's three upstream calls",
        );
        await victimClock.advance(SYNC_MS);
        const [lease] = await queryRows<{ reserved: string; expires_at: Date }>(
          database.url,
          'SELECT reserved_usd::text AS reserved, expires_at FROM budget_leases WHERE budget_id = $1',
          [budget.id],
        );
        expect(picoOfUsd(lease.reserved)).toBe(3n * WORST);

        // Killed: its connections cut, its jobs never run again, nothing handed back.
        victim.app.getHttpServer().closeAllConnections();
        await Promise.all(inFlight);

        const refused = await chat(survivor, key);
        expect(refused.status).toBe(429);
        expect(refused.body.error!.code).toBe('insufficient_quota');
        const before = (await api(survivor).get(`/api/budgets/${budget.id}`).expect(200)).body;
        expect(picoOfUsd(before.current.reservedUsd)).toBe(3n * WORST);

        await clock.advanceTo(new Date(lease.expires_at).getTime() + 1);
        const recovered = await chat(survivor, key);
        expect(recovered.status).toBe(200);
        const status = (await api(survivor).get(`/api/budgets/${budget.id}`).expect(200)).body;
        expect(status.leases.map((item: { replica: string }) => item.replica)).toHaveLength(1);
        expect(status.current.reservedUsd).toBe(0);
      } finally {
        await survivor.close();
        await victim.close();
      }
    },
    LONG,
  );
});
