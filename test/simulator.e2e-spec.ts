import OpenAI from 'openai';
import request from 'supertest';
import { SIMULATOR_DEVELOPMENT_KEYS } from '../src/config/catalog.config';
import { createTestDatabase, queryRows } from './support/test-database';
import { api, startTestApp, type TestApp } from './support/test-app';
import { eventually } from './support/webhook-server';

const chat = { model: 'gpt-4.1', messages: [{ role: 'user', content: 'Suggest three books about trains' }] };
const auth = `Bearer ${SIMULATOR_DEVELOPMENT_KEYS.primary}`;

describe('the simulated provider started with the app', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    gateway = await startTestApp({ databaseUrl: database.url });
  });
  afterAll(async () => {
    await gateway?.close();
    await database?.drop();
  });
  afterEach(async () => {
    await request(gateway.simulatorUrl).post('/_simulator/reset').expect(204);
  });

  it('answers an OpenAI-shaped completion', async () => {
    const response = await request(gateway.simulatorUrl)
      .post('/v1/chat/completions')
      .set('authorization', auth)
      .send(chat)
      .expect(200);
    expect(response.body).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-4.1',
      choices: [{ index: 0, message: { role: 'assistant', content: expect.any(String) }, finish_reason: 'stop' }],
      usage: { prompt_tokens: expect.any(Number), completion_tokens: 16, total_tokens: expect.any(Number) },
    });
  });

  it('streams SSE chunks ending in [DONE], with usage when asked', async () => {
    const response = await request(gateway.simulatorUrl)
      .post('/v1/chat/completions')
      .set('authorization', auth)
      .send({ ...chat, stream: true, stream_options: { include_usage: true } })
      .expect(200)
      .expect('content-type', /text\/event-stream/);
    const events = response.text.trim().split('\n\n');
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.replace(/^data: /, '')));
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.at(-1).usage.completion_tokens).toBe(16);
  });

  it('works with the official openai client, plain and streamed', async () => {
    const client = new OpenAI({ baseURL: `${gateway.simulatorUrl}/v1`, apiKey: SIMULATOR_DEVELOPMENT_KEYS.primary });
    const completion = await client.chat.completions.create({
      model: 'claude-sonnet-4.5',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0].message.content).toContain('claude-sonnet-4.5');
    const stream = await client.chat.completions.create({
      model: 'claude-sonnet-4.5',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toContain('claude-sonnet-4.5');
  });

  it('calls tools as OpenAI does: the official client reads the call, plain and reassembled from a stream', async () => {
    await request(gateway.simulatorUrl)
      .put('/_simulator/profiles/claude-sonnet-4.5')
      .send({ toolCallRate: 1 })
      .expect(200)
      .expect((response) => expect(response.body).toMatchObject({ toolCallRate: 1, malformedToolCallRate: 0 }));
    const client = new OpenAI({ baseURL: `${gateway.simulatorUrl}/v1`, apiKey: SIMULATOR_DEVELOPMENT_KEYS.primary });
    const params = {
      model: 'claude-sonnet-4.5',
      messages: [{ role: 'user' as const, content: 'Find me a train book' }],
      tools: [{ type: 'function' as const, function: { name: 'search_books', parameters: { type: 'object' } } }],
    };
    const completion = await client.chat.completions.create(params);
    const call = completion.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(completion.choices[0].finish_reason).toBe('tool_calls');
    expect(call).toMatchObject({ type: 'function', function: { name: 'search_books' } });
    // The SDK's own stream helper puts the call together from the chunks: id, name and arguments.
    const streamed = await client.chat.completions.stream(params).finalChatCompletion();
    expect(streamed.choices[0].finish_reason).toBe('tool_calls');
    expect(streamed.choices[0].message.tool_calls).toEqual([
      {
        id: expect.stringMatching(/^call_/),
        type: 'function',
        function: { name: 'search_books', arguments: call.function.arguments },
      },
    ]);
    expect(JSON.parse(call.function.arguments)).toEqual({ query: expect.any(String) });

    await request(gateway.simulatorUrl)
      .put('/_simulator/profiles/claude-sonnet-4.5')
      .send({ malformedToolCallRate: 1.5 })
      .expect(400)
      .expect((response) =>
        expect(response.body.error.message).toContain('malformedToolCallRate must be a number between 0 and 1'),
      );
  });

  it('calls a legacy function when asked with functions and function_call, as OpenAI did, plain and streamed', async () => {
    const client = new OpenAI({ baseURL: `${gateway.simulatorUrl}/v1`, apiKey: SIMULATOR_DEVELOPMENT_KEYS.primary });
    const params = {
      model: 'claude-sonnet-4.5',
      messages: [{ role: 'user' as const, content: 'Find me a train book' }],
      functions: [
        { name: 'search_books', parameters: { type: 'object' } },
        { name: 'get_weather', parameters: { type: 'object' } },
      ],
      function_call: { name: 'get_weather' },
    };
    const completion = await client.chat.completions.create(params);
    expect(completion.choices[0].finish_reason).toBe('function_call');
    expect(completion.choices[0].message).toMatchObject({
      role: 'assistant',
      content: null,
      function_call: { name: 'get_weather', arguments: expect.any(String) },
    });
    expect(completion.choices[0].message.tool_calls).toBeUndefined();
    const call = completion.choices[0].message.function_call!;
    expect(JSON.parse(call.arguments)).toEqual({ query: expect.any(String) });
    // The SDK's stream helper puts the call together from the chunks' function_call deltas.
    const streamed = await client.chat.completions.stream(params).finalChatCompletion();
    expect(streamed.choices[0].finish_reason).toBe('function_call');
    expect(streamed.choices[0].message.function_call).toEqual(call);

    // "auto" calls at the profile's toolCallRate (0 by default: words), "none" never.
    const auto = await client.chat.completions.create({ ...params, function_call: 'auto' });
    expect(auto.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: expect.any(String) } });
    await request(gateway.simulatorUrl)
      .put('/_simulator/profiles/claude-sonnet-4.5')
      .send({ toolCallRate: 1 })
      .expect(200);
    const called = await client.chat.completions.create({ ...params, function_call: 'auto' });
    expect(called.choices[0].message.function_call?.name).toBe('search_books');
    const none = await client.chat.completions.create({ ...params, function_call: 'none' });
    expect(none.choices[0].message.function_call).toBeUndefined();

    // As OpenAI's: a function that is not offered, or both styles at once, is refused with the field named.
    const refusals = [
      [{ ...params, function_call: { name: 'fly' } }, 'function_call'],
      [{ ...params, tools: [{ type: 'function', function: { name: 'search_books' } }] }, 'functions'],
    ] as const;
    for (const [body, param] of refusals) {
      const refused = await request(gateway.simulatorUrl)
        .post('/v1/chat/completions')
        .set('authorization', auth)
        .send(body)
        .expect(400);
      expect(refused.body.error).toMatchObject({ type: 'invalid_request_error', param });
    }
  });

  it("relays a legacy function call through the gateway and judges its arguments, as a tool call's", async () => {
    const body = {
      model: 'claude-sonnet-4.5',
      messages: [{ role: 'user', content: 'Find me a train book' }],
      functions: [{ name: 'search_books', parameters: { type: 'object' } }],
      function_call: { name: 'search_books' },
    };
    const whole = await api(gateway).post('/v1/chat/completions').send(body).expect(200);
    expect(whole.body.choices[0]).toMatchObject({
      finish_reason: 'function_call',
      message: { content: null, function_call: { name: 'search_books' } },
    });
    await request(gateway.simulatorUrl)
      .put('/_simulator/profiles/claude-sonnet-4.5')
      .send({ malformedToolCallRate: 1 })
      .expect(200);
    const malformed = await api(gateway).post('/v1/chat/completions').send(body).expect(200);
    const streamed = await api(gateway)
      .post('/v1/chat/completions')
      .send({ ...body, stream: true })
      .expect(200);
    const ids = [whole, malformed, streamed].map((response) => response.headers['x-switchyard-request-id']);
    const signals = await eventually(async () => {
      const rows = await queryRows<{ request_id: string; quality_signals: number }>(
        database.url,
        'SELECT request_id, quality_signals FROM request_metrics WHERE request_id = ANY($1)',
        [ids],
      );
      return rows.length === 3 && ids.map((id) => rows.find((row) => row.request_id === id)!.quality_signals);
    });
    // A call is no empty answer; arguments cut off are a malformed call (16), streamed or not.
    expect(signals).toEqual([0, 16, 16]);
  });

  it('rejects a wrong key without echoing it', async () => {
    const response = await request(gateway.simulatorUrl)
      .post('/v1/chat/completions')
      .set('authorization', 'Bearer sk-not-the-key-123')
      .send(chat)
      .expect(401);
    expect(response.body.error.code).toBe('invalid_api_key');
    expect(response.text).not.toContain('sk-not-the-key-123');
  });

  it('applies a profile changed at run time, and reports the calls it received', async () => {
    await request(gateway.simulatorUrl)
      .put('/_simulator/profiles/gpt-4.1')
      .send({ errorRate: 1, errorStatus: 503 })
      .expect(200);
    await request(gateway.simulatorUrl).post('/v1/chat/completions').set('authorization', auth).send(chat).expect(503);

    await request(gateway.simulatorUrl)
      .put('/_simulator/profiles/gpt-4.1')
      .send({ errorRate: 0, rateLimitRate: 1, retryAfterSeconds: 7 })
      .expect(200);
    await request(gateway.simulatorUrl)
      .post('/v1/chat/completions')
      .set('authorization', auth)
      .send(chat)
      .expect(429)
      .expect('retry-after', '7');

    const stats = await request(gateway.simulatorUrl).get('/_simulator/stats').expect(200);
    expect(stats.body).toMatchObject({
      total: 2,
      byModel: { 'gpt-4.1': 2 },
      byKey: { primary: 2 },
      byStatus: { '503': 1, '429': 1 },
    });
  });

  it('rejects an invalid profile with the field named', async () => {
    const response = await request(gateway.simulatorUrl)
      .put('/_simulator/profiles/gpt-4.1')
      .send({ errorRate: 2 })
      .expect(400);
    expect(response.body.error.message).toContain('errorRate must be a number between 0 and 1');
  });

  it('answers with the backup key, and 401 for the primary once revoked', async () => {
    await request(gateway.simulatorUrl)
      .put('/_simulator/keys')
      .send({ revoked: ['primary'] })
      .expect(200);
    await request(gateway.simulatorUrl).post('/v1/chat/completions').set('authorization', auth).send(chat).expect(401);
    await request(gateway.simulatorUrl)
      .post('/v1/chat/completions')
      .set('authorization', `Bearer ${SIMULATOR_DEVELOPMENT_KEYS.backup}`)
      .send(chat)
      .expect(200);
  });
});
