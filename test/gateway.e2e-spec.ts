import OpenAI from 'openai';
import request from 'supertest';
import { ManualClock } from '../src/common/manual-clock';
import { createTestDatabase, queryRows } from './support/test-database';
import { api, bearer, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { parsePrometheus } from './support/prometheus';
import { eventually } from './support/webhook-server';

const hello = [{ role: 'user', content: 'Suggest three books for a long train journey.' }];

type Stats = {
  total: number;
  byModel: Record<string, number>;
  byKey: Record<string, number>;
  byStatus: Record<string, number>;
  aborted: number;
  malformedEvents: number;
  errorEvents: number;
  recent: Array<{ model: string | null; keyLabel: string | null; status: number }>;
};

function simulator(app: TestApp) {
  return {
    stats: async (): Promise<Stats> => (await request(app.simulatorUrl).get('/_simulator/stats').expect(200)).body,
    fault: (model: string, fault: Record<string, unknown>) =>
      request(app.simulatorUrl).post(`/_simulator/faults/${model}`).send(fault).expect(200),
    profile: (model: string, profile: Record<string, unknown>) =>
      request(app.simulatorUrl).put(`/_simulator/profiles/${model}`).send(profile).expect(200),
    revoke: (labels: string[]) =>
      request(app.simulatorUrl).put('/_simulator/keys').send({ revoked: labels }).expect(200),
    reset: () => request(app.simulatorUrl).post('/_simulator/reset').expect(204),
  };
}

function completion(app: TestApp, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const call = api(app).post('/v1/chat/completions');
  for (const [name, value] of Object.entries(headers)) call.set(name, value);
  return call.send(body);
}

/** Server-sent events of a finished response body. */
function events(text: string): string[] {
  return text.split('\n\n').filter((event) => event.trim() !== '');
}

describe('gateway: /v1 through policies, flags, retries and fallbacks', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestApp;
  let sim: ReturnType<typeof simulator>;

  beforeAll(async () => {
    database = await createTestDatabase();
    const catalog = await writeTestCatalog((c) => {
      // A small window on one model, to exercise the context guard without megabyte prompts.
      const small = { ...c.models[0], id: 'small-window', upstreamModel: 'gpt-4.1', contextWindow: 1000, tier: 1 };
      c.models.push(small);
      // Routes through it: first, and as the fallback between two large windows. Models of their own,
      // so that the faults below open no circuit the other tests rely on.
      const wide = (id: string, upstreamModel: string, tier: number) => ({
        ...c.models[0],
        id,
        upstreamModel,
        contextWindow: 200_000,
        tier,
      });
      c.models.push(wide('wide-first', 'gemini-2.5-flash', 1), wide('wide-last', 'claude-sonnet-4.5', 3));
      c.policies.push(
        {
          name: 'small-first',
          strategy: 'cost_first',
          flag: 'small-first-model',
          defaultModel: 'small-window',
          fallback: ['wide-last'],
        },
        Object.assign(
          {
            name: 'small-between',
            strategy: 'cost_first',
            flag: 'small-between-model',
            defaultModel: 'wide-first',
            fallback: ['small-window', 'wide-last'],
          },
          // One call per model: one fault fails a candidate.
          { budgets: { maxRetriesPerModel: 0 } },
        ),
        Object.assign(
          {
            name: 'first-token',
            strategy: 'cost_first',
            flag: 'first-token-model',
            defaultModel: 'wide-first',
            fallback: ['wide-last'],
          },
          // A short wait for the first token inside a long attempt.
          { budgets: { firstTokenTimeoutMs: 300, attemptTimeoutMs: 20_000, maxRetriesPerModel: 0 } },
        ),
      );
      // Streams whose first events are not chunks: retried once on each model, then the next one.
      c.models.push(wide('stream-first', 'gemini-2.5-flash', 1), wide('stream-last', 'claude-sonnet-4.5', 3));
      c.policies.push(
        Object.assign(
          {
            name: 'stream-fallback',
            strategy: 'cost_first',
            flag: 'stream-fallback-model',
            defaultModel: 'stream-first',
            fallback: ['stream-last'],
          },
          { budgets: { maxRetriesPerModel: 1 } },
        ),
      );
      // Streams whose first event is the upstream's error: a provider of their own (its own key ring)
      // and models of their own (their own circuits), each model retried once, then the next one.
      c.providers.push({ ...c.providers[0], id: 'event-lane' });
      const onEventLane = (id: string, upstreamModel: string, tier: number) => ({
        ...wide(id, upstreamModel, tier),
        provider: 'event-lane',
      });
      c.models.push(
        onEventLane('event-first', 'gemini-2.5-flash', 1),
        onEventLane('event-last', 'claude-sonnet-4.5', 3),
      );
      c.policies.push(
        Object.assign(
          {
            name: 'event-fallback',
            strategy: 'cost_first',
            flag: 'event-fallback-model',
            defaultModel: 'event-first',
            fallback: ['event-last'],
          },
          { budgets: { maxRetriesPerModel: 1 } },
        ),
      );
      // The same simulator behind a provider with a 200 ms budget, for upstream timeouts.
      c.providers.push({ ...c.providers[0], id: 'slow-lane', timeoutMs: 200 });
      c.models.push({ ...c.models[0], id: 'slow-lane-gpt', provider: 'slow-lane', upstreamModel: 'gpt-4.1' });
      // Its own circuit and retry budget: the stream timeout test must not inherit slow-lane-gpt's failures.
      c.models.push({ ...c.models[0], id: 'slow-lane-stream', provider: 'slow-lane', upstreamModel: 'gpt-4.1' });
    });
    gateway = await startTestApp({
      databaseUrl: database.url,
      catalog,
      env: {
        SIMULATED_API_KEY: 'sk-test-primary-key',
        SIMULATED_API_KEY_BACKUP: 'sk-test-backup-key',
        // Each test here fails some calls on purpose, seconds apart: the gateway-wide budget of extra
        // calls (gateway-resilience tests it) must not make one test's fallbacks depend on another's.
        GATEWAY_RETRY_BUDGET_MIN_PER_WINDOW: '1000',
      },
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

  it('lists the catalog models and the policy aliases', async () => {
    const response = await api(gateway).get('/v1/models').expect(200);
    const ids = response.body.data.map((model: { id: string }) => model.id);
    expect(ids).toEqual(
      expect.arrayContaining(['gpt-4.1', 'deepseek-v3.2', 'route:recommendations', 'route:chat', 'route:fraud']),
    );
  });

  it("retrieves one model or policy alias with the official client (models.retrieve), 404 in OpenAI's shape otherwise", async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.adminKey, maxRetries: 0 });
    expect(await client.models.retrieve('gpt-4.1')).toEqual({
      id: 'gpt-4.1',
      object: 'model',
      created: 0,
      owned_by: 'simulated',
    });
    expect(await client.models.retrieve('route:chat')).toMatchObject({ id: 'route:chat', owned_by: 'switchyard' });
    const unknown = await client.models.retrieve('gpt-9').catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknown as InstanceType<typeof OpenAI.NotFoundError>).error).toMatchObject({
      type: 'invalid_request_error',
      code: 'model_not_found',
      message: expect.stringContaining('`gpt-9` does not exist'),
    });
  });

  it.each([
    ['recommendations', 'deepseek-v3.2'],
    ['chat', 'gemini-2.5-flash'],
    ['fraud', 'claude-sonnet-4.5'],
  ])('serves route:%s plain and streamed with the official openai client', async (policy, model) => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.adminKey });
    const { data, response } = await client.chat.completions
      .create({ model: `route:${policy}`, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(data.choices[0].message.content).toContain(model);
    expect(response.headers.get('x-switchyard-policy')).toBe(policy);
    expect(response.headers.get('x-switchyard-model')).toBe(model);
    expect(response.headers.get('x-switchyard-provider')).toBe('simulated');
    expect(response.headers.get('x-switchyard-attempts')).toBe('1');
    expect(response.headers.get('x-switchyard-fallback')).toBe('false');
    expect(response.headers.get('x-switchyard-request-id')).toBeTruthy();

    const stream = await client.chat.completions.create({
      model: `route:${policy}`,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(text).toContain(model);
    expect(usage).toMatchObject({ completion_tokens: 16 });
  });

  it('answers n choices, plain and streamed, and stores the tokens of every choice in the metric row', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.adminKey });
    const messages = [{ role: 'user' as const, content: 'hi' }];
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4.1', messages, n: 3 })
      .withResponse();
    expect(data.choices.map((choice) => [choice.index, choice.finish_reason])).toEqual([
      [0, 'stop'],
      [1, 'stop'],
      [2, 'stop'],
    ]);
    expect(data.usage?.completion_tokens).toBe(48);

    const stream = await client.chat.completions
      .create({ model: 'gpt-4.1', messages, n: 2, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    const texts = ['', ''];
    for await (const chunk of stream.data)
      for (const choice of chunk.choices) texts[choice.index] += choice.delta.content ?? '';
    expect(texts).toEqual([data.choices[0].message.content, data.choices[0].message.content]);

    const ids = [response, stream.response].map((one) => one.headers.get('x-switchyard-request-id'));
    const rows = await eventually(async () => {
      const found = await queryRows<{ completion_tokens: number; quality_signals: number }>(
        database.url,
        'SELECT completion_tokens, quality_signals FROM request_metrics WHERE request_id = ANY($1) ORDER BY at',
        [ids],
      );
      return found.length === 2 && found;
    });
    expect(rows).toEqual([
      { completion_tokens: 48, quality_signals: 0 },
      { completion_tokens: 32, quality_signals: 0 },
    ]);
  });

  it('passes a large chat history on as the client sent it: the upstream counts the same prompt', async () => {
    // Over 64 KB: the messages go upstream as a view of the client's bytes, in pieces.
    const messages = Array.from({ length: 80 }, (_, i) => ({
      role: i % 2 === 0 ? 'user' : 'assistant',
      content: `turn ${i}: "quoted" back\\slash 😀 ünïcödé ]} ${'the shipment left the warehouse '.repeat(30)}`,
    }));
    const direct = await request(gateway.simulatorUrl)
      .post('/v1/chat/completions')
      .set('authorization', 'Bearer sk-test-primary-key')
      .send({ model: 'gpt-4.1', messages })
      .expect(200);
    const through = await completion(gateway, { model: 'gpt-4.1', messages, metadata: { team: 'search' } }).expect(200);
    expect(through.body.usage.prompt_tokens).toBe(direct.body.usage.prompt_tokens);
    expect(JSON.stringify(messages).length).toBeGreaterThan(64 * 1024);
    // A retry sends the same pieces again; a stream sends them too.
    await sim.fault('gpt-4.1', { status: 500, count: 1 });
    const retried = await completion(gateway, { model: 'gpt-4.1', messages }).expect(200);
    expect(retried.headers['x-switchyard-attempts']).toBe('2');
    expect(retried.body.usage.prompt_tokens).toBe(direct.body.usage.prompt_tokens);
    const streamed = await completion(gateway, {
      model: 'gpt-4.1',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    }).expect(200);
    const usage = events(streamed.text)
      .filter((event) => event !== 'data: [DONE]')
      .map((event) => JSON.parse(event.slice('data: '.length)))
      .find((chunk) => chunk.usage)?.usage;
    expect(usage.prompt_tokens).toBe(direct.body.usage.prompt_tokens);
  });

  it('routes by the x-switchyard-policy header and goes straight to a concrete model', async () => {
    const byHeader = await completion(
      gateway,
      { model: 'whatever', messages: hello },
      { 'x-switchyard-policy': 'chat' },
    ).expect(200);
    expect(byHeader.headers['x-switchyard-model']).toBe('gemini-2.5-flash');
    const direct = await completion(gateway, { model: 'gpt-4.1', messages: hello }).expect(200);
    expect(direct.headers['x-switchyard-policy']).toBe('none');
    expect(direct.headers['x-switchyard-model']).toBe('gpt-4.1');
  });

  it('does not send the usage chunk to a client that did not ask for it, yet ends with [DONE]', async () => {
    const response = await completion(gateway, { model: 'route:chat', messages: hello, stream: true }).expect(200);
    const received = events(response.text);
    expect(received.at(-1)).toBe('data: [DONE]');
    const chunks = received.slice(0, -1).map((event) => JSON.parse(event.slice('data: '.length)));
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.filter((chunk) => chunk.usage)).toEqual([]);
  });

  it('forces temperature 0 for fraud and keeps metadata away from the provider', async () => {
    const response = await completion(gateway, {
      model: 'route:fraud',
      messages: hello,
      temperature: 1.3,
      metadata: { country: 'SG' },
    }).expect(200);
    expect(response.headers['x-switchyard-model']).toBe('claude-sonnet-4.5');
  });

  it('answers bad requests in the OpenAI error shape naming the field', async () => {
    const noMessages = await completion(gateway, { model: 'route:chat' }).expect(400);
    expect(noMessages.body.error).toMatchObject({ param: 'messages', type: 'invalid_request_error' });
    const unknownModel = await completion(gateway, { model: 'gpt-9', messages: hello }).expect(404);
    expect(unknownModel.body.error).toMatchObject({ code: 'model_not_found', param: 'model' });
    const unknownPolicy = await completion(gateway, { model: 'route:poetry', messages: hello }).expect(404);
    expect(unknownPolicy.body.error.code).toBe('policy_not_found');
    expect(unknownPolicy.headers['x-switchyard-request-id']).toBeTruthy();
  });

  it('answers malformed JSON with 400 and an oversized body with 413, in the OpenAI shape', async () => {
    const malformed = await api(gateway)
      .post('/v1/chat/completions')
      .set('content-type', 'application/json')
      .send('{"model":')
      .expect(400);
    expect(malformed.body.error.code).toBe('invalid_json');
    // A large body's message texts are checked in its bytes, not parsed: a raw line break inside one
    // is refused as JSON.parse refuses it, and bytes that are not UTF-8 are refused as such.
    const longText = 'the shipment left the warehouse '.repeat(400);
    const rawLineBreak = JSON.stringify({
      model: 'route:chat',
      messages: [{ role: 'user', content: longText }],
    }).replace('warehouse the', 'warehouse\nthe');
    const refused = await api(gateway)
      .post('/v1/chat/completions')
      .set('content-type', 'application/json')
      .send(rawLineBreak)
      .expect(400);
    expect(refused.body.error).toMatchObject({ code: 'invalid_json', message: 'The request body is not valid JSON.' });
    const latin1 = Buffer.from(
      JSON.stringify({ model: 'route:chat', messages: [{ role: 'user', content: `café ${longText}` }] }),
      'latin1',
    );
    // fetch sends the bytes as they are (supertest would send a Buffer as JSON).
    const notUtf8 = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: bearer(gateway.adminKey!) },
      body: latin1,
    });
    expect(notUtf8.status).toBe(400);
    expect(((await notUtf8.json()) as { error: unknown }).error).toMatchObject({
      code: 'invalid_json',
      message: 'The request body is not valid JSON: it is not UTF-8.',
    });
    const huge = JSON.stringify({
      model: 'route:chat',
      messages: [{ role: 'user', content: 'x'.repeat(5 * 1024 * 1024) }],
    });
    const tooLarge = await api(gateway)
      .post('/v1/chat/completions')
      .set('content-type', 'application/json')
      .send(huge)
      .expect(413);
    expect(tooLarge.body.error).toMatchObject({
      code: 'request_too_large',
      message: expect.stringContaining('4mb (REQUEST_BODY_LIMIT)'),
    });
  });

  it('serves other spellings of the URL through the same pipeline with the same behaviour', async () => {
    const response = await completion(gateway, { model: 'route:chat', messages: hello }).expect(200);
    const slashed = await api(gateway)
      .post('/v1/chat/completions/')
      .send({ model: 'route:chat', messages: hello })
      .expect(200);
    expect(slashed.headers['x-switchyard-model']).toBe(response.headers['x-switchyard-model']);
    expect(slashed.body.object).toBe('chat.completion');
  });

  it('rejects a prompt over the context window with 400 before any upstream call', async () => {
    const before = await sim.stats();
    const longPrompt = 'the train rolled on through the night '.repeat(200);
    const response = await completion(gateway, {
      model: 'small-window',
      messages: [{ role: 'user', content: longPrompt }],
    }).expect(400);
    expect(response.body.error.code).toBe('context_length_exceeded');
    expect(response.body.error.message).toMatch(/about \d+ tokens; model small-window accepts up to 900/);
    expect((await sim.stats()).total).toBe(before.total);
    // No call was made: the header and the row both name the model whose window refused the prompt.
    const [row] = await eventually(async () => {
      const rows = await queryRows<{ model: string | null; outcome: string; attempts: number }>(
        database.url,
        'SELECT model, outcome, attempts FROM request_metrics WHERE request_id = $1',
        [response.headers['x-switchyard-request-id']],
      );
      return rows.length === 1 && rows;
    });
    expect(row).toEqual({ model: 'small-window', outcome: 'rejected', attempts: 0 });
    expect(response.headers).toMatchObject({ 'x-switchyard-model': 'small-window', 'x-switchyard-attempts': '0' });
  });

  it('skips a candidate whose window the prompt does not fit: the next one answers, an outage stays an outage', async () => {
    const longPrompt = 'the train rolled on through the night '.repeat(200);
    const messages = [{ role: 'user', content: longPrompt }];
    const skipped = await completion(gateway, { model: 'route:small-first', messages }).expect(200);
    expect(skipped.headers).toMatchObject({ 'x-switchyard-model': 'wide-last', 'x-switchyard-fallback': 'true' });
    expect((await sim.stats()).byModel).toEqual({ 'claude-sonnet-4.5': 1 });

    // The first model fails, the second is too small, the third answers: not a 400 for the prompt.
    await sim.fault('gemini-2.5-flash', { status: 503, count: 1 });
    const around = await completion(gateway, { model: 'route:small-between', messages }).expect(200);
    expect(around.headers).toMatchObject({ 'x-switchyard-model': 'wide-last', 'x-switchyard-fallback': 'true' });
    // Every candidate that could take the prompt failed: the upstream's failure, not the prompt's.
    await sim.fault('gemini-2.5-flash', { status: 503, count: 1 });
    await sim.fault('claude-sonnet-4.5', { status: 503, count: 1 });
    const failed = await completion(gateway, { model: 'route:small-between', messages }).expect(502);
    expect(failed.body.error.code).toBe('upstream_error');
    const ids = [skipped, around, failed].map((response) => response.headers['x-switchyard-request-id']);
    const rows = await eventually(async () => {
      const stored = await queryRows<{ request_id: string; outcome: string; model: string; fallback: boolean }>(
        database.url,
        'SELECT request_id, outcome, model, fallback FROM request_metrics WHERE request_id = ANY($1)',
        [ids],
      );
      return stored.length === 3 && stored;
    });
    expect(rows.map(({ request_id: _id, ...row }) => row).sort((a, b) => a.outcome.localeCompare(b.outcome))).toEqual([
      { outcome: 'ok', model: 'wide-last', fallback: true },
      { outcome: 'ok', model: 'wide-last', fallback: true },
      { outcome: 'upstream_error', model: 'wide-last', fallback: false },
    ]);
  });

  it('retries a 429 after its Retry-After and succeeds', async () => {
    await sim.fault('gpt-4.1', { status: 429, count: 1, retryAfterSeconds: 1 });
    const started = Date.now();
    const response = await completion(gateway, { model: 'gpt-4.1', messages: hello }).expect(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(response.headers['x-switchyard-attempts']).toBe('2');
    expect((await sim.stats()).byStatus).toEqual({ '429': 1, '200': 1 });
  });

  it("retries the provider's 408 and 409 as OpenAI's clients do; outlasting the retries, 504 and 502", async () => {
    await sim.fault('gpt-4.1', { status: 408, count: 1 });
    await sim.fault('gpt-4.1', { status: 409, count: 1 });
    const retried = await completion(gateway, { model: 'gpt-4.1', messages: hello }).expect(200);
    expect(retried.headers['x-switchyard-attempts']).toBe('3');
    await sim.fault('gpt-4.1', { status: 408, count: 3 });
    const timedOut = await completion(gateway, { model: 'gpt-4.1', messages: hello }).expect(504);
    expect(timedOut.body.error).toMatchObject({ type: 'api_error', code: 'upstream_timeout' });
    await sim.fault('gpt-4.1', { status: 409, count: 3 });
    const conflicted = await completion(gateway, { model: 'gpt-4.1', messages: hello }).expect(502);
    expect(conflicted.body.error).toMatchObject({ type: 'api_error', code: 'upstream_error' });
  });

  it('answers 429 with Retry-After when rate limits outlast the retries', async () => {
    await sim.fault('gpt-4.1', { status: 429, count: 10, retryAfterMs: 50 });
    const response = await completion(gateway, { model: 'gpt-4.1', messages: hello }).expect(429);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.body.error.code).toBe('rate_limit_exceeded');
    expect(response.headers['x-switchyard-attempts']).toBe('3');
  });

  it('names the last model called on a 429 after every fallback, as its metric row and /metrics do', async () => {
    for (const upstream of ['gemini-2.5-flash', 'gpt-4.1', 'claude-sonnet-4.5'])
      await sim.fault(upstream, { status: 429, count: 1 });
    const response = await completion(gateway, { model: 'route:small-between', messages: hello }).expect(429);
    expect(response.body.error.code).toBe('rate_limit_exceeded');
    expect(response.headers).toMatchObject({
      'x-switchyard-model': 'wide-last',
      'x-switchyard-provider': 'simulated',
      'x-switchyard-attempts': '3',
      'x-switchyard-fallback': 'true',
    });
    const requestId = response.headers['x-switchyard-request-id'];
    const [row] = await eventually(async () => {
      const rows = await queryRows<{ model: string; first_model: string; outcome: string }>(
        database.url,
        'SELECT model, first_model, outcome FROM request_metrics WHERE request_id = $1',
        [requestId],
      );
      return rows.length === 1 && rows;
    });
    expect(row).toEqual({ model: 'wide-last', first_model: 'wide-first', outcome: 'rate_limited' });
    const { text } = await api(gateway).get('/metrics').expect(200);
    const limited = parsePrometheus(text).filter(
      (sample) =>
        sample.name === 'switchyard_requests_total' &&
        sample.labels.policy === 'small-between' &&
        sample.labels.outcome === 'rate_limited',
    );
    expect(limited.map((sample) => [sample.labels.model, sample.value])).toEqual([['wide-last', 1]]);
  });

  it('does not wait out a Retry-After longer than GATEWAY_RETRY_MAX_MS: the client gets it with the 429', async () => {
    await sim.fault('gpt-4.1', { status: 429, count: 1, retryAfterSeconds: 30 });
    const response = await completion(gateway, { model: 'gpt-4.1', messages: hello }).expect(429);
    expect(response.headers['retry-after']).toBe('30');
    expect(response.body.error.code).toBe('rate_limit_exceeded');
    expect(response.headers['x-switchyard-attempts']).toBe('1');
    expect((await sim.stats()).byStatus).toEqual({ '429': 1 });
  });

  it('falls back to the next model at once when a model asks for a longer wait than GATEWAY_RETRY_MAX_MS', async () => {
    await sim.fault('deepseek-v3.2', { status: 429, count: 1, retryAfterSeconds: 30 });
    const response = await completion(gateway, { model: 'route:recommendations', messages: hello }).expect(200);
    expect(response.headers['x-switchyard-model']).toBe('gemini-2.5-flash');
    expect(response.headers['x-switchyard-fallback']).toBe('true');
    expect(response.headers['x-switchyard-attempts']).toBe('2');
    expect((await sim.stats()).byStatus).toEqual({ '429': 1, '200': 1 });
  });

  it('answers 504 when the upstream does not answer within its budget, after retrying', async () => {
    await sim.profile('gpt-4.1', { latencyMs: { median: 1000, p99: 1000 } });
    const response = await completion(gateway, { model: 'slow-lane-gpt', messages: hello }).expect(504);
    expect(response.body.error.code).toBe('upstream_timeout');
    expect(response.headers['x-switchyard-attempts']).toBe('3');
  });

  it('answers 504 to a stream whose upstream sends nothing within its budget, each attempt abandoned upstream', async () => {
    await sim.profile('gpt-4.1', { latencyMs: { median: 1000, p99: 1000 } });
    const abortedBefore = (await sim.stats()).aborted;
    const response = await completion(gateway, { model: 'slow-lane-stream', messages: hello, stream: true }).expect(
      504,
    );
    expect(response.body.error.code).toBe('upstream_timeout');
    expect(response.headers['x-switchyard-attempts']).toBe('3');
    // Each timed-out attempt closed its upstream request rather than leaving it to finish unread.
    await eventually(
      async () => (await sim.stats()).aborted - abortedBefore === 3,
      5_000,
      'three aborted upstream calls',
    );
  });

  it("counts a stream's first-token budget from the request: an upstream holding back its headers falls back in time", async () => {
    await sim.profile('gemini-2.5-flash', { latencyMs: { median: 30_000, p99: 30_000 } });
    const started = Date.now();
    const response = await completion(gateway, { model: 'route:first-token', messages: hello, stream: true }).expect(
      200,
    );
    // Bounds far apart: 300 ms of first-token budget against the 20 s attempt it used to wait out.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(response.headers).toMatchObject({ 'x-switchyard-model': 'wide-last', 'x-switchyard-fallback': 'true' });
    expect(events(response.text).at(-1)).toBe('data: [DONE]');
  }, 30_000);

  it('sends sticky users to the same model on every request, as their flag variant says', async () => {
    await api(gateway)
      .post('/api/flags')
      .send({
        key: 'chat-model',
        description: 'Half of chat on DeepSeek',
        enabled: true,
        variants: { control: 'gemini-2.5-flash', treatment: 'deepseek-v3.2' },
        defaultVariant: 'control',
        rollout: { treatment: 50 },
        rules: [],
      })
      .expect(201);
    const modelsSeen = new Set<string>();
    for (let user = 0; user < 12; user++) {
      const answers = [];
      for (let i = 0; i < 3; i++) {
        const response = await completion(
          gateway,
          { model: 'route:chat', messages: hello },
          { 'x-user-id': `user-${user}` },
        ).expect(200);
        expect(response.headers['x-switchyard-flag']).toBe('chat-model');
        answers.push(`${response.headers['x-switchyard-variant']}:${response.headers['x-switchyard-model']}`);
      }
      expect(new Set(answers).size).toBe(1);
      expect(['control:gemini-2.5-flash', 'treatment:deepseek-v3.2']).toContain(answers[0]);
      modelsSeen.add(answers[0]);
    }
    expect(modelsSeen.size).toBe(2);
    // Archived, the flag no longer routes: the other tests see the policy's default model again.
    await api(gateway).delete('/api/flags/chat-model').expect(200);
    const after = await completion(gateway, { model: 'route:chat', messages: hello }, { 'x-user-id': 'user-1' }).expect(
      200,
    );
    expect(after.headers['x-switchyard-flag']).toBe('none');
  });

  it('uses the backup key when the primary is refused, and keeps using it', async () => {
    await sim.revoke(['primary']);
    const first = await completion(gateway, { model: 'gpt-4.1', messages: hello }).expect(200);
    expect(first.headers['x-switchyard-attempts']).toBe('2');
    await completion(gateway, { model: 'gpt-4.1', messages: hello }).expect(200);
    const stats = await sim.stats();
    expect(stats.byKey.backup).toBe(2);
    expect(stats.byStatus['401']).toBe(1);
  });

  it('falls back from a failing model to the cheapest healthy one for recommendations', async () => {
    await sim.fault('deepseek-v3.2', { status: 503, count: 3 });
    const response = await completion(gateway, { model: 'route:recommendations', messages: hello }).expect(200);
    expect(response.headers['x-switchyard-model']).toBe('gemini-2.5-flash');
    expect(response.headers['x-switchyard-fallback']).toBe('true');
    expect(response.headers['x-switchyard-attempts']).toBe('4');
  });

  it('never lets fraud fall back to a weaker model, and fails loudly with 502 instead', async () => {
    await sim.fault('claude-sonnet-4.5', { status: 500, count: 3 });
    await sim.fault('gpt-4.1', { status: 500, count: 3 });
    const response = await completion(gateway, { model: 'route:fraud', messages: hello }).expect(502);
    expect(response.body.error.code).toBe('upstream_error');
    const stats = await sim.stats();
    expect(Object.keys(stats.byModel).sort()).toEqual(['claude-sonnet-4.5', 'gpt-4.1']);
  });

  it('falls back when a stream fails before its first chunk', async () => {
    await sim.fault('gemini-2.5-flash', { status: 502, count: 2 });
    const response = await completion(gateway, { model: 'route:chat', messages: hello, stream: true }).expect(200);
    expect(response.headers['x-switchyard-model']).toBe('deepseek-v3.2');
    expect(events(response.text).at(-1)).toBe('data: [DONE]');
  });

  it('ends a stream that breaks after its first chunk with an error event and [DONE]', async () => {
    await sim.profile('gpt-4.1', { streamFailureRate: 1 });
    const response = await completion(gateway, { model: 'gpt-4.1', messages: hello, stream: true }).expect(200);
    const received = events(response.text);
    expect(received.at(-1)).toBe('data: [DONE]');
    expect(received.at(-2)).toContain('upstream_stream_error');
  });

  describe('a stream event that is no chunk (not JSON, or without choices)', () => {
    const metricRow = (requestId: string) =>
      eventually(async () => {
        const [row] = await queryRows<Record<string, unknown>>(
          database.url,
          'SELECT outcome, http_status, error_type, attempts, fallback FROM request_metrics WHERE request_id = $1',
          [requestId],
        );
        return row;
      });
    const dataOf = (event: string) => JSON.parse(event.slice('data: '.length)) as Record<string, any>;

    it('ends the stream there as a break: an error event and [DONE], recorded as upstream_stream_error', async () => {
      await sim.profile('gpt-4.1', { malformedEventRate: 1 });
      const response = await completion(gateway, { model: 'gpt-4.1', messages: hello, stream: true }).expect(200);
      const received = events(response.text);
      // What came before it went out whole; the cut-off event itself and what followed it never did.
      expect(received.slice(0, 2).map((event) => dataOf(event).choices[0].delta)).toEqual([
        { role: 'assistant', content: '' },
        { content: 'Simulated' },
      ]);
      expect(received.slice(2).map((event) => (event === 'data: [DONE]' ? event : dataOf(event)))).toEqual([
        {
          error: {
            message: 'The upstream stream broke off before the completion finished.',
            type: 'api_error',
            code: 'upstream_stream_error',
            param: null,
          },
        },
        'data: [DONE]',
      ]);
      expect(await metricRow(response.headers['x-switchyard-request-id'])).toEqual({
        outcome: 'upstream_error',
        http_status: 200,
        error_type: 'upstream_stream_error',
        attempts: 1,
        fallback: false,
      });
      expect((await sim.stats()).malformedEvents).toBe(1);
    });

    it('gives the official client an API error it can handle, not a stream it cannot parse', async () => {
      await sim.profile('gpt-4.1', { malformedEventRate: 1 });
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.adminKey, maxRetries: 0 });
      const stream = await client.chat.completions.create({
        model: 'gpt-4.1',
        messages: [{ role: 'user', content: hello[0].content }],
        stream: true,
      });
      let text = '';
      const reading = (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      })();
      await expect(reading).rejects.toBeInstanceOf(OpenAI.APIError);
      await expect(reading).rejects.toMatchObject({ code: 'upstream_stream_error', type: 'api_error' });
      expect(text).toBe('Simulated');
    });

    it('retries a stream whose first event is no chunk, then falls back: the client sees only the good stream', async () => {
      await sim.profile('gemini-2.5-flash', { malformedFirstEventRate: 1 });
      const response = await completion(gateway, {
        model: 'route:stream-fallback',
        messages: hello,
        stream: true,
      }).expect(200);
      expect(response.headers).toMatchObject({
        'x-switchyard-model': 'stream-last',
        'x-switchyard-fallback': 'true',
        'x-switchyard-attempts': '3',
      });
      const received = events(response.text);
      expect(received.at(-1)).toBe('data: [DONE]');
      const chunks = received.slice(0, -1).map(dataOf);
      expect(chunks.every((chunk) => Array.isArray(chunk.choices))).toBe(true);
      expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toContain('claude-sonnet-4.5');
      expect(await metricRow(response.headers['x-switchyard-request-id'])).toEqual({
        outcome: 'ok',
        http_status: 200,
        error_type: null,
        attempts: 3,
        fallback: true,
      });
      const stats = await sim.stats();
      expect(stats.byModel).toEqual({ 'gemini-2.5-flash': 2, 'claude-sonnet-4.5': 1 });
      expect(stats.malformedEvents).toBe(2);
    });

    it('answers 502 before any byte of a stream when every attempt began with an event that is no chunk', async () => {
      await sim.profile('gemini-2.5-flash', { malformedFirstEventRate: 1 });
      await sim.profile('claude-sonnet-4.5', { malformedFirstEventRate: 1 });
      const response = await completion(gateway, {
        model: 'route:stream-fallback',
        messages: hello,
        stream: true,
      }).expect(502);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.body.error.code).toBe('upstream_error');
      expect(await metricRow(response.headers['x-switchyard-request-id'])).toEqual({
        outcome: 'upstream_error',
        http_status: 502,
        error_type: 'upstream_error',
        attempts: 4,
        fallback: false,
      });
      expect((await sim.stats()).malformedEvents).toBe(4);
    });
  });

  describe("a stream whose first event is the upstream's error: the HTTP error it stands for, the client having no byte yet", () => {
    const metricRow = (requestId: string) =>
      eventually(async () => {
        const [row] = await queryRows<Record<string, unknown>>(
          database.url,
          'SELECT outcome, http_status, error_type, attempts, fallback FROM request_metrics WHERE request_id = $1',
          [requestId],
        );
        return row;
      });
    const dataOf = (event: string) => JSON.parse(event.slice('data: '.length)) as Record<string, any>;
    const streamed = (model: string) => completion(gateway, { model, messages: hello, stream: true });

    it('retries a stream that begins with a rate-limit error event, then falls back: a 200 stream of real chunks', async () => {
      await sim.fault('gemini-2.5-flash', { status: 429, count: 2, asStreamEvent: true });
      const response = await streamed('route:event-fallback').expect(200);
      expect(response.headers).toMatchObject({
        'content-type': expect.stringMatching(/^text\/event-stream/),
        'x-switchyard-model': 'event-last',
        'x-switchyard-fallback': 'true',
        'x-switchyard-attempts': '3',
      });
      const received = events(response.text);
      expect(received.at(-1)).toBe('data: [DONE]');
      const chunks = received.slice(0, -1).map(dataOf);
      expect(chunks.every((chunk) => Array.isArray(chunk.choices) && chunk.error === undefined)).toBe(true);
      expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toContain('claude-sonnet-4.5');
      expect(await metricRow(response.headers['x-switchyard-request-id'])).toEqual({
        outcome: 'ok',
        http_status: 200,
        error_type: null,
        attempts: 3,
        fallback: true,
      });
      const stats = await sim.stats();
      expect(stats.byModel).toEqual({ 'gemini-2.5-flash': 2, 'claude-sonnet-4.5': 1 });
      expect(stats.errorEvents).toBe(2);
    });

    it('tries the backup key when the first event says the key is refused, and keeps using it', async () => {
      await sim.fault('gemini-2.5-flash', { status: 401, count: 1, asStreamEvent: true });
      const first = await streamed('event-first').expect(200);
      expect(first.headers).toMatchObject({
        'x-switchyard-model': 'event-first',
        'x-switchyard-attempts': '2',
        'x-switchyard-fallback': 'false',
      });
      expect(events(first.text).at(-1)).toBe('data: [DONE]');
      const second = await streamed('event-first').expect(200);
      expect(second.headers['x-switchyard-attempts']).toBe('1');
      const stats = await sim.stats();
      expect(stats.recent.map((call) => call.keyLabel)).toEqual(['primary', 'backup', 'backup']);
      expect(stats.errorEvents).toBe(1);
      expect(await metricRow(first.headers['x-switchyard-request-id'])).toEqual({
        outcome: 'ok',
        http_status: 200,
        error_type: null,
        attempts: 2,
        fallback: false,
      });
    });

    // The 503s fail each model 4 times in a row, under the 5 that would open its circuit for the tests after.
    it.each([
      [429, 429, 'rate_limit_exceeded', 'rate_limited'],
      [503, 502, 'upstream_error', 'upstream_error'],
      [401, 502, 'upstream_auth_failed', 'upstream_error'],
    ])(
      "answers %d error events on every attempt with the %d that status gets: before any byte, in OpenAI's shape",
      async (status, answered, code, outcome) => {
        const run = async (asStreamEvent: boolean) => {
          for (const upstream of ['gemini-2.5-flash', 'claude-sonnet-4.5'])
            await sim.fault(upstream, { status, count: 2, asStreamEvent });
          const response = await streamed('route:event-fallback');
          return { response, row: await metricRow(response.headers['x-switchyard-request-id']) };
        };
        const byEvent = await run(true);
        expect((await sim.stats()).errorEvents).toBe(4);
        const byStatus = await run(false);

        expect(byEvent.response.status).toBe(answered);
        expect(byEvent.response.headers['content-type']).toMatch(/^application\/json/);
        expect(byEvent.response.body.error.code).toBe(code);
        expect(byEvent.row).toEqual({ outcome, http_status: answered, error_type: code, attempts: 4, fallback: false });
        // As the status itself is answered, but for the message's reason (an error event, not a status).
        const { message, ...fields } = byEvent.response.body.error;
        const { message: _, ...statusFields } = byStatus.response.body.error;
        expect(fields).toEqual(statusFields);
        if (answered === 502 && code === 'upstream_error')
          expect(message).toContain('event-last began its stream with an error event');
        const headersOf = ({ headers }: { headers: Record<string, string> }) => ({
          retryAfter: headers['retry-after'],
          model: headers['x-switchyard-model'],
          attempts: headers['x-switchyard-attempts'],
          fallback: headers['x-switchyard-fallback'],
        });
        expect(headersOf(byEvent.response)).toEqual(headersOf(byStatus.response));
        expect(byStatus.response.status).toBe(answered);
        expect(byStatus.row).toEqual(byEvent.row);
      },
    );
  });

  it('aborts the upstream stream when the client disconnects', async () => {
    await sim.profile('gpt-4.1', { tokensPerSecond: 5, completionTokens: 50 });
    const abort = new AbortController();
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: bearer(gateway.adminKey!) },
      body: JSON.stringify({ model: 'gpt-4.1', messages: hello, stream: true }),
      signal: abort.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    abort.abort();
    for (let i = 0; i < 50 && (await sim.stats()).aborted === 0; i++) await new Promise((done) => setTimeout(done, 50));
    expect((await sim.stats()).aborted).toBe(1);
  });
});

