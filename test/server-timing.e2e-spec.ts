import { performance } from 'node:perf_hooks';
import request from 'supertest';
import { eventually } from './support/webhook-server';
import { parsePrometheus, sumOf } from './support/prometheus';
import { api, bearer, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';

const hello = [{ role: 'user', content: 'Suggest three books for a long train journey.' }];
/** The simulator holds every gpt-4.1 answer this long: the upstream's part of each timing is at least that. */
const UPSTREAM_MS = 150;

/** `gateway;dur=0.412, upstream;dur=151.003` → { gateway: 0.412, upstream: 151.003 }. */
function serverTiming(header: string | undefined): Record<string, number> {
  if (!header) throw new Error('no Server-Timing header');
  return Object.fromEntries(
    header.split(',').map((metric) => {
      const match = /^\s*([a-z]+);dur=(\d+(?:\.\d+)?)\s*$/.exec(metric);
      if (!match) throw new Error(`not a Server-Timing metric with a duration: "${metric}" in "${header}"`);
      return [match[1], Number(match[2])];
    }),
  );
}

describe('Server-Timing and the overhead histogram: the gateway says how much of each answer was its own time', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    const catalog = await writeTestCatalog((c) => {
      c.simulator.profiles['gpt-4.1'].latencyMs = { median: UPSTREAM_MS, p99: UPSTREAM_MS };
    });
    gateway = await startTestApp({ databaseUrl: database.url, catalog });
  });
  afterAll(async () => {
    await gateway?.close();
    await database?.drop();
  });

  const completion = (body: Record<string, unknown>) => api(gateway).post('/v1/chat/completions').send(body);

  it('splits a plain answer into the gateway’s time and the upstream’s', async () => {
    const sentAt = performance.now();
    const response = await completion({ model: 'gpt-4.1', messages: hello }).expect(200);
    const totalMs = performance.now() - sentAt;
    const timing = serverTiming(response.headers['server-timing']);
    expect(Object.keys(timing)).toEqual(['gateway', 'upstream']);
    expect(timing.upstream).toBeGreaterThanOrEqual(UPSTREAM_MS);
    expect(timing.gateway).toBeGreaterThan(0);
    expect(timing.gateway + timing.upstream).toBeLessThanOrEqual(totalMs);
  });

  it('adds the time to first token on a stream, sent with its head', async () => {
    const sentAt = performance.now();
    const response = await completion({ model: 'gpt-4.1', messages: hello, stream: true })
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => done(null, text));
      })
      .expect(200);
    const totalMs = performance.now() - sentAt;
    expect(response.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(String(response.body)).toContain('data: [DONE]');
    const timing = serverTiming(response.headers['server-timing']);
    expect(Object.keys(timing)).toEqual(['gateway', 'upstream', 'ttft']);
    expect(timing.upstream).toBeGreaterThanOrEqual(UPSTREAM_MS);
    expect(timing.ttft).toBeGreaterThanOrEqual(timing.upstream);
    // The two parts add up to the time to first token (each rounded to a microsecond).
    expect(Math.abs(timing.gateway + timing.upstream - timing.ttft)).toBeLessThan(0.01);
    expect(timing.ttft).toBeLessThanOrEqual(totalMs);
  });

  it('times errors too: refused before any call, and failed upstream', async () => {
    const unknown = await completion({ model: 'gpt-9', messages: hello }).expect(404);
    const refused = serverTiming(unknown.headers['server-timing']);
    expect(refused.upstream).toBe(0);
    expect(refused.gateway).toBeGreaterThan(0);

    const unauthenticated = await request(gateway.url)
      .post('/v1/chat/completions')
      .set('authorization', bearer('sy_not_a_key'))
      .send({ model: 'gpt-4.1', messages: hello })
      .expect(401);
    expect(serverTiming(unauthenticated.headers['server-timing']).upstream).toBe(0);

    // The provider refuses the request as invalid: one call, no retry, answered as the caller's fault.
    await request(gateway.simulatorUrl).post('/_simulator/faults/gpt-4.1').send({ status: 400, count: 1 }).expect(200);
    const failed = await completion({ model: 'gpt-4.1', messages: hello }).expect(400);
    expect(failed.body.error.code).not.toBe('context_length_exceeded');
    const failedTiming = serverTiming(failed.headers['server-timing']);
    expect(failedTiming.upstream).toBeGreaterThan(0);
    expect(failedTiming.gateway).toBeGreaterThan(0);
  });

  it("counts every request in /metrics' overhead histogram, per policy", async () => {
    for (const model of ['route:recommendations', 'route:chat', 'nope']) await completion({ model, messages: hello });
    const rows = await eventually(async () => {
      const byPolicy = await queryRows<{ policy: string | null; count: string }>(
        database.url,
        'SELECT policy, count(*) AS count FROM request_metrics GROUP BY policy',
      );
      const samples = parsePrometheus((await api(gateway).get('/metrics').expect(200)).text);
      const counted = sumOf(samples, 'switchyard_gateway_overhead_seconds_count');
      const stored = byPolicy.reduce((sum, row) => sum + Number(row.count), 0);
      return counted === stored && counted > 0 ? { byPolicy, samples } : undefined;
    }, 10_000);
    for (const { policy, count } of rows.byPolicy) {
      expect(sumOf(rows.samples, 'switchyard_gateway_overhead_seconds_count', { policy: policy ?? 'none' })).toBe(
        Number(count),
      );
    }
    expect(rows.byPolicy.map((row) => row.policy)).toEqual(expect.arrayContaining(['recommendations', 'chat', null]));
  });
});
