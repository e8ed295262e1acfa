import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../src/database/data-source-options';
import { insertJsonRowsSql, jsonRowsParameter, type JsonRowColumn } from '../src/database/json-rows';
import { runMigrationsUnderLock } from '../src/database/run-migrations';
import { INSERT_METRICS_SQL, storedValues, type RequestMetric } from '../src/metrics/request-metric';
import { userKeyHasher } from '../src/metrics/user-key';
import { createTestDatabase } from './support/test-database';

/** The batch writers' one INSERT shape (json-rows.ts), against a real Postgres: every value arrives as sent. */
describe('json rows: what the batch writers send is what Postgres stores', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let dataSource: DataSource;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await new DataSource(buildDataSourceOptions(database.url, 2)).initialize();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  it('stores every column type exactly, nulls as NULL, and a missing value as its default', async () => {
    await dataSource.query(`CREATE TABLE every_type (
      id uuid PRIMARY KEY, at timestamptz, label text, small smallint, count int4, big int8,
      ratio float8, amount numeric(20,12), flag bool, tools jsonb, marked bool NOT NULL)`);
    const columns: JsonRowColumn[] = [
      ['id', 'uuid'],
      ['at', 'timestamptz'],
      ['label', 'text'],
      ['small', 'smallint'],
      ['count', 'int4'],
      ['big', 'int8'],
      ['ratio', 'float8'],
      ['amount', 'numeric'],
      ['flag', 'bool'],
      ['tools', 'jsonb'],
      ['marked', 'bool', 'false'],
    ];
    const full = {
      id: randomUUID(),
      at: new Date('2026-12-06T07:41:02.123Z'),
      // JSON's escapes, a tab, a quote, a backslash, a newline, an emoji and a CJK character.
      label: 'tab\there "quoted" back\\slash\nnext line 🚀 漢字',
      small: -32768,
      count: 2147483647,
      big: '-9223372036854775808',
      ratio: 0.1 + 0.2,
      amount: '0.000000000001',
      flag: true,
      tools: [{ name: 'lookup', arguments: '{"q":"x"}' }],
      marked: true,
    };
    const empty = { id: randomUUID(), at: null, label: null, small: null, count: null, big: null };
    const valuesOf = (row: Record<string, unknown>) =>
      columns.map(([column]) => (row[column] instanceof Date ? (row[column] as Date).getTime() : row[column]));

    await dataSource.query(insertJsonRowsSql('every_type', columns), jsonRowsParameter([full, empty], valuesOf));

    const [stored, stored2]: Array<Record<string, unknown>> = await dataSource.query(
      `SELECT id, at, label, small, count, big::text AS big, ratio, amount::text AS amount, flag, tools, marked
         FROM every_type ORDER BY at NULLS LAST`,
    );
    expect(stored).toEqual(full);
    expect(stored2).toEqual({
      ...empty,
      ratio: null,
      amount: null,
      flag: null,
      tools: null,
      marked: false,
    });
  });

  it("stores a request's metric row field for field in its columns", async () => {
    await runMigrationsUnderLock(dataSource);
    const userKeyOf = userKeyHasher('a-test-secret-of-16+');
    // Every field distinct, so two columns swapped in storedValues cannot go unnoticed.
    const row: RequestMetric = {
      id: randomUUID(),
      at: new Date('2026-12-06T07:41:02.456Z'),
      requestId: 'req-1',
      policy: 'policy-a',
      flag: 'flag-b',
      flagVersion: 7,
      variant: 'variant-c',
      provider: 'provider-d',
      model: 'model-e',
      firstModel: 'model-f',
      outcome: 'ok',
      httpStatus: 201,
      errorType: 'error-g',
      latencyMs: 12.5,
      overheadMs: 0.25,
      upstreamLatencyMs: 11.75,
      ttftMs: 3.125,
      promptTokens: 17,
      completionTokens: 19,
      costUsd: '0.000123000000',
      attempts: 2,
      fallback: true,
      stream: false,
      apiKeyId: randomUUID(),
      userId: 'user-h',
      budgetId: randomUUID(),
      budgetAction: 'downgrade',
      qualitySignals: 5,
      shadow: true,
      shadowOf: 'req-0',
    };
    await dataSource.query(
      INSERT_METRICS_SQL,
      jsonRowsParameter([row, { ...row, id: randomUUID(), shadow: undefined }], (metric) =>
        storedValues(metric, userKeyOf),
      ),
    );

    const stored: Array<Record<string, unknown>> = await dataSource.query(
      `SELECT id, at, request_id, policy, flag, variant, provider, model, first_model, outcome, http_status,
              error_type, latency_ms, upstream_latency_ms, ttft_ms, prompt_tokens, completion_tokens,
              cost_usd::text AS cost_usd, attempts, fallback, stream, api_key_id, user_key::text AS user_key,
              budget_id, budget_action, quality_signals, shadow, shadow_of, flag_version
         FROM request_metrics ORDER BY shadow DESC`,
    );
    expect(stored[0]).toEqual({
      id: row.id,
      at: row.at,
      request_id: 'req-1',
      policy: 'policy-a',
      flag: 'flag-b',
      variant: 'variant-c',
      provider: 'provider-d',
      model: 'model-e',
      first_model: 'model-f',
      outcome: 'ok',
      http_status: 201,
      error_type: 'error-g',
      latency_ms: 12.5,
      upstream_latency_ms: 11.75,
      ttft_ms: 3.125,
      prompt_tokens: 17,
      completion_tokens: 19,
      cost_usd: '0.000123000000',
      attempts: 2,
      fallback: true,
      stream: false,
      api_key_id: row.apiKeyId,
      user_key: userKeyOf('user-h'),
      budget_id: row.budgetId,
      budget_action: 'downgrade',
      quality_signals: 5,
      shadow: true,
      shadow_of: 'req-0',
      flag_version: 7,
    });
    // A row that does not say it is a shadow call's is not one.
    expect(stored[1].shadow).toBe(false);
  });
});
