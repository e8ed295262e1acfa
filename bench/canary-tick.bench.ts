import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { generateApiKey } from '../src/access/api-key-format';
import { createApp, shutDownApp } from '../src/bootstrap';
import { ManualClock } from '../src/common/manual-clock';
import { benchCatalogFile } from './bench-catalog';
import { scratchDatabase } from './scratch-database';

/**
 * `npm run bench:canary-tick [-- --rows 300000 --ticks 5 --outcome]`: what one canary tick costs as its stage
 * fills. The whole app (createApp) on a scratch database and a ManualClock; a running canary on the
 * recommendations flag (50% stage, a day long, so every look waits); `--rows` request_metrics rows of
 * that flag written into the stage by one SQL statement (two arms by user, 50 000 users, log-normal
 * latencies with a median of 500 ms, half of them streamed, 0.5% errors), the partition analysed as
 * autovacuum would; then `--ticks` ticks timed one by one, and every query they ran, by total time.
 * With `--outcome` the canary is also gated on a user-unit conversion (a 10-minute attribution
 * window), and a tenth of the users converted a minute after their first request.
 * A tick re-reads its whole stage window: its time grows with the rows in it.
 *
 * Uses DATABASE_URL (a scratch database is created and dropped) or an embedded Postgres.
 */

const TICK_SECONDS = 10;

/** Rows spread evenly over [from, from + spanMs), as the gateway would have written them. */
async function insertStageRows(db: DataSource, rows: number, from: Date, spanMs: number): Promise<void> {
  await db.query(
    `INSERT INTO request_metrics (id, at, request_id, policy, flag, variant, provider, model, first_model, outcome,
                                  http_status, latency_ms, ttft_ms, attempts, fallback, stream, user_key, cost_usd)
     SELECT gen_random_uuid(), $2::timestamptz + (n::bigint * $3::bigint / $1) * interval '1 millisecond', gen_random_uuid()::text,
            'recommendations', 'recommendations-model', CASE WHEN u % 2 = 0 THEN 'treatment' ELSE 'control' END,
            'simulated', 'deepseek-v3.2', 'deepseek-v3.2', CASE WHEN failed THEN 'upstream_error' ELSE 'ok' END,
            CASE WHEN failed THEN 502 ELSE 200 END, latency, CASE WHEN stream AND NOT failed THEN latency * 0.3 END,
            1, false, stream, u, 0.0001
       FROM (SELECT n, (random() * 50000)::bigint AS u, random() < 0.005 AS failed, random() < 0.5 AS stream,
                    exp(ln(500) + 0.45 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) AS latency
               FROM generate_series(0, $1 - 1) AS n) AS draws`,
    [rows, from, spanMs],
  );
  await db.query('ANALYZE request_metrics');
}

/** A conversion a minute after the first request of every tenth user (the rows' user key is the user). */
async function insertConversions(db: DataSource): Promise<void> {
  await db.query(
    `INSERT INTO outcome_events (id, metric_key, value, user_key, occurred_at, received_at, source)
     SELECT gen_random_uuid(), 'checkout_converted', 1, user_key, min(at) + interval '1 minute',
            min(at) + interval '1 minute', 'api'
       FROM request_metrics WHERE user_key % 10 = 0 GROUP BY user_key`,
  );
  await db.query('ANALYZE outcome_events');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rows: { type: 'string' }, ticks: { type: 'string' }, outcome: { type: 'boolean' } },
  });
  const rows = Number(values.rows ?? 300_000);
  const ticks = Number(values.ticks ?? 5);
  const db = await scratchDatabase('bench-canary-tick');
  const adminKey = generateApiKey().key;
  Object.assign(process.env, {
    DATABASE_URL: db.url,
    SWITCHYARD_CATALOG: await benchCatalogFile(),
    SWITCHYARD_ADMIN_KEY: adminKey,
    CANARY_TICK_SECONDS: String(TICK_SECONDS),
    LOG_LEVEL: 'warn',
  });
  const clock = new ManualClock();
  const app = await createApp({ clock });
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
      body: JSON.stringify(body),
    });
    if (response.status !== 201) throw new Error(`POST ${path} answered ${response.status}: ${await response.text()}`);
  };
  await post('/api/flags', {
    key: 'recommendations-model',
    variants: { control: 'deepseek-v3.2', treatment: 'gemini-2.5-flash' },
    defaultVariant: 'control',
    rollout: {},
  });
  if (values.outcome)
    await post('/api/outcome-metrics', {
      key: 'checkout_converted',
      type: 'binary',
      direction: 'higher_is_better',
      unit: 'user',
      attributionWindowSeconds: 600,
    });
  await post('/api/canaries', {
    flagKey: 'recommendations-model',
    variant: 'treatment',
    stages: [
      { percentage: 50, durationSeconds: 86_400 },
      { percentage: 100, durationSeconds: 0 },
    ],
    analysis: values.outcome ? { outcomes: [{ metric: 'checkout_converted', margin: { relative: 0.02 } }] } : undefined,
  });
  // An hour of the stage at whatever rate makes `rows`.
  const spanMs = 3_600_000;
  const writer = await new DataSource({ type: 'postgres', url: db.url }).initialize();
  await insertStageRows(writer, rows, clock.now(), spanMs);
  if (values.outcome) await insertConversions(writer);
  await writer.destroy();
  await clock.advance(spanMs);

  const appDb = app.get(DataSource);
  const query = appDb.query.bind(appDb);
  const spent = new Map<string, { ms: number; calls: number }>();
  appDb.query = (async (sql: string, parameters?: unknown[], runner?: never) => {
    const started = performance.now();
    try {
      return await query(sql, parameters, runner);
    } finally {
      const key = sql.replace(/\s+/g, ' ').trim().slice(0, 90);
      const entry = spent.get(key) ?? { ms: 0, calls: 0 };
      entry.ms += performance.now() - started;
      entry.calls++;
      spent.set(key, entry);
    }
  }) as typeof appDb.query;
  const tickMs: number[] = [];
  for (let tick = 0; tick < ticks; tick++) {
    const started = performance.now();
    await clock.advance(TICK_SECONDS * 1000);
    tickMs.push(performance.now() - started);
  }
  appDb.query = query;
  const sorted = [...tickMs].sort((a, b) => a - b);
  console.log(
    `canary tick${values.outcome ? ' (gated on a conversion)' : ''} over ${rows.toLocaleString('en-US')} rows in the stage window (${Math.round(rows / (spanMs / 1000))} req/s for an hour): ` +
      `median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms per tick (${tickMs.map((ms) => ms.toFixed(0)).join(', ')}); ` +
      `${((sorted[Math.floor(sorted.length / 2)] / rows) * 1000).toFixed(2)} µs per row`,
  );
  console.log('queries of those ticks, by total time:');
  for (const [sql, { ms, calls }] of [...spent.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 8))
    console.log(`  ${(ms / ticks).toFixed(0).padStart(6)} ms per tick  (${calls} calls)  ${sql}`);
  await shutDownApp(app);
  await db.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