describe('gateway: a failing model trips its circuit, which closes again once it recovers', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestApp;
  let sim: ReturnType<typeof simulator>;
  const clock = new ManualClock();

  beforeAll(async () => {
    database = await createTestDatabase();
    gateway = await startTestApp({
      databaseUrl: database.url,
      env: {
        GATEWAY_MAX_RETRIES: '0',
        GATEWAY_BREAKER_MIN_REQUESTS: '4',
        GATEWAY_BREAKER_FAILURE_RATIO: '0.5',
        GATEWAY_BREAKER_COOLDOWN_MS: '300',
      },
      clock,
    });
    sim = simulator(gateway);
  });
  afterAll(async () => {
    await gateway?.close();
    await database?.drop();
  });

  it('opens after the failure ratio, skips the model while open, and closes after a healthy probe', async () => {
    await sim.profile('gpt-4.1', { errorRate: 1 });
    for (let i = 0; i < 4; i++) await completion(gateway, { model: 'gpt-4.1', messages: hello }).expect(502);

    const callsWhileOpen = (await sim.stats()).total;
    const open = await completion(gateway, { model: 'gpt-4.1', messages: hello }).expect(502);
    expect(open.body.error.code).toBe('no_healthy_model');
    expect((await sim.stats()).total).toBe(callsWhileOpen);

    await sim.profile('gpt-4.1', { errorRate: 0 });
    // The breakers run on the app's clock: the cool-down passes when the test says so.
    await clock.advance(300);
    await completion(gateway, { model: 'gpt-4.1', messages: hello }).expect(200);
    await completion(gateway, { model: 'gpt-4.1', messages: hello }).expect(200);
  });

  it('records a request refused for open circuits under the policy, flag and variant it was routed to', async () => {
    await api(gateway)
      .post('/api/flags')
      .send({ key: 'fraud-model', variants: { control: 'claude-sonnet-4.5' }, defaultVariant: 'control' })
      .expect(201);
    // The fraud policy's model and its one fallback both fail until their circuits open.
    for (const model of ['claude-sonnet-4.5', 'gpt-4.1']) {
      await sim.profile(model, { errorRate: 1 });
      for (let i = 0; i < 4; i++) await completion(gateway, { model, messages: hello }).expect(502);
    }
    await clock.advance(100);
    const refused = await completion(gateway, { model: 'route:fraud', messages: hello }).expect(502);
    expect(refused.body.error.code).toBe('no_healthy_model');
    // When the first circuit lets a probe through (GATEWAY_BREAKER_COOLDOWN_MS, 300 ms, less the 100
    // ms gone), in whole seconds: the SDKs wait that long instead of retrying into the same refusal.
    expect(refused.headers['retry-after']).toBe('1');

    // Per policy and per variant (the canaries' and guardrail's counts), the outage is an error of its own.
    const [row] = await eventually(async () => {
      const rows = await queryRows(
        database.url,
        'SELECT policy, flag, variant, model, first_model, outcome FROM request_metrics WHERE request_id = $1',
        [refused.headers['x-switchyard-request-id']],
      );
      return rows.length > 0 && rows;
    });
    expect(row).toEqual({
      policy: 'fraud',
      flag: 'fraud-model',
      variant: 'control',
      model: 'claude-sonnet-4.5',
      first_model: 'claude-sonnet-4.5',
      outcome: 'upstream_error',
    });
    // A key that may not use the policy learns that, not the state of its models.
    const { key } = (
      await api(gateway)
        .post('/api/keys')
        .send({ name: 'chat-only', scopes: ['gateway'], policies: ['chat'] })
        .expect(201)
    ).body;
    const forbidden = await completion(
      gateway,
      { model: 'route:fraud', messages: hello },
      { authorization: bearer(key) },
    );
    expect([forbidden.status, forbidden.body.error.code]).toEqual([403, 'policy_not_allowed']);

    for (const model of ['claude-sonnet-4.5', 'gpt-4.1']) await sim.profile(model, { errorRate: 0 });
    await clock.advance(300);
  });
});
