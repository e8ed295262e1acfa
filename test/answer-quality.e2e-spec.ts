import request from 'supertest';
import { api, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { createTestDatabase, queryRows } from './support/test-database';

/*
 * The built-in answer-quality signals through the real gateway: the simulator (over HTTP) answers
 * 200 with empty, truncated, refused or broken-JSON content, or with a tool call whose arguments
 * may be broken, and the metric row of each request carries the signals the gateway found
 * (quality_signals bitmask: 1 empty, 2 truncated, 4 invalid JSON, 8 schema violation, 16 malformed
 * tool call, 32 refusal), for plain and streamed answers alike.
 */

const hello = [{ role: 'user', content: 'Suggest three books for a long train journey.' }];
const MODEL = 'deepseek-v3.2';

describe('answer-quality signals on the metric row', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    gateway = await startTestApp({
      databaseUrl: database.url,
      catalog: await writeTestCatalog(),
      env: { METRICS_FLUSH_INTERVAL_MS: '20', GATEWAY_MAX_RETRIES: '0' },
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await database?.drop();
  });
  afterEach(async () => {
    await request(gateway.simulatorUrl).post('/_simulator/reset').expect(204);
  });

  function profile(patch: Record<string, unknown>) {
    return request(gateway.simulatorUrl).put(`/_simulator/profiles/${MODEL}`).send(patch).expect(200);
  }

  /** Sends the request plain and streamed; returns both answers and their rows' quality_signals once written. */
  async function answersOf(body: Record<string, unknown>, expectStatus = 200) {
    const responses: request.Response[] = [];
    for (const stream of [false, true]) {
      responses.push(
        await api(gateway)
          .post('/v1/chat/completions')
          .send({ model: MODEL, messages: hello, ...body, stream })
          .expect(expectStatus),
      );
    }
    const ids = responses.map((response) => response.headers['x-switchyard-request-id'] as string);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const rows = await queryRows<{ request_id: string; quality_signals: number | null }>(
        database.url,
        'SELECT request_id, quality_signals FROM request_metrics WHERE request_id = ANY($1)',
        [ids],
      );
      if (rows.length === 2 || Date.now() > deadline) {
        expect(rows).toHaveLength(2);
        const signals = ids.map((id) => rows.find((row) => row.request_id === id)!.quality_signals);
        return { plain: responses[0], streamed: responses[1], signals };
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async function signalsOf(body: Record<string, unknown>, expectStatus = 200): Promise<Array<number | null>> {
    return (await answersOf(body, expectStatus)).signals;
  }

  /** A streamed answer's tool calls as a client puts them together: by index, arguments appended. */
  function streamedCalls(text: string) {
    const calls: Array<{ id: string; name: string; arguments: string }> = [];
    let finish: string | null = null;
    for (const event of text.split('\n\n')) {
      if (!event.startsWith('data: {')) continue;
      const choice = JSON.parse(event.slice('data: '.length)).choices[0];
      finish = choice?.finish_reason ?? finish;
      for (const delta of choice?.delta?.tool_calls ?? []) {
        calls[delta.index] ??= { id: delta.id, name: delta.function.name, arguments: '' };
        calls[delta.index].arguments += delta.function.arguments;
      }
    }
    return { calls, finish };
  }

  it('stores 0 for an ordinary answer', async () => {
    expect(await signalsOf({})).toEqual([0, 0]);
  });

  it('flags a 200 with empty content as empty_answer', async () => {
    await profile({ emptyAnswerRate: 1 });
    expect(await signalsOf({})).toEqual([1, 1]);
  });

  it('flags an answer cut at max_tokens as truncated', async () => {
    expect(await signalsOf({ max_tokens: 3 })).toEqual([2, 2]);
  });

  it('flags a refusal', async () => {
    await profile({ refusalRate: 1 });
    expect(await signalsOf({})).toEqual([32, 32]);
  });

  it('checks JSON only when response_format asks for it', async () => {
    const jsonObject = { response_format: { type: 'json_object' } };
    expect(await signalsOf(jsonObject)).toEqual([0, 0]);
    await profile({ invalidJsonRate: 1 });
    expect(await signalsOf(jsonObject)).toEqual([4, 4]);
    expect(await signalsOf({})).toEqual([0, 0]);
  });

  it('judges each choice of an n = 2 answer on its own, streamed too (their deltas interleave)', async () => {
    const tools = { tools: [{ type: 'function', function: { name: 'find_books', parameters: { type: 'object' } } }] };
    expect(await signalsOf({ n: 2, response_format: { type: 'json_object' } })).toEqual([0, 0]);
    await profile({ toolCallRate: 1 });
    expect(await signalsOf({ n: 2, ...tools })).toEqual([0, 0]);
  });

  it('checks a json_schema answer against its schema', async () => {
    const format = (schema: Record<string, unknown>) => ({
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema } },
    });
    const fits = { type: 'object', properties: { reply: { type: 'string' } }, required: ['reply'] };
    const needsSku = { type: 'object', properties: { sku: { type: 'string' } }, required: ['sku'] };
    expect(await signalsOf(format(fits))).toEqual([0, 0]);
    expect(await signalsOf(format(needsSku))).toEqual([8, 8]);
  });

  it('relays a tool call and flags it when its arguments are not JSON (malformed_tool_call), plain and streamed', async () => {
    const tools = { tools: [{ type: 'function', function: { name: 'find_books', parameters: { type: 'object' } } }] };
    await profile({ toolCallRate: 1, malformedToolCallRate: 1 });
    const malformed = await answersOf(tools);
    expect(malformed.signals).toEqual([16, 16]);
    const [call] = malformed.plain.body.choices[0].message.tool_calls;
    expect(malformed.plain.body.choices[0]).toMatchObject({ message: { content: null }, finish_reason: 'tool_calls' });
    expect(call).toMatchObject({
      id: expect.stringMatching(/^call_/),
      type: 'function',
      function: { name: 'find_books' },
    });
    expect(() => JSON.parse(call.function.arguments)).toThrow();
    const streamed = streamedCalls(malformed.streamed.text);
    expect(streamed.finish).toBe('tool_calls');
    expect(streamed.calls).toEqual([
      { id: expect.stringMatching(/^call_/), name: 'find_books', arguments: call.function.arguments },
    ]);

    // Well-formed calls: no signal at all, and a tool call is an answer, not an empty one.
    await profile({ malformedToolCallRate: 0 });
    const wellFormed = await answersOf(tools);
    expect(wellFormed.signals).toEqual([0, 0]);
    const args = wellFormed.plain.body.choices[0].message.tool_calls[0].function.arguments;
    expect(JSON.parse(args)).toEqual({ query: expect.any(String) });
    expect(streamedCalls(wellFormed.streamed.text).calls).toEqual([
      { id: expect.stringMatching(/^call_/), name: 'find_books', arguments: args },
    ]);
  });

  it('stores null when there was no answer to judge', async () => {
    await profile({ errorRate: 1, errorStatus: 503 });
    expect(await signalsOf({}, 502)).toEqual([null, null]);
  });
});
