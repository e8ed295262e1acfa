import { countTokens } from 'gpt-tokenizer';
import request from 'supertest';
import { ContextGuard } from '../src/providers/context-guard';
import { parsePrometheus, sumOf } from './support/prometheus';
import { api, bearer, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';
import { eventually } from './support/webhook-server';
import { triesWhileProbing } from './support/loop-probe';

const hello = [{ role: 'user', content: 'Suggest three books for a long train journey.' }];
const MODELS = ['deepseek-v3.2', 'gemini-2.5-flash', 'claude-sonnet-4.5', 'gpt-4.1'];

type Stats = { total: number; byModel: Record<string, number>; byStatus: Record<string, number> };

function simulator(app: TestApp) {
  return {
    stats: async (): Promise<Stats> => (await request(app.simulatorUrl).get('/_simulator/stats').expect(200)).body,
    fault: (model: string, fault: Record<string, unknown>) =>
      request(app.simulatorUrl).post(`/_simulator/faults/${model}`).send(fault).expect(200),
    profile: (model: string, profile: Record<string, unknown>) =>
      request(app.simulatorUrl).put(`/_simulator/profiles/${model}`).send(profile).expect(200),
    reset: () => request(app.simulatorUrl).post('/_simulator/reset').expect(204),
  };
}

describe('gateway: upstream storms are neither prolonged nor amplified', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestApp;
  let sim: ReturnType<typeof simulator>;

  beforeAll(async () => {
    database = await createTestDatabase();
    // Default breaker and retry budget; only the backoff is short, so retries do not slow the test.
    gateway = await startTestApp({
      databaseUrl: database.url,
      env: { GATEWAY_RETRY_BASE_MS: '1', GATEWAY_RETRY_MAX_MS: '5' },
    });
    sim = simulator(gateway);
  });
  afterAll(async () => {
    await gateway?.close();
    await database?.drop();
  });
  afterEach(async () => {
    await sim.reset();
  });

  it('opens a circuit after 5 failures in a row, even right after a window full of healthy calls', async () => {
    for (let i = 0; i < 40; i++)
      await api(gateway).post('/v1/chat/completions').send({ model: 'gpt-4.1', messages: hello }).expect(200);
    await sim.fault('gpt-4.1', { status: 500, count: 1_000 });
    const codes: string[] = [];
    for (let i = 0; i < 10; i++) {
      const response = await api(gateway)
        .post('/v1/chat/completions')
        .send({ model: 'gpt-4.1', messages: hello })
        .expect(502);
      codes.push(response.body.error.code);
    }
    // GATEWAY_BREAKER_CONSECUTIVE_FAILURES (5) calls reached the failing model; the ratio alone would have let ~40 more through.
    expect((await sim.stats()).byStatus).toEqual({ '200': 40, '500': 5 });
    expect(codes.slice(2)).toEqual(Array(8).fill('no_healthy_model'));
  });

  it('keeps a 429 storm on every model to at most ~1.2x the requests, retries and fallbacks together', async () => {
    for (const model of MODELS) await sim.profile(model, { rateLimitRate: 1, retryAfterSeconds: 0 });
    const requests = 1_000;
    const concurrency = 20;
    const statuses: Record<number, number> = {};
    let sent = 0;
    const client = async () => {
      while (sent < requests) {
        sent++;
        const response = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: bearer(gateway.adminKey!) },
          body: JSON.stringify({ model: 'route:recommendations', messages: hello }),
        });
        await response.arrayBuffer();
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, client));
    expect(statuses).toEqual({ 429: requests });
    const { total } = await sim.stats();
    // The budget: 20% of the requests, or GATEWAY_RETRY_BUDGET_MIN_PER_WINDOW (20) when that is more.
    expect(total).toBeGreaterThanOrEqual(requests);
    expect(total).toBeLessThanOrEqual(requests * 1.2 + 20);
  });
});

