import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { ManualClock } from '../src/common/manual-clock';
import { DEFAULT_CATALOG } from '../src/config/catalog.config';
import { EmbeddedPostgresServer } from '../src/database/embedded-postgres';
import { CanaryWindowReader } from '../src/metrics/canary-window-reader';
import { MetricsPartitions } from '../src/metrics/metrics-partitions';
import { MetricsQueryService } from '../src/metrics/metrics-query.service';
import { MetricsWriter } from '../src/metrics/metrics-writer';
import { freePort } from './support/free-port';
import { api, bearer, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';
import { parsePrometheus } from './support/prometheus';

const hello = [{ role: 'user', content: 'Suggest three books for a long train journey.' }];
/** Written quickly, so tests do not wait for the default 250 ms. */
const FAST_WRITER = { METRICS_FLUSH_INTERVAL_MS: '20', GATEWAY_MAX_RETRIES: '0' };

type MetricRow = {
  request_id: string;
  policy: string | null;
  flag: string | null;
  variant: string | null;
  provider: string | null;
  model: string | null;
  first_model: string | null;
  outcome: string;
  http_status: number;
  error_type: string | null;
  latency_ms: number;
  upstream_latency_ms: number | null;
  ttft_ms: number | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  cost_usd: string | null;
  attempts: number;
  fallback: boolean;
  stream: boolean;
};

function completion(app: TestApp, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const call = api(app).post('/v1/chat/completions');
  for (const [name, value] of Object.entries(headers)) call.set(name, value);
  return call.send(body);
}

function fault(app: TestApp, model: string, body: Record<string, unknown>) {
  return request(app.simulatorUrl).post(`/_simulator/faults/${model}`).send(body).expect(200);
}

async function rowsOf(url: string, requestIds: string[]): Promise<MetricRow[]> {
  return queryRows<MetricRow>(url, 'SELECT * FROM request_metrics WHERE request_id = ANY($1) ORDER BY at', [
    requestIds,
  ]);
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A served request's row written straight into request_metrics, for the canary window reader's tests. */
async function insertServedRow(
  url: string,
  row: {
    at: Date;
    flag: string;
    variant: string;
    userKey: string | null;
    shadow?: boolean;
    /** Downgraded by a spend budget: answered by another model (a fallback in the row) by the budget's choice. */
    downgraded?: boolean;
  },
): Promise<string> {
  const requestId = randomUUID();
  const downgraded = row.downgraded ?? false;
  await queryRows(
    url,
    `INSERT INTO request_metrics (id, at, request_id, flag, variant, outcome, http_status, latency_ms, attempts,
                                  fallback, stream, user_key, shadow, budget_action)
     VALUES ($1, $2, $3, $4, $5, 'ok', 200, 1, 1, $8, false, $6, $7, $9)`,
    [
      randomUUID(),
      row.at,
      requestId,
      row.flag,
      row.variant,
      row.userKey,
      row.shadow ?? false,
      downgraded,
      downgraded ? 'downgrade' : null,
    ],
  );
  return requestId;
}

async function countRows(url: string): Promise<number> {
  const [{ count }] = await queryRows<{ count: number }>(url, 'SELECT count(*)::int AS count FROM request_metrics');
  return count;
}

/** Postgres' percentile_cont, computed independently of the database. */
function percentileCont(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

function priceOf(modelId: string) {
  return DEFAULT_CATALOG.models.find((model) => model.id === modelId)!.pricing;
}

describe('metrics: one row per request, summaries, cost and Prometheus', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    const catalog = await writeTestCatalog((c) => {
      c.providers.push({ ...c.providers[0], id: 'slow-lane', timeoutMs: 200 });
      c.models.push({ ...c.models[0], id: 'slow-lane-gpt', provider: 'slow-lane', upstreamModel: 'gpt-4.1' });
    });
    gateway = await startTestApp({
      databaseUrl: database.url,
      catalog,
      env: { ...FAST_WRITER, SIMULATED_API_KEY: 'sk-test-primary-key' },
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await database?.drop();
  });
  afterEach(async () => {
    await request(gateway.simulatorUrl).post('/_simulator/reset').expect(204);
  });

  it('writes one row per plain request with the tokens the upstream reported and their exact cost', async () => {
    const responses = [];
    for (let i = 0; i < 3; i++)
      responses.push(await completion(gateway, { model: 'deepseek-v3.2', messages: hello }).expect(200));
    const ids = responses.map((response) => response.headers['x-switchyard-request-id']);
    const rows = await eventually(
      () => rowsOf(database.url, ids),
      (found) => found.length === 3,
    );
    expect(rows).toHaveLength(3);
    for (const response of responses) {
      const row = rows.find((candidate) => candidate.request_id === response.headers['x-switchyard-request-id'])!;
      const usage = response.body.usage;
      const price = priceOf('deepseek-v3.2');
      expect(row).toMatchObject({
        outcome: 'ok',
        http_status: 200,
        model: 'deepseek-v3.2',
        first_model: 'deepseek-v3.2',
        provider: 'simulated',
        policy: null,
        flag: null,
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        attempts: 1,
        fallback: false,
        stream: false,
        error_type: null,
        ttft_ms: null,
      });
      expect(Number(row.cost_usd)).toBeCloseTo(
        (usage.prompt_tokens * price.inputPer1M + usage.completion_tokens * price.outputPer1M) / 1e6,
        12,
      );
      expect(row.latency_ms).toBeGreaterThan(0);
      expect(row.upstream_latency_ms).toBeGreaterThan(0);
    }
  });

  it('records streams with time to first token and the usage of the final chunk', async () => {
    const response = await completion(gateway, {
      model: 'route:chat',
      messages: hello,
      stream: true,
      stream_options: { include_usage: true },
    }).expect(200);
    const usageEvent = response.text
      .split('\n\n')
      .map((event) => event.replace(/^data: /, ''))
      .filter((data) => data.startsWith('{'))
      .map((data) => JSON.parse(data))
      .find((chunk) => chunk.usage);
    const [row] = await eventually(
      () => rowsOf(database.url, [response.headers['x-switchyard-request-id']]),
      (found) => found.length === 1,
    );
    expect(row).toMatchObject({
      outcome: 'ok',
      stream: true,
      policy: 'chat',
      model: response.headers['x-switchyard-model'],
      prompt_tokens: usageEvent.usage.prompt_tokens,
      completion_tokens: usageEvent.usage.completion_tokens,
    });
    expect(row.ttft_ms).toBeGreaterThan(0);
    expect(row.ttft_ms).toBeLessThanOrEqual(row.latency_ms);
  });

  it('gives every failing outcome exactly one row: upstream error, rate limit, timeout, rejection', async () => {
    await fault(gateway, 'gpt-4.1', { status: 500, count: 2 });
    const upstreamErrors = [
      await completion(gateway, { model: 'gpt-4.1', messages: hello }).expect(502),
      await completion(gateway, { model: 'gpt-4.1', messages: hello }).expect(502),
    ];
    await fault(gateway, 'gpt-4.1', { status: 429, count: 2, retryAfterMs: 10 });
    const rateLimited = [
      await completion(gateway, { model: 'gpt-4.1', messages: hello }).expect(429),
      await completion(gateway, { model: 'gpt-4.1', messages: hello }).expect(429),
    ];
    await request(gateway.simulatorUrl)
      .put('/_simulator/profiles/gpt-4.1')
      .send({ latencyMs: { median: 1000, p99: 1000 } })
      .expect(200);
    const timeouts = [await completion(gateway, { model: 'slow-lane-gpt', messages: hello }).expect(504)];
    const rejected = [
      await completion(gateway, { model: 'gpt-4.1' }).expect(400),
      await completion(gateway, { model: 'no-such-model', messages: hello }).expect(404),
      await api(gateway)
        .post('/v1/chat/completions')
        .set('content-type', 'application/json')
        .send('{"model": ')
        .expect(400),
    ];
    const expectations: Array<[typeof upstreamErrors, Partial<MetricRow>]> = [
      [
        upstreamErrors,
        { outcome: 'upstream_error', http_status: 502, error_type: 'upstream_error', model: 'gpt-4.1', attempts: 1 },
      ],
      [rateLimited, { outcome: 'rate_limited', http_status: 429, error_type: 'rate_limit_exceeded', model: 'gpt-4.1' }],
      [timeouts, { outcome: 'timeout', http_status: 504, error_type: 'upstream_timeout', model: 'slow-lane-gpt' }],
    ];
    const all = [...upstreamErrors, ...rateLimited, ...timeouts, ...rejected].map(
      (r) => r.headers['x-switchyard-request-id'],
    );
    const rows = await eventually(
      () => rowsOf(database.url, all),
      (found) => found.length === all.length,
    );
    expect(rows).toHaveLength(all.length);
    const rowOf = (response: { headers: Record<string, string> }) =>
      rows.find((row) => row.request_id === response.headers['x-switchyard-request-id']);
    for (const [responses, expected] of expectations) {
      for (const response of responses)
        expect(rowOf(response)).toMatchObject({ ...expected, prompt_tokens: null, cost_usd: null });
    }
    expect(rejected.map((response) => rowOf(response))).toEqual([
      expect.objectContaining({ outcome: 'rejected', http_status: 400, model: null }),
      expect.objectContaining({ outcome: 'rejected', http_status: 404, error_type: 'model_not_found' }),
      expect.objectContaining({ outcome: 'rejected', http_status: 400, error_type: 'invalid_json' }),
    ]);
  });

  /** A stream of gpt-4.1 (slowed down) whose client leaves after its first chunk; its request id. */
  async function hangUpMidStream(key: string): Promise<string> {
    await request(gateway.simulatorUrl)
      .put('/_simulator/profiles/gpt-4.1')
      .send({ tokensPerSecond: 5, completionTokens: 50 })
      .expect(200);
    const abort = new AbortController();
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: bearer(key) },
      body: JSON.stringify({ model: 'gpt-4.1', messages: hello, stream: true }),
      signal: abort.signal,
    });
    const requestId = response.headers.get('x-switchyard-request-id')!;
    await response.body!.getReader().read();
    abort.abort();
    return requestId;
  }

  it('records a client that hangs up mid-stream as client_aborted', async () => {
    const requestId = await hangUpMidStream(gateway.adminKey!);
    const [row] = await eventually(
      () => rowsOf(database.url, [requestId]),
      (found) => found.length === 1,
    );
    expect(row).toMatchObject({ outcome: 'client_aborted', http_status: 499, stream: true, model: 'gpt-4.1' });
  });

  it('counts an answer whose cost is unknown (a client gone mid-stream) apart in the cost report, not as free', async () => {
    const team = (
      await api(gateway)
        .post('/api/keys')
        .send({ name: 'unpriced-team', scopes: ['gateway'] })
        .expect(201)
    ).body as { id: string; key: string };
    const answered = await completion(
      gateway,
      { model: 'gpt-4.1', messages: hello },
      { authorization: bearer(team.key) },
    );
    expect(answered.status).toBe(200);
    const priced = answered.headers['x-switchyard-request-id'];
    const gone = await hangUpMidStream(team.key);
    const rows = await eventually(
      () => rowsOf(database.url, [priced, gone]),
      (found) => found.length === 2,
    );
    const pricedRow = rows.find((row) => row.request_id === priced)!;
    expect(rows.find((row) => row.request_id === gone)).toMatchObject({ outcome: 'client_aborted', cost_usd: null });

    const report = (
      await api(gateway).get('/api/metrics/cost').query({ groupBy: 'model', apiKey: team.id }).expect(200)
    ).body;
    expect(report.total).toMatchObject({ requests: 2, unpricedRequests: 1 });
    expect(report.total.costUsd).toBeCloseTo(Number(pricedRow.cost_usd), 12);
    expect(report.groups).toEqual([expect.objectContaining({ key: 'gpt-4.1', requests: 2, unpricedRequests: 1 })]);
  });

  it('summarises exactly: percentiles equal those computed from the rows', async () => {
    await request(gateway.simulatorUrl)
      .put('/_simulator/profiles/gemini-2.5-flash')
      .send({ latencyMs: { median: 8, p99: 30 } })
      .expect(200);
    await request(gateway.simulatorUrl)
      .put('/_simulator/profiles/deepseek-v3.2')
      .send({ latencyMs: { median: 4, p99: 20 } })
      .expect(200);
    const from = new Date().toISOString();
    for (let i = 0; i < 40; i++) {
      await completion(gateway, { model: 'route:chat', messages: hello }, { 'x-user-id': `user-${i}` }).expect(200);
    }
    const rows = await eventually(
      () =>
        queryRows<MetricRow>(database.url, `SELECT * FROM request_metrics WHERE policy = 'chat' AND at >= $1`, [from]),
      (found) => found.length === 40,
    );
    expect(rows).toHaveLength(40);
    const summary = await api(gateway)
      .get('/api/metrics/summary')
      .query({ from, policy: 'chat', groupBy: 'model' })
      .expect(200);
    expect(summary.body.groupBy).toBe('model');
    for (const group of summary.body.groups) {
      const latencies = rows.filter((row) => row.model === group.key).map((row) => row.latency_ms);
      expect(group.requests).toBe(latencies.length);
      expect(group.latencyMs.p50).toBeCloseTo(percentileCont(latencies, 0.5), 9);
      expect(group.latencyMs.p95).toBeCloseTo(percentileCont(latencies, 0.95), 9);
      expect(group.latencyMs.p99).toBeCloseTo(percentileCont(latencies, 0.99), 9);
      expect(group.latencyMs.avg).toBeCloseTo(latencies.reduce((a, b) => a + b, 0) / latencies.length, 9);
      expect(group).toMatchObject({ errors: 0, errorRate: 0, fallbacks: 0, outcomes: { ok: latencies.length } });
      const tokens = rows
        .filter((row) => row.model === group.key)
        .reduce((sum, row) => sum + (row.prompt_tokens ?? 0), 0);
      expect(group.tokens.prompt).toBe(tokens);
    }
    expect(summary.body.groups.reduce((sum: number, group: { requests: number }) => sum + group.requests, 0)).toBe(40);
  });

  it('groups by variant for a flag, with error rates as fractions', async () => {
    await api(gateway)
      .post('/api/flags')
      .send({
        key: 'chat-model',
        variants: { control: 'gemini-2.5-flash', treatment: 'gpt-4.1' },
        defaultVariant: 'control',
        rollout: { treatment: 100 },
      })
      .expect(201);
    const from = new Date().toISOString();
    await fault(gateway, 'gpt-4.1', { status: 500, count: 1 });
    for (let i = 0; i < 4; i++)
      await completion(gateway, { model: 'route:chat', messages: hello }, { 'x-user-id': `v-${i}` });
    const summary = await eventually(
      async () =>
        (
          await api(gateway)
            .get('/api/metrics/summary')
            .query({ from, flag: 'chat-model', groupBy: 'variant' })
            .expect(200)
        ).body,
      (body) => body.groups.reduce((sum: number, g: { requests: number }) => sum + g.requests, 0) === 4,
    );
    const treatment = summary.groups.find((group: { key: string }) => group.key === 'treatment');
    // The failing call fell back to another model: the request succeeded but counts as a fallback.
    expect(treatment).toMatchObject({ requests: 4, errors: 0, fallbacks: 1 });
  });

  it('reports spend and the saving against the reference model', async () => {
    const response = await api(gateway).get('/api/metrics/cost').query({ groupBy: 'model' }).expect(200);
    expect(response.body.referenceModel).toBe('gpt-4.1');
    const rows = await queryRows<{ model: string; prompt: string; completion: string; cost: string }>(
      database.url,
      `SELECT model, sum(prompt_tokens)::text AS prompt, sum(completion_tokens)::text AS completion, sum(cost_usd)::text AS cost
         FROM request_metrics WHERE prompt_tokens IS NOT NULL GROUP BY model`,
    );
    const reference = priceOf('gpt-4.1');
    for (const row of rows) {
      const group = response.body.groups.find((g: { key: string }) => g.key === row.model);
      const referenceCost =
        (Number(row.prompt) * reference.inputPer1M + Number(row.completion) * reference.outputPer1M) / 1e6;
      expect(group.costUsd).toBeCloseTo(Number(row.cost), 12);
      expect(group.referenceCostUsd).toBeCloseTo(referenceCost, 12);
      expect(group.savingRatio).toBeCloseTo((referenceCost - Number(row.cost)) / referenceCost, 9);
    }
    const deepseek = response.body.groups.find((g: { key: string }) => g.key === 'deepseek-v3.2');
    // deepseek-v3.2 lists at a fraction of gpt-4.1's prices.
    expect(deepseek.savingRatio).toBeGreaterThan(0.8);
    expect(response.body.total.requests).toBe(await countRows(database.url));
  });

  it('serves a timeseries in buckets', async () => {
    const from = new Date(Date.now() - 60_000).toISOString();
    const response = await api(gateway)
      .get('/api/metrics/timeseries')
      .query({ from, bucket: '10s', groupBy: 'policy' })
      .expect(200);
    expect(response.body.bucket).toBe('10s');
    const points = response.body.series.flatMap(
      (series: { points: Array<{ t: string; requests: number }> }) => series.points,
    );
    expect(points.length).toBeGreaterThan(0);
    for (const point of points) expect(new Date(point.t).getTime() % 10_000).toBe(0);
  });

  it.each([
    ['/api/metrics/summary', { groupBy: 'colour' }, /groupBy must be one of: variant, model, policy, provider, apiKey/],
    ['/api/metrics/summary', { from: 'yesterday' }, /from must be an ISO 8601 time/],
    [
      '/api/metrics/summary',
      { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' },
      /from \(2026-01-02T00:00:00.000Z\) must not be after to \(2026-01-01T00:00:00.000Z\): swap them/,
    ],
    ['/api/metrics/timeseries', { bucket: '1w' }, /bucket must be a width/],
    [
      '/api/metrics/timeseries',
      { bucket: '1s', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' },
      /at most 2000/,
    ],
    ['/api/metrics/cost', { referenceModel: 'gpt-9' }, /referenceModel "gpt-9" is not a catalog model/],
    ['/api/metrics/cost', { groupBy: 'team' }, /groupBy must be one of: model, policy, apiKey/],
  ])('answers %s with bad query %j by 400 naming the problem', async (path, query, message) => {
    const response = await api(gateway).get(path).query(query).expect(400);
    expect([response.body.message].flat().join('; ')).toMatch(message);
  });

  it('exposes Prometheus counters that agree with the rows', async () => {
    const rowCount = await eventually(
      () => countRows(database.url),
      () => true,
    );
    const text = (
      await api(gateway)
        .get('/metrics')
        .expect(200)
        .expect('content-type', /text\/plain/)
    ).text;
    const samples = parsePrometheus(text);
    const requests = samples.filter((s) => s.name === 'switchyard_requests_total').reduce((sum, s) => sum + s.value, 0);
    expect(requests).toBe(rowCount);
    const written = samples.find((s) => s.name === 'switchyard_metrics_rows_written_total')!.value;
    expect(written).toBe(rowCount);
    expect(samples.find((s) => s.name === 'switchyard_metrics_rows_dropped_total')!.value).toBe(0);
    expect(samples.find((s) => s.name === 'switchyard_alerts_dropped_total')!.value).toBe(0);
    expect(samples.find((s) => s.name === 'switchyard_metrics_queue_depth')!.value).toBe(0);
    expect(
      samples.some((s) => s.name === 'switchyard_request_duration_seconds_bucket' && s.labels.outcome === 'ok'),
    ).toBe(true);
    // The gateway's own time: one observation per request, whatever its outcome.
    const overheadCount = samples
      .filter((s) => s.name === 'switchyard_gateway_overhead_seconds_count')
      .reduce((sum, s) => sum + s.value, 0);
    expect(overheadCount).toBe(rowCount);
    expect(samples.some((s) => s.name === 'switchyard_circuit_state' && s.labels.model === 'gpt-4.1')).toBe(true);
    expect(samples.some((s) => s.name === 'process_resident_memory_bytes')).toBe(true);
    const health = await request(gateway.url).get('/health/ready').expect(200);
    expect(health.body.details.metrics).toMatchObject({ status: 'up', queued: 0, written: rowCount, dropped: 0 });
  });

  it('keeps daily partitions ahead and drops the ones past retention', async () => {
    const partitions = async () =>
      (
        await queryRows<{ name: string }>(
          database.url,
          `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'request_metrics'::regclass ORDER BY 1`,
        )
      ).map((row) => row.name);
    const day = (offset: number) =>
      `request_metrics_p${new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '')}`;
    expect(await partitions()).toEqual(
      expect.arrayContaining([day(0), day(1), day(2), day(3), 'request_metrics_default']),
    );

    await queryRows(
      database.url,
      `CREATE TABLE request_metrics_p20200101 PARTITION OF request_metrics FOR VALUES FROM ('2020-01-01') TO ('2020-01-02')`,
    );
    const result = await gateway.app.get(MetricsPartitions).maintain();
    expect(result.dropped).toEqual(['request_metrics_p20200101']);
    expect(await partitions()).not.toContain('request_metrics_p20200101');
    expect(await partitions()).toContain(day(0));
  });

  it('moves rows stranded in the default partition into their day when it is created, and retires old ones', async () => {
    const insert = (id: string, at: Date) =>
      queryRows(
        database.url,
        `INSERT INTO request_metrics (id, at, request_id, outcome, http_status, latency_ms, attempts, fallback, stream)
         VALUES ($1, $2, 'stranded', 'ok', 200, 1, 1, false, false)`,
        [id, at],
      );
    const later = new Date(Date.now() + 10 * 86_400_000); // past the partitions made ahead: lands in the default
    const partitionOfLater = `request_metrics_p${later.toISOString().slice(0, 10).replaceAll('-', '')}`;
    const ancient = new Date('2019-06-01T12:00:00Z');
    await insert(randomUUID(), later);
    await insert(randomUUID(), ancient);
    const whereStranded = `SELECT tableoid::regclass::text AS partition, at FROM request_metrics WHERE request_id = 'stranded' ORDER BY at`;
    expect((await queryRows<{ partition: string }>(database.url, whereStranded)).map((row) => row.partition)).toEqual([
      'request_metrics_default',
      'request_metrics_default',
    ]);

    // Maintenance as if ten days had passed: that day's partition is due now.
    const result = await gateway.app.get(MetricsPartitions).maintain(later);
    expect(result.created).toContain(partitionOfLater);
    const rows = await queryRows<{ partition: string; at: Date }>(database.url, whereStranded);
    expect(rows).toEqual([{ partition: partitionOfLater, at: later }]);
  });
  it("counts a shadow call's row as nobody's exposure in a canary's outcome buckets", async () => {
    // A shadow row carries the user and the candidate's variant, but the user never saw its answer.
    const flag = `shadow-exposure-${randomUUID().slice(0, 8)}`;
    const at = new Date(Date.now() - 3_600_000);
    const row = (variant: string, userKey: string, shadow: boolean) =>
      insertServedRow(database.url, { at, flag, variant, userKey, shadow });
    await row('control', '7001', false);
    await row('treatment', '7001', true); // the shadow copy of user 7001's request
    await row('treatment', '7002', false);
    for (const userKey of ['7001', '7002'])
      await queryRows(
        database.url,
        `INSERT INTO outcome_events (id, metric_key, value, user_key, occurred_at, received_at, source)
         VALUES ($1, $2, 1, $3, $4, $4, 'api')`,
        [randomUUID(), `${flag}-conversion`, userKey, new Date(at.getTime() + 60_000)],
      );
    const buckets = await gateway.app
      .get(CanaryWindowReader)
      .outcomeBuckets(
        { flag, variants: ['control', 'treatment'], from: new Date(at.getTime() - 1000), to: new Date() },
        { key: `${flag}-conversion`, unit: 'user', type: 'binary', windowSeconds: 600 },
      );
    const units = (variant: string) => buckets.get(variant)!.reduce((total, bucket) => total + bucket.n, 0);
    expect({ control: units('control'), treatment: units('treatment') }).toEqual({ control: 1, treatment: 1 });
  });

  it("leaves requests a budget downgraded out of a canary's arms and the guardrail's window: no failure of the variant's", async () => {
    const flag = `downgraded-${randomUUID().slice(0, 8)}`;
    const at = new Date(Date.now() - 3_600_000);
    const window = { flag, from: new Date(at.getTime() - 1000), to: new Date() };
    for (const userKey of ['7201', '7202'])
      await insertServedRow(database.url, { at, flag, variant: 'control', userKey });
    for (const userKey of ['7203', '7204', '7205'])
      await insertServedRow(database.url, { at, flag, variant: 'control', userKey, downgraded: true });
    await insertServedRow(database.url, { at, flag, variant: 'treatment', userKey: '7206' });

    const buckets = await gateway.app
      .get(CanaryWindowReader)
      .buckets({ ...window, variants: ['control', 'treatment'] }, 0, new Map());
    const total = (variant: string, counter: 'requests' | 'failures') =>
      buckets.get(variant)!.reduce((sum, bucket) => sum + (bucket.counters[counter] ?? 0), 0);
    expect({ requests: total('control', 'requests'), failures: total('control', 'failures') }).toEqual({
      requests: 2,
      failures: 0,
    });
    const guardrail = await gateway.app.get(MetricsQueryService).variantWindow({ ...window, variant: 'control' });
    expect(guardrail).toMatchObject({ requests: 2, failures: 0 });
  });

  it('judges a request-unit outcome per request: its largest value, 0 for a request without one', async () => {
    const flag = `request-unit-${randomUUID().slice(0, 8)}`;
    const at = new Date(Date.now() - 3_600_000);
    const requestRow = (variant: string, userKey: string | null) =>
      insertServedRow(database.url, { at, flag, variant, userKey });
    const liked = await requestRow('control', '7101');
    await requestRow('control', null);
    await requestRow('treatment', '7102');
    await queryRows(
      database.url,
      `INSERT INTO outcome_events (id, metric_key, value, request_id, occurred_at, received_at, source)
       VALUES ($1, $2, 1, $3, $4, $4, 'api')`,
      [randomUUID(), `${flag}-thumbs`, liked, new Date(at.getTime() + 60_000)],
    );
    const buckets = await gateway.app
      .get(CanaryWindowReader)
      .outcomeBuckets(
        { flag, variants: ['control', 'treatment'], from: new Date(at.getTime() - 1000), to: new Date() },
        { key: `${flag}-thumbs`, unit: 'request', type: 'binary', windowSeconds: 600 },
      );
    const total = (variant: string) =>
      buckets
        .get(variant)!
        .reduce((sum, bucket) => ({ n: sum.n + bucket.n, sum: sum.sum + bucket.sum }), { n: 0, sum: 0 });
    expect({ control: total('control'), treatment: total('treatment') }).toEqual({
      control: { n: 2, sum: 1 },
      treatment: { n: 1, sum: 0 },
    });
  });
});

describe('metrics: a window left open ends at the gateway clock, the one rows are stamped with', () => {
  const DAY_MS = 86_400_000;
  // A week ahead of the wall clock: a window ending at Date.now() would miss every row written here.
  const clock = new ManualClock(Date.now() + 7 * DAY_MS);
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    gateway = await startTestApp({ databaseUrl: database.url, clock, env: FAST_WRITER });
  });
  afterAll(async () => {
    await gateway?.close();
    await database?.drop();
  });

  it('finds rows stamped a week ahead of real time in the summary, timeseries and cost report without a `to`', async () => {
    const responses = [];
    for (let i = 0; i < 3; i++)
      responses.push(await completion(gateway, { model: 'deepseek-v3.2', messages: hello }).expect(200));
    const ids = responses.map((response) => response.headers['x-switchyard-request-id']);
    const stampedAt = clock.now();
    const rows = await eventually(
      () => queryRows<{ at: Date }>(database.url, 'SELECT at FROM request_metrics WHERE request_id = ANY($1)', [ids]),
      (found) => found.length === 3,
    );
    expect(rows.map((row) => row.at.getTime())).toEqual([0, 1, 2].map(() => stampedAt.getTime()));
    // Time moves on, as it does between a request and the dashboard that reads it.
    await clock.advance(1000);
    const now = clock.now().toISOString();

    const summary = await api(gateway).get('/api/metrics/summary').query({ groupBy: 'model' }).expect(200);
    expect(summary.body).toMatchObject({ from: new Date(clock.nowMs() - 3_600_000).toISOString(), to: now });
    expect(summary.body.groups).toEqual([expect.objectContaining({ key: 'deepseek-v3.2', requests: 3 })]);

    const timeseries = await api(gateway).get('/api/metrics/timeseries').query({ bucket: '5m' }).expect(200);
    expect(timeseries.body.to).toBe(now);
    expect(timeseries.body.series).toEqual([
      { key: 'deepseek-v3.2', points: [expect.objectContaining({ requests: 3 })] },
    ]);

    const cost = await api(gateway).get('/api/metrics/cost').expect(200);
    expect(cost.body).toMatchObject({ from: new Date(clock.nowMs() - DAY_MS).toISOString(), to: now });
    expect(cost.body.total.requests).toBe(3);
  });

  it("puts a past minute's rows in the same bucket at every poll of a window that slides with the clock", async () => {
    // A minute's boundary, then two requests 20 s into that minute: both in the bucket starting there.
    await clock.advanceTo(Math.ceil(clock.nowMs() / 60_000) * 60_000 + 20_000);
    const minute = new Date(clock.nowMs() - 20_000).toISOString();
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const response = await completion(gateway, { model: 'gpt-4.1', messages: hello }).expect(200);
      ids.push(response.headers['x-switchyard-request-id']);
    }
    await eventually(
      () => queryRows(database.url, 'SELECT 1 FROM request_metrics WHERE request_id = ANY($1)', [ids]),
      (found) => found.length === 2,
    );
    const pointsOf = async () => {
      const response = await api(gateway)
        .get('/api/metrics/timeseries')
        .query({ bucket: '1m', model: 'gpt-4.1' })
        .expect(200);
      return response.body.series.flatMap((series: { points: unknown[] }) => series.points);
    };
    await clock.advance(7_000);
    const first = await pointsOf();
    await clock.advance(7_000);
    expect(first).toEqual([expect.objectContaining({ t: minute, requests: 2 })]);
    expect(await pointsOf()).toEqual(first);
  });

  it('answers a window that has just begun (from = now, no `to`) with zero counts, and one that starts after now with 400', async () => {
    // The control room asks for "since the canary was created" in the moment it was: nothing yet, not an error.
    await completion(gateway, { model: 'deepseek-v3.2', messages: hello }).expect(200);
    const now = clock.now().toISOString();
    await eventually(
      () => queryRows(database.url, 'SELECT 1 FROM request_metrics WHERE at = $1', [now]),
      (found) => found.length === 1,
    );
    const summary = await api(gateway).get('/api/metrics/summary').query({ from: now }).expect(200);
    expect(summary.body).toMatchObject({ from: now, to: now, groups: [] });
    const timeseries = await api(gateway).get('/api/metrics/timeseries').query({ from: now }).expect(200);
    expect(timeseries.body).toMatchObject({ from: now, to: now, series: [] });
    const cost = await api(gateway).get('/api/metrics/cost').query({ from: now }).expect(200);
    expect(cost.body).toMatchObject({ from: now, to: now, total: { requests: 0, costUsd: 0 }, groups: [] });
    await api(gateway).get('/api/metrics/summary').query({ from: now, to: now }).expect(200);

    const later = new Date(clock.nowMs() + 1).toISOString();
    for (const path of ['/api/metrics/summary', '/api/metrics/timeseries', '/api/metrics/cost']) {
      const refused = await api(gateway).get(path).query({ from: later }).expect(400);
      expect(refused.body).toMatchObject({
        code: 'empty_window',
        message: `from (${later}) must not be after now (${now}), where to defaults to; give an earlier from, or a to after it`,
      });
    }
  });
});

