import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { Clock } from '../src/common/clock';
import type { MetricsConfig } from '../src/config/metrics.config';
import { buildDataSourceOptions } from '../src/database/data-source-options';
import { runMigrationsUnderLock } from '../src/database/run-migrations';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../src/config/app.config';
import type { DatabaseConfig } from '../src/config/database.config';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsPartitions } from '../src/metrics/metrics-partitions';
import { MetricsQueryService } from '../src/metrics/metrics-query.service';
import { MetricsWriter } from '../src/metrics/metrics-writer';
import type { RequestMetric } from '../src/metrics/request-metric';
import { scratchDatabase } from './scratch-database';
import { ShutdownDeadline } from '../src/database/shutdown-deadline';

/**
 * `npm run bench:metrics [-- --rows 10000000 --ingest 200000]`, two measurements on one Postgres:
 *
 * 1. Ingestion: the real MetricsWriter (the gateway's, with its default batch size and interval) is
 *    handed rows as fast as this process can make them; rows per second until all are stored, and
 *    the dropped count (target: at least 5 000 rows/s, zero loss).
 * 2. The summary query: request_metrics is seeded with rows spread over the last 24 hours (4 flags x
 *    2 variants, 4 models, realistic outcomes and latencies), then the summary API's query for one
 *    flag over the last hour, grouped by variant — what a canary tick and a dashboard run — is timed.
 *    Target: under 250 ms on 10 million rows.
 *
 * Uses DATABASE_URL (a scratch database is created and dropped) or an embedded Postgres.
 */

const HOUR_MS = 3_600_000;

/**
 * Rows in arrival order (as the writer stores them: time-ordered on disk, which the planner relies
 * on for range scans), generated server-side in chunks so they never cross the wire; and loaded the
 * way a bulk load is done:
 * the indexes (exactly as the migration made them, read back from the catalog) are dropped first and
 * built once at the end, sorted, instead of being updated row by row.
 */
async function seed(dataSource: DataSource, rows: number, now: Date): Promise<number> {
  const started = performance.now();
  const indexes: Array<{ name: string; definition: string }> = await dataSource.query(
    `SELECT indexname AS name, indexdef AS definition FROM pg_indexes WHERE tablename = 'request_metrics' AND indexname <> 'request_metrics_pkey'`,
  );
  const [primaryKey] = await dataSource.query(
    `SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conname = 'request_metrics_pkey'`,
  );
  for (const index of indexes) await dataSource.query(`DROP INDEX ${index.name}`);
  await dataSource.query('ALTER TABLE request_metrics DROP CONSTRAINT request_metrics_pkey');
  const chunk = 1_000_000;
  for (let offset = 0; offset < rows; offset += chunk) {
    const count = Math.min(chunk, rows - offset);
    await dataSource.query(
      `INSERT INTO request_metrics (id, at, request_id, policy, flag, variant, provider, model, first_model, outcome, http_status,
                                    error_type, latency_ms, upstream_latency_ms, ttft_ms, prompt_tokens, completion_tokens, cost_usd,
                                    attempts, fallback, stream, api_key_id)
       SELECT gen_random_uuid(), $1::timestamptz - interval '24 hours' + (i::float8 / $4) * interval '24 hours', md5(i::text),
              (ARRAY['recommendations', 'chat', 'fraud', NULL])[1 + i % 4],
              (ARRAY['recommendations-model', 'chat-model', 'fraud-model', 'search-model'])[1 + i % 4],
              (ARRAY['control', 'treatment'])[1 + (i / 4) % 2],
              'simulated',
              (ARRAY['deepseek-v3.2', 'gemini-2.5-flash', 'claude-sonnet-4.5', 'gpt-4.1'])[1 + (i / 8) % 4],
              (ARRAY['deepseek-v3.2', 'gemini-2.5-flash', 'claude-sonnet-4.5', 'gpt-4.1'])[1 + (i / 8) % 4],
              CASE WHEN i % 50 = 0 THEN 'upstream_error' WHEN i % 97 = 0 THEN 'timeout' ELSE 'ok' END,
              CASE WHEN i % 50 = 0 THEN 502 WHEN i % 97 = 0 THEN 504 ELSE 200 END,
              NULL, 20 + random() * random() * 2000, 15 + random() * 1500,
              CASE WHEN i % 3 = 0 THEN 10 + random() * 300 END,
              200 + (random() * 2000)::int, 20 + (random() * 500)::int, (random() * 0.01)::numeric(20, 12),
              1, i % 41 = 0, i % 3 = 0, NULL
         FROM generate_series($2::bigint, $3::bigint) AS i`,
      [now, offset, offset + count - 1, rows],
    );
    process.stdout.write(`  seeded ${(offset + count).toLocaleString('en-US')} rows\r`);
  }
  process.stdout.write('\n');
  console.log('  building the indexes...');
  await dataSource.query(`ALTER TABLE request_metrics ADD CONSTRAINT request_metrics_pkey ${primaryKey.definition}`);
  // pg_indexes spells a partitioned index "ON ONLY parent"; built that way it would skip the partitions.
  for (const index of indexes) await dataSource.query(index.definition.replace(' ON ONLY ', ' ON '));
  await dataSource.query('ANALYZE request_metrics');
  return (performance.now() - started) / 1000;
}