describe('gateway: a failure that opens the circuit is answered as what it was', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    // One failure opens the circuit; the upstream answers later than the provider's timeout.
    gateway = await startTestApp({
      databaseUrl: database.url,
      catalog: await writeTestCatalog((catalog) => {
        catalog.providers[0].timeoutMs = 200;
        catalog.simulator.profiles['gpt-4.1'].latencyMs = { median: 2_000, p99: 2_001 };
      }),
      env: { GATEWAY_BREAKER_CONSECUTIVE_FAILURES: '1', GATEWAY_RETRY_BASE_MS: '1', GATEWAY_RETRY_MAX_MS: '5' },
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await database?.drop();
  });

  it('answers 504 and records a timeout when the retry after a timeout finds the circuit open', async () => {
    const response = await api(gateway).post('/v1/chat/completions').send({ model: 'gpt-4.1', messages: hello });
    expect([response.status, response.body.error?.code, response.headers['x-switchyard-attempts']]).toEqual([
      504,
      'upstream_timeout',
      '1',
    ]);
    const requestId = response.headers['x-switchyard-request-id'];
    const rows = await eventually(async () => {
      const found = await queryRows<{ outcome: string; http_status: number; error_type: string }>(
        database.url,
        'SELECT outcome, http_status, error_type FROM request_metrics WHERE request_id = $1',
        [requestId],
      );
      return found.length > 0 && found;
    });
    expect(rows).toEqual([{ outcome: 'timeout', http_status: 504, error_type: 'upstream_timeout' }]);
  });
});

describe('gateway: the tokenizer is loaded on the first prompt that needs it, not at start-up', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    const catalog = await writeTestCatalog((c) => {
      // 900 tokens at the default 0.9 ratio: a prompt of a few kilobytes needs counting.
      c.models.push({ ...c.models[0], id: 'small-window', upstreamModel: 'gpt-4.1', contextWindow: 1000, tier: 1 });
    });
    gateway = await startTestApp({ databaseUrl: database.url, catalog });
  });
  afterAll(async () => {
    await gateway?.close();
    await database?.drop();
  });

  const completion = (model: string, content: string) =>
    api(gateway)
      .post('/v1/chat/completions')
      .send({ model, messages: [{ role: 'user', content }] });
  const tokenizerSeries = async () => {
    // Only these series: prom-client's default ones may print "Nan".
    const { text } = await api(gateway).get('/metrics').expect(200);
    const samples = parsePrometheus(
      text
        .split('\n')
        .filter((line) => line.startsWith('switchyard_tokenizer_'))
        .join('\n'),
    );
    expect(samples).toHaveLength(2);
    return {
      starts: sumOf(samples, 'switchyard_tokenizer_worker_starts_total'),
      failures: sumOf(samples, 'switchyard_tokenizer_failures_total'),
    };
  };

  it('serves prompts bytes settle without starting it, then judges the first one they do not by its count', async () => {
    // Bytes settle these: under the limit in bytes, or over it at 128 bytes a token.
    await completion('small-window', 'Suggest three books for a long train journey.').expect(200);
    await completion('gpt-4.1', 'the train rolled on through the night '.repeat(2000)).expect(200);
    const hopeless = await completion('small-window', 'a'.repeat(200_000)).expect(400);
    expect(hopeless.body.error.message).toMatch(/prompt is at least \d+ tokens/);
    expect(gateway.app.get(ContextGuard).tokenizer).toEqual({ running: false, starts: 0, failures: 0 });
    expect(await tokenizerSeries()).toEqual({ starts: 0, failures: 0 });

    // More bytes than the limit, fewer tokens: only the count lets it through.
    const fits = 'the train rolled on '.repeat(100);
    expect(Buffer.byteLength(fits)).toBeGreaterThan(900);
    expect(countTokens(fits) + 6).toBeLessThanOrEqual(900);
    await completion('small-window', fits).expect(200);
    expect(await tokenizerSeries()).toEqual({ starts: 1, failures: 0 });

    // Over it: refused with the exact count, by the same worker.
    const tooLong = 'the train rolled on through the night '.repeat(200);
    const refused = await completion('small-window', tooLong).expect(400);
    expect(refused.body.error).toMatchObject({ code: 'context_length_exceeded' });
    expect(refused.body.error.message).toContain(`prompt is about ${countTokens(tooLong) + 6} tokens`);
    expect(gateway.app.get(ContextGuard).tokenizer).toEqual({ running: true, starts: 1, failures: 0 });
    expect(await tokenizerSeries()).toEqual({ starts: 1, failures: 0 });
  });
});

