import { CronExpression, SchedulerRegistry } from '@nestjs/schedule';
import { OutcomeRetention } from '../src/outcomes/outcome-retention';
import { ShadowPairRetention } from '../src/shadow/shadow-pair-retention';
import { startTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';

/*
 * Outcome events and shadow pairs (which hold users' answers) are kept as long as the request rows
 * they are about, METRICS_RETENTION_DAYS, and no longer. More rows than one DELETE batch (5 000)
 * are past it, as on a first run over a long-lived database.
 */

const DAY_MS = 86_400_000;
const CANARY_A = '00000000-0000-4000-8000-00000000000a';
const CANARY_B = '00000000-0000-4000-8000-00000000000b';

describe('retention of outcome events and shadow pairs', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestApp;
  const now = new Date();
  const daysAgo = (days: number) => new Date(now.getTime() - days * DAY_MS);

  beforeAll(async () => {
    database = await createTestDatabase();
    gateway = await startTestApp({ databaseUrl: database.url, env: { METRICS_RETENTION_DAYS: '30' } });
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await database?.drop();
  }, 30_000);

  const outcomeEvents = (metric: string, count: number, occurredAt: Date) =>
    queryRows(
      database.url,
      `INSERT INTO outcome_events (id, metric_key, value, request_id, occurred_at, received_at, source)
       SELECT gen_random_uuid(), $1, 1, 'req-' || n, $3, $3, 'api' FROM generate_series(1, $2) AS n`,
      [metric, count, occurredAt],
    );
  const shadowPairs = (canaryId: string, count: number, at: Date) =>
    queryRows(
      database.url,
      `INSERT INTO shadow_pairs (id, canary_id, at, primary_request_id, shadow_request_id, control_variant,
                                 candidate_variant, control_model, candidate_model, control_outcome,
                                 candidate_outcome, control_latency_ms, candidate_latency_ms, disagree,
                                 control_answer, candidate_answer)
       SELECT gen_random_uuid(), $1, $3, 'p-' || n, 's-' || n, 'control', 'treatment', 'gpt-4.1', 'deepseek-v3.2',
              'ok', 'ok', 100, 120, true, 'a user''s answer', 'another answer'
         FROM generate_series(1, $2) AS n`,
      [canaryId, count, at],
    );

  it('runs both jobs every hour', () => {
    const jobs = gateway.app.get(SchedulerRegistry).getCronJobs();
    for (const name of ['OutcomeRetention', 'ShadowPairRetention'])
      expect(jobs.get(name)?.cronTime.source).toBe(CronExpression.EVERY_HOUR);
  });

  it('deletes outcome events that occurred before the retention, in batches, and keeps the rest', async () => {
    await outcomeEvents('conversion', 12_000, daysAgo(31));
    await outcomeEvents('conversion', 3, daysAgo(29));
    await outcomeEvents('feedback', 2, daysAgo(40));
    await outcomeEvents('feedback', 1, now);

    expect(await gateway.app.get(OutcomeRetention).deleteExpired(now)).toBe(12_002);
    const kept = await queryRows<{ metric_key: string; n: number }>(
      database.url,
      'SELECT metric_key, count(*)::int AS n FROM outcome_events GROUP BY metric_key ORDER BY metric_key',
    );
    expect(kept).toEqual([
      { metric_key: 'conversion', n: 3 },
      { metric_key: 'feedback', n: 1 },
    ]);
    expect(await gateway.app.get(OutcomeRetention).deleteExpired(now)).toBe(0);
  });

  it('deletes shadow pairs, answers included, older than the retention, whatever their canary', async () => {
    await shadowPairs(CANARY_A, 7_000, daysAgo(31));
    await shadowPairs(CANARY_A, 2, daysAgo(1));
    await shadowPairs(CANARY_B, 1, daysAgo(90));

    expect(await gateway.app.get(ShadowPairRetention).deleteExpired(now)).toBe(7_001);
    const kept = await queryRows<{ canary_id: string; n: number; oldest: Date }>(
      database.url,
      'SELECT canary_id, count(*)::int AS n, min(at) AS oldest FROM shadow_pairs GROUP BY canary_id',
    );
    expect(kept).toEqual([{ canary_id: CANARY_A, n: 2, oldest: daysAgo(1) }]);
  });
});
