import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { generateApiKey } from '../src/access/api-key-format';
import { createApp, shutDownApp } from '../src/bootstrap';
import { userKeyHasher } from '../src/metrics/user-key';
import { benchCatalogFile } from './bench-catalog';
import { scratchDatabase } from './scratch-database';

/**
 * `npm run bench:outcomes [-- --events 200000 --clients 4 --batch 1000]`: outcome ingestion end to
 * end. The whole app (createApp, as `npm start`) on a scratch database; clients post batches of user
 * conversions to POST /v1/outcomes over HTTP as fast as the app answers; the clock stops when every
 * accepted event is a row of outcome_events. Events per second over that time, and the loss: events
 * accepted but not stored, and events refused (503 queue full or 400). Target: >= 5 000 events/s,
 * zero loss. Each user's exposure (a request the flag routed) is a request_metrics row written
 * before the clock starts, in one INSERT: through the gateway it would be 50 000 requests, a
 * measure of the gateway rather than of ingestion.
 *
 * Uses DATABASE_URL (a scratch database is created and dropped) or an embedded Postgres.
 */

/** Users the events come from, each exposed once. */
const USERS = 50_000;

/**
 * One exposure per user, a minute ago, as the gateway writes it: a row the recommendations flag
 * routed, with the user's key made by the app's own hash and secret (user-key.ts).
 */
async function insertExposures(db: DataSource, users: number): Promise<void> {
  const userKeyOf = userKeyHasher(process.env.METRICS_USER_KEY_SECRET);
  const keys = Array.from({ length: users }, (_, i) => userKeyOf(`user-${i}`));
  await db.query(
    `INSERT INTO request_metrics (id, at, request_id, policy, flag, variant, provider, model, first_model, outcome,
                                  http_status, latency_ms, attempts, fallback, stream, user_key)
     SELECT gen_random_uuid(), $2, gen_random_uuid()::text, 'recommendations', 'recommendations-model', 'control',
            'simulated', 'deepseek-v3.2', 'deepseek-v3.2', 'ok', 200, 450, 1, false, false, user_key
       FROM unnest($1::int8[]) AS user_key`,
    [keys, new Date(Date.now() - 60_000)],
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { events: { type: 'string' }, clients: { type: 'string' }, batch: { type: 'string' } },
  });
  const total = Number(values.events ?? 200_000);
  const clients = Number(values.clients ?? 4);
  const batchSize = Math.min(1000, Number(values.batch ?? 1000));
  const db = await scratchDatabase('bench-outcomes');
  const adminKey = generateApiKey().key;
  Object.assign(process.env, {
    DATABASE_URL: db.url,
    SWITCHYARD_CATALOG: await benchCatalogFile(),
    SWITCHYARD_ADMIN_KEY: adminKey,
    LOG_LEVEL: 'warn',
  });
  const app = await createApp();
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` };
  const check = await fetch(`${base}/api/outcome-metrics`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ key: 'checkout_converted', type: 'binary', direction: 'higher_is_better', unit: 'user' }),
  });
  if (check.status !== 201) throw new Error(`could not define the metric: ${check.status} ${await check.text()}`);
  const reader = await new DataSource({ type: 'postgres', url: db.url }).initialize();
  await insertExposures(reader, Math.min(total, USERS));
  let next = 0;
  let accepted = 0;
  let refused = 0;
  const started = performance.now();
  const client = async (c: number) => {
    while (next < total) {
      const from = next;
      next = Math.min(total, next + batchSize);
      const events = Array.from({ length: next - from }, (_, i) => ({
        metric: 'checkout_converted',
        value: (from + i) % 10 === 0,
        userId: `user-${(from + i) % USERS}`,
        idempotencyKey: `bench-${c}-${from + i}`,
      }));
      const response = await fetch(`${base}/v1/outcomes`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ events }),
      });
      const body = (await response.json()) as { accepted?: number; refused?: number };
      if (response.status !== 202)
        throw new Error(`POST /v1/outcomes answered ${response.status}: ${JSON.stringify(body)}`);
      accepted += body.accepted ?? 0;
      refused += body.refused ?? 0;
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  const answeredSeconds = (performance.now() - started) / 1000;
  let stored = 0;
  for (;;) {
    stored = Number((await reader.query('SELECT count(*)::int AS n FROM outcome_events'))[0].n);
    if (stored >= accepted || performance.now() - started > 600_000) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  const rate = stored / seconds;
  const lost = accepted - stored + refused;
  console.log(
    `outcome ingestion: ${total.toLocaleString('en-US')} events in batches of ${batchSize} from ${clients} clients over HTTP; ` +
      `answered in ${answeredSeconds.toFixed(1)} s, all stored in ${seconds.toFixed(1)} s = ${rate.toFixed(0)} events/s; ` +
      `${accepted} accepted, ${stored} stored, ${refused} refused — target >= 5000 events/s with zero loss: ` +
      `${rate >= 5000 && lost === 0 && accepted === total ? 'MET' : 'NOT MET'}`,
  );
  await reader.destroy();
  await shutDownApp(app);
  await db.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