describe('gateway: no prompt holds the event loop', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    gateway = await startTestApp({ databaseUrl: database.url, env: { REQUEST_BODY_LIMIT: '8mb' } });
  });
  afterAll(async () => {
    await gateway?.close();
    await database?.drop();
  });

  const MEGABYTE = 1024 * 1024;
  const prompts = {
    'one letter': 'a'.repeat(MEGABYTE),
    'one emoji': '😀'.repeat(MEGABYTE / 4),
  };

  /** One try's answer: its status and error code. */
  async function answerOf(body: Uint8Array<ArrayBuffer>) {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: bearer(gateway.adminKey!) },
      body,
    });
    const answer = (await response.json()) as { error?: { code: string } };
    return { status: response.status, code: answer.error?.code };
  }

  // deepseek-v3.2 (128k window) refuses both after counting; gpt-4.1 (1M window) takes both.
  // Judged on the best of up to five tries (triesWhileProbing): work that really holds the event
  // loop (as a one-piece tokenization of 1 MB does) fails all five.
  async function expectAnsweredWithoutHoldingTheLoop(body: Uint8Array<ArrayBuffer>, status: number, code?: string) {
    const tries = await triesWhileProbing(
      gateway.url,
      () => answerOf(body),
      (tried) => tried.elapsedMs < 1_000 && tried.longestUnansweredMs < 100,
    );
    for (const { result } of tries) expect([result.status, result.code]).toEqual([status, code]);
    expect(Math.min(...tries.map((tried) => tried.elapsedMs))).toBeLessThan(1_000);
    expect(Math.min(...tries.map((tried) => tried.longestUnansweredMs))).toBeLessThan(100);
  }

  it.each([
    ['one letter', 'deepseek-v3.2', 400],
    ['one emoji', 'deepseek-v3.2', 400],
    ['one letter', 'gpt-4.1', 200],
    ['one emoji', 'gpt-4.1', 200],
  ] as const)(
    'answers a 1 MB prompt of %s for %s within 1 s while /health/live answers within 100 ms',
    async (prompt, model, status) => {
      // Encoded before the clock starts: the client's work is not the gateway's.
      const body = new TextEncoder().encode(
        JSON.stringify({ model, messages: [{ role: 'user', content: prompts[prompt] }] }),
      );
      expect(Buffer.byteLength(prompts[prompt])).toBe(MEGABYTE);
      await expectAnsweredWithoutHoldingTheLoop(body, status, status === 400 ? 'context_length_exceeded' : undefined);
    },
  );
  it('measures a 2 MB chat history of 24 000 short messages within 1 s while /health/live answers within 100 ms', async () => {
    // No long strings to leave in the bytes: the whole body is parsed, every message checked and
    // measured. The parse and what follows it take a turn of the event loop each. (96 000 strings:
    // just under the bound json-complexity.ts sets.)
    const messages = Array.from({ length: 24_000 }, (_, i) => ({
      role: i % 2 === 0 ? 'user' : 'assistant',
      content: `turn ${i}: where is my order?`.padEnd(64, '.'),
    }));
    const body = new TextEncoder().encode(JSON.stringify({ model: 'deepseek-v3.2', messages }));
    expect(body.length).toBeGreaterThan(2 * MEGABYTE);
    await expectAnsweredWithoutHoldingTheLoop(body, 400, 'context_length_exceeded');
  });

  it('answers a 1 MB chat history with a long field beside its messages within 1 s while /health/live answers within 100 ms', async () => {
    // Long strings outside the messages are decoded, the messages' texts left in the bytes: the
    // walk that decodes the former must not wander into the latter (it once did, once per text).
    const messages = Array.from({ length: 700 }, (_, i) => ({
      role: i % 2 === 0 ? 'user' : 'assistant',
      content: `${i}: ${'the shipment left the warehouse on time '.repeat(38)}`,
    }));
    const body = new TextEncoder().encode(
      JSON.stringify({ model: 'gpt-4.1', messages, context_note: 'a note the caller keeps '.repeat(100) }),
    );
    expect(body.length).toBeGreaterThan(MEGABYTE);
    await expectAnsweredWithoutHoldingTheLoop(body, 200);
  });
});