/** The gateway's defaults (see src/config/metrics.config.ts). */
const metricsSettings: MetricsConfig = {
  enabled: true,
  flushIntervalMs: 250,
  batchSize: 2000,
  queueLimit: 200_000,
  retentionDays: 30,
  partitionsAheadDays: 3,
  referenceModel: 'gpt-4.1',
  userKeySecret: undefined,
};

/** The writer the gateway runs, with the default settings, fed `count` rows without pause. */
async function measureIngestion(
  dataSource: DataSource,
  count: number,
): Promise<{ rows: number; seconds: number; rowsPerSec: number; dropped: number; stored: number }> {
  const writer = new MetricsWriter(
    dataSource,
    metricsSettings,
    { shutdownTimeoutMs: 15_000 } as AppConfig,
    { dataDir: mkdtempSync(join(tmpdir(), 'switchyard-bench-')) } as DatabaseConfig,
    new ShutdownDeadline(),
  );
  writer.onModuleInit();
  const before = Number((await dataSource.query('SELECT count(*) AS count FROM request_metrics'))[0].count);
  const started = performance.now();
  for (let made = 0; made < count;) {
    // In slices, so the writer's inserts interleave with the producing, as with live traffic.
    for (const end = Math.min(made + 1000, count); made < end; made++) writer.enqueue(syntheticRow(made));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await writer.flush();
  while (writer.snapshot().queued > 0) await writer.flush();
  const seconds = (performance.now() - started) / 1000;
  writer.onModuleDestroy();
  const stored = Number((await dataSource.query('SELECT count(*) AS count FROM request_metrics'))[0].count) - before;
  return { rows: count, seconds, rowsPerSec: count / seconds, dropped: writer.snapshot().dropped, stored };
}

function syntheticRow(i: number): RequestMetric {
  const ok = i % 50 !== 0;
  return {
    id: randomUUID(),
    at: new Date(),
    requestId: randomUUID(),
    policy: 'recommendations',
    flag: 'recommendations-model',
    flagVersion: 3,
    variant: i % 2 === 0 ? 'control' : 'treatment',
    provider: 'simulated',
    model: i % 2 === 0 ? 'gpt-4.1' : 'deepseek-v3.2',
    firstModel: i % 2 === 0 ? 'gpt-4.1' : 'deepseek-v3.2',
    outcome: ok ? 'ok' : 'upstream_error',
    httpStatus: ok ? 200 : 502,
    errorType: ok ? null : 'upstream_error',
    latencyMs: 50 + (i % 400),
    overheadMs: 0.1,
    upstreamLatencyMs: 45 + (i % 400),
    ttftMs: null,
    promptTokens: ok ? 420 : null,
    completionTokens: ok ? 96 : null,
    costUsd: ok ? '0.000158000000' : null,
    attempts: 1,
    fallback: false,
    stream: false,
    apiKeyId: null,
    userId: null,
    budgetId: null,
    budgetAction: null,
    qualitySignals: ok ? 0 : null,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string' },
      ingest: { type: 'string' },
      runs: { type: 'string' },
      explain: { type: 'boolean' },
      keep: { type: 'boolean' },
    },
  });
  const rows = Number(values.rows ?? 10_000_000);
  const ingestRows = Number(values.ingest ?? 200_000);
  const runs = Number(values.runs ?? 7);
  const db = await scratchDatabase('metrics-bench');
  const dataSource = await new DataSource(buildDataSourceOptions(db.url, 4)).initialize();
  try {
    await runMigrationsUnderLock(dataSource);
    const now = new Date();
    // The gateway's own partition job, run as of yesterday so the seeded day has its partition too.
    await new MetricsPartitions(dataSource, metricsSettings).maintain(new Date(now.getTime() - 86_400_000));
    const ingestion = await measureIngestion(dataSource, ingestRows);
    console.log(
      `ingestion: ${ingestion.rows.toLocaleString('en-US')} rows through the MetricsWriter in ${ingestion.seconds.toFixed(1)} s = ` +
        `${ingestion.rowsPerSec.toFixed(0)} rows/s; ${ingestion.stored.toLocaleString('en-US')} stored, ${ingestion.dropped} dropped — ` +
        `target >= 5000 rows/s with zero loss: ${ingestion.rowsPerSec >= 5000 && ingestion.dropped === 0 && ingestion.stored === ingestion.rows ? 'MET' : 'NOT MET'}`,
    );
    await dataSource.query('TRUNCATE request_metrics');
    console.log(`seeding ${rows.toLocaleString('en-US')} request_metrics rows over the last 24 hours...`);
    const seedSeconds = await seed(dataSource, rows, now);
    const queries = new MetricsQueryService(dataSource, new Clock());
    const query = {
      flag: 'recommendations-model',
      groupBy: 'variant' as const,
      from: new Date(now.getTime() - HOUR_MS).toISOString(),
      to: now.toISOString(),
    };
    const timings: number[] = [];
    let groups = 0;
    let requests = 0;
    for (let run = 0; run <= runs; run++) {
      const started = performance.now();
      const summary = await queries.summary(query);
      const ms = performance.now() - started;
      if (run > 0) timings.push(ms); // the first run warms the cache
      groups = summary.groups.length;
      requests = summary.groups.reduce((sum, group) => sum + group.requests, 0);
    }
    timings.sort((a, b) => a - b);
    const median = timings[Math.floor(timings.length / 2)];
    const result = {
      ingestRowsPerSec: Number(ingestion.rowsPerSec.toFixed(0)),
      ingestDropped: ingestion.dropped,
      rows,
      seedSeconds: Number(seedSeconds.toFixed(1)),
      summaryRowsInWindow: requests,
      groups,
      medianMs: Number(median.toFixed(1)),
      minMs: Number(timings[0].toFixed(1)),
      maxMs: Number(timings[timings.length - 1].toFixed(1)),
      targetMs: 250,
    };
    console.log(
      `summary for one flag over the last hour (${requests.toLocaleString('en-US')} of ${rows.toLocaleString('en-US')} rows, ${groups} variants): ` +
        `median ${result.medianMs} ms (min ${result.minMs}, max ${result.maxMs}) over ${timings.length} runs — target < 250 ms: ${median < 250 ? 'MET' : 'NOT MET'}`,
    );
    console.log(JSON.stringify(result));
    if (values.explain) {
      const plan = await dataSource.query(
        `EXPLAIN (ANALYZE, BUFFERS) SELECT variant, count(*), percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms)
           FROM request_metrics WHERE at >= $1 AND at < $2 AND flag = $3 GROUP BY 1`,
        [query.from, query.to, query.flag],
      );
      console.log(plan.map((line: Record<string, string>) => line['QUERY PLAN']).join('\n'));
    }
  } finally {
    await dataSource.destroy();
    if (values.keep) console.log(`kept: ${db.url}`);
    else await db.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