describe('metrics: the writer loses nothing it did not count', () => {
  let server: EmbeddedPostgresServer;
  let url: string;

  beforeAll(async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-metrics-down-'));
    await chmod(dataDir, 0o755);
    server = new EmbeddedPostgresServer({ dataDir, port: await freePort() });
    url = await server.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function sendRequests(app: TestApp, count: number): Promise<void> {
    for (let i = 0; i < count; i++) await completion(app, { model: 'deepseek-v3.2', messages: hello }).expect(200);
  }

  it('holds rows while the database is down and writes all of them once it is back', async () => {
    const gateway = await startTestApp({ databaseUrl: url, env: FAST_WRITER });
    try {
      const before = await countRows(url);
      await sendRequests(gateway, 5);
      await eventually(
        () => countRows(url),
        (count) => count === before + 5,
      );

      await server.stop();
      await sendRequests(gateway, 10);
      const details = await eventually(
        async () => (await request(gateway.url).get('/health/ready')).body.details.metrics,
        (metrics) => metrics.queued === 10 && metrics.lastError !== null,
      );
      expect(details).toMatchObject({ queued: 10, dropped: 0 });

      await server.start();
      expect(
        await eventually(
          () => countRows(url),
          (count) => count === before + 15,
          20_000,
        ),
      ).toBe(before + 15);
    } finally {
      await gateway.close();
    }
  });

  it('drops only beyond the queue bound, and counts exactly the rows it dropped', async () => {
    const gateway = await startTestApp({ databaseUrl: url, env: { ...FAST_WRITER, METRICS_QUEUE_LIMIT: '4' } });
    try {
      const before = await countRows(url);
      await server.stop();
      await sendRequests(gateway, 11);
      await server.start();
      await eventually(
        async () => (await request(gateway.url).get('/health/ready')).body.details.metrics,
        (m) => m.queued === 0,
        20_000,
      );
      const written = (await countRows(url)) - before;
      const prometheus = parsePrometheus((await api(gateway).get('/metrics').expect(200)).text);
      const dropped = prometheus.find((s) => s.name === 'switchyard_metrics_rows_dropped_total')!.value;
      expect(written).toBe(4);
      expect(dropped).toBe(11 - written);
      const health = await request(gateway.url).get('/health/ready').expect(200);
      expect(health.body.details.metrics.dropped).toBe(7);
    } finally {
      await gateway.close();
    }
  });

  it('flushes every queued row, including requests still in flight, on graceful shutdown', async () => {
    const catalog = await writeTestCatalog((c) => {
      c.simulator.profiles['gpt-4.1'].latencyMs = { median: 400, p99: 400 };
    });
    // The timer would not flush for a minute: only the shutdown can have written these rows.
    const gateway = await startTestApp({
      databaseUrl: url,
      catalog,
      env: { METRICS_FLUSH_INTERVAL_MS: '60000', METRICS_BATCH_SIZE: '10000' },
    });
    const before = await countRows(url);
    await sendRequests(gateway, 20);
    const slow = Array.from({ length: 3 }, () =>
      completion(gateway, { model: 'gpt-4.1', messages: hello }).then((r) => r.status),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await countRows(url)).toBe(before);
    await gateway.close();
    expect(await Promise.all(slow)).toEqual([200, 200, 200]);
    expect(await countRows(url)).toBe(before + 23);
  });
});

describe('metrics: a request that outlives the shutdown budget', () => {
  it('is counted as dropped, not lost without a trace', async () => {
    const database = await createTestDatabase();
    const catalog = await writeTestCatalog((c) => {
      c.simulator.profiles['gpt-4.1'].latencyMs = { median: 4500, p99: 4500 };
    });
    // Half of an 8 s budget waits for requests: the 4.5 s call is still running when the queue is
    // flushed, and ends before the writers' deadline (8 s less 2 s), when it would be cut.
    const gateway = await startTestApp({
      databaseUrl: database.url,
      catalog,
      env: { ...FAST_WRITER, SHUTDOWN_TIMEOUT_MS: '8000' },
    });
    const writer = gateway.app.get(MetricsWriter);
    try {
      await completion(gateway, { model: 'deepseek-v3.2', messages: hello }).expect(200);
      const slow = completion(gateway, { model: 'gpt-4.1', messages: hello }).then((response) => response.status);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await gateway.close();
      expect(await slow).toBe(200);
      expect(writer.snapshot()).toMatchObject({ written: 1, dropped: 1, queued: 0 });
      expect(await countRows(database.url)).toBe(1);
    } finally {
      await database.drop();
    }
  });
});

describe('metrics: METRICS_ENABLED=false', () => {
  it('serves requests and records nothing, neither rows nor Prometheus series', async () => {
    const database = await createTestDatabase();
    const gateway = await startTestApp({
      databaseUrl: database.url,
      env: { ...FAST_WRITER, METRICS_ENABLED: 'false' },
    });
    try {
      for (let i = 0; i < 3; i++) await completion(gateway, { model: 'deepseek-v3.2', messages: hello }).expect(200);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await countRows(database.url)).toBe(0);
      const samples = parsePrometheus((await api(gateway).get('/metrics').expect(200)).text);
      expect(samples.filter((s) => s.name === 'switchyard_requests_total')).toEqual([]);
    } finally {
      await gateway.close();
      await database.drop();
    }
  });
});
