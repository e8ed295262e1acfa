import { SimulatedProvider, type SimulatorOptions } from './simulated-provider';

const KEYS = { primary: 'sk-sim-primary-5f1c2a9d', backup: 'sk-sim-backup-7b3e4d10' };
const MODEL = 'sim-fast';
const OTHER_MODEL = 'sim-short';

const started: SimulatedProvider[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((simulator) => simulator.stop()));
});

async function startSimulator(overrides: Partial<SimulatorOptions> = {}): Promise<SimulatedProvider> {
  const simulator = new SimulatedProvider({
    port: 0,
    models: [{ id: MODEL }, { id: OTHER_MODEL, profile: { completionTokens: 6 } }],
    apiKeys: KEYS,
    ...overrides,
  });
  started.push(simulator);
  await simulator.start();
  return simulator;
}

const userMessages = [{ role: 'user', content: 'Say something.' }];

function chat(simulator: SimulatedProvider, body: unknown, key: string | null = KEYS.primary, signal?: AbortSignal) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  return fetch(`${simulator.url}/chat/completions`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
}

function admin(simulator: SimulatedProvider, method: string, path: string, body?: unknown) {
  return fetch(`http://127.0.0.1:${simulator.port}/_simulator${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Response bodies are read as `any`: the assertions are what checks their shape. */
async function jsonOf(response: Response | Promise<Response>): Promise<any> {
  return (await response).json();
}

async function stats(simulator: SimulatedProvider) {
  return jsonOf(admin(simulator, 'GET', '/stats'));
}

/** The JSON payloads of an SSE body, plus whether it ended with `data: [DONE]`. */
function parseSse(text: string): { chunks: any[]; done: boolean } {
  const events = text.split('\n\n').filter((event) => event !== '');
  for (const event of events) expect(event.startsWith('data: ')).toBe(true);
  const payloads = events.map((event) => event.slice('data: '.length));
  const done = payloads[payloads.length - 1] === '[DONE]';
  return { chunks: payloads.filter((p) => p !== '[DONE]').map((p) => JSON.parse(p)), done };
}

/** Polls until `accept` holds: the server learns of a client's disconnect asynchronously. */
async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean): Promise<T> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const value = await read();
    if (accept(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('condition never became true');
}

async function statuses(simulator: SimulatedProvider, count: number, model = MODEL): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < count; i++) {
    const response = await chat(simulator, { model, messages: userMessages });
    await response.arrayBuffer();
    result.push(response.status);
  }
  return result;
}

describe('SimulatedProvider', () => {
  describe('lifecycle', () => {
    it('binds a free port for port 0 and exposes the OpenAI base URL', async () => {
      const simulator = await startSimulator();
      expect(simulator.port).toBeGreaterThan(0);
      expect(simulator.url).toBe(`http://127.0.0.1:${simulator.port}/v1`);
    });

    it('rejects invalid options, naming the field and never the key value', () => {
      expect(
        () => new SimulatedProvider({ port: 0, models: [{ id: MODEL, profile: { errorRate: 2 } }], apiKeys: KEYS }),
      ).toThrow('errorRate must be a number between 0 and 1');
      let message = '';
      try {
        new SimulatedProvider({ port: 0, models: [{ id: MODEL }], apiKeys: { a: KEYS.primary, b: KEYS.primary } });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toContain('apiKeys.b has the same value as apiKeys.a');
      expect(message).not.toContain(KEYS.primary);
    });
  });

  describe('POST /v1/chat/completions (JSON)', () => {
    it('answers in the OpenAI chat.completion shape', async () => {
      const simulator = await startSimulator();
      const response = await chat(simulator, { model: MODEL, messages: userMessages });

      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/json');
      const body = await jsonOf(response);
      expect(body).toEqual({
        id: expect.stringMatching(/^chatcmpl-sim-\d+$/),
        object: 'chat.completion',
        created: expect.any(Number),
        model: MODEL,
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: expect.stringMatching(`^Simulated reply from ${MODEL}: `),
              refusal: null,
            },
            finish_reason: 'stop',
            logprobs: null,
          },
        ],
        usage: { prompt_tokens: expect.any(Number), completion_tokens: 16, total_tokens: expect.any(Number) },
      });
      expect(body.choices[0].message.content.split(' ')).toHaveLength(16);
      expect(body.usage.prompt_tokens).toBeGreaterThan(0);
      expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + 16);
    });

    it('answers n choices, each counted in the completion tokens, and refuses an n out of bounds', async () => {
      const simulator = await startSimulator();
      const body = await jsonOf(chat(simulator, { model: MODEL, messages: userMessages, n: 3 }));
      expect(body.choices.map((choice: { index: number }) => choice.index)).toEqual([0, 1, 2]);
      for (const choice of body.choices) expect(choice.message.content.split(' ')).toHaveLength(16);
      expect(body.usage.completion_tokens).toBe(48);

      const refused = await chat(simulator, { model: MODEL, messages: userMessages, n: 0 });
      expect(refused.status).toBe(400);
      expect((await refused.json()).error).toMatchObject({
        param: 'n',
        code: 'invalid_value',
        message: "Invalid 'n': expected an integer between 1 and 128.",
      });
    });

    it('caps the reply at max_tokens / max_completion_tokens with finish_reason "length"', async () => {
      const simulator = await startSimulator();
      for (const param of ['max_tokens', 'max_completion_tokens']) {
        const body = await jsonOf(chat(simulator, { model: MODEL, messages: userMessages, [param]: 5 }));
        expect(body.usage.completion_tokens).toBe(5);
        expect(body.choices[0].message.content.split(' ')).toHaveLength(5);
        expect(body.choices[0].finish_reason).toBe('length');
      }
    });

    it('answers empty content (200) at emptyAnswerRate 1, and a refusal at refusalRate 1', async () => {
      const simulator = await startSimulator({
        models: [
          { id: MODEL, profile: { emptyAnswerRate: 1 } },
          { id: OTHER_MODEL, profile: { refusalRate: 1 } },
        ],
      });
      const empty = await jsonOf(chat(simulator, { model: MODEL, messages: userMessages }));
      expect(empty.choices[0].message).toEqual({ role: 'assistant', content: '', refusal: null });
      expect(empty.usage.completion_tokens).toBe(0);
      const refused = await jsonOf(chat(simulator, { model: OTHER_MODEL, messages: userMessages }));
      expect(refused.choices[0].message).toEqual({
        role: 'assistant',
        content: null,
        refusal: expect.stringContaining("can't help"),
      });
      const stream = await (await chat(simulator, { model: OTHER_MODEL, messages: userMessages, stream: true })).text();
      const { chunks, done } = parseSse(stream);
      expect(done).toBe(true);
      expect(chunks.some((chunk) => typeof chunk.choices[0]?.delta?.refusal === 'string')).toBe(true);
    });

    it('answers JSON when response_format asks for it, cut off at invalidJsonRate 1', async () => {
      const simulator = await startSimulator({
        models: [{ id: MODEL }, { id: OTHER_MODEL, profile: { invalidJsonRate: 1 } }],
      });
      const format = { response_format: { type: 'json_object' }, messages: userMessages };
      const valid = await jsonOf(chat(simulator, { model: MODEL, ...format }));
      expect(JSON.parse(valid.choices[0].message.content)).toEqual({
        reply: expect.stringMatching(`^Simulated reply from ${MODEL}: `),
      });
      const invalid = await jsonOf(chat(simulator, { model: OTHER_MODEL, ...format }));
      expect(invalid.choices[0].message.content).toMatch(/^\{"reply": "Simulated/);
      expect(() => JSON.parse(invalid.choices[0].message.content)).toThrow();
      const plain = await jsonOf(chat(simulator, { model: OTHER_MODEL, messages: userMessages }));
      expect(plain.choices[0].message.content).toMatch(/^Simulated reply/);
    });

    it('uses the per-model profile from the options', async () => {
      const simulator = await startSimulator();
      const body = await jsonOf(chat(simulator, { model: OTHER_MODEL, messages: userMessages }));
      expect(body.usage.completion_tokens).toBe(6);
    });

    it('still answers 200 when the profile has latency', async () => {
      const latency = { latencyMs: { median: 2, p99: 5 } };
      const simulator = await startSimulator({ models: [{ id: MODEL, profile: latency }] });
      expect(await statuses(simulator, 3)).toEqual([200, 200, 200]);
    });
  });

  describe('POST /v1/chat/completions (stream)', () => {
    it('streams role, one chunk per token, finish, usage and [DONE]', async () => {
      const simulator = await startSimulator();
      const response = await chat(simulator, {
        model: MODEL,
        messages: userMessages,
        stream: true,
        stream_options: { include_usage: true },
      });

      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/event-stream');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.headers.get('connection')).toBe('keep-alive');

      const { chunks, done } = parseSse(await response.text());
      expect(done).toBe(true);
      expect(chunks).toHaveLength(1 + 16 + 1 + 1);
      for (const chunk of chunks) {
        expect(chunk).toMatchObject({ id: chunks[0].id, object: 'chat.completion.chunk', model: MODEL });
        expect(chunk.created).toEqual(expect.any(Number));
      }
      const [first, ...rest] = chunks;
      const tokens = rest.slice(0, 16);
      const [finish, usage] = rest.slice(16);
      expect(first.choices).toEqual([
        { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
      ]);
      for (const token of tokens) {
        expect(token.choices[0]).toMatchObject({
          index: 0,
          delta: { content: expect.any(String) },
          finish_reason: null,
        });
      }
      expect(finish.choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
      expect(usage.choices).toEqual([]);
      expect(usage.usage).toEqual({
        prompt_tokens: expect.any(Number),
        completion_tokens: 16,
        total_tokens: usage.usage.prompt_tokens + 16,
      });

      // The streamed text is the same reply the JSON endpoint gives.
      const json = await jsonOf(chat(simulator, { model: MODEL, messages: userMessages }));
      expect(tokens.map((t) => t.choices[0].delta.content).join('')).toBe(json.choices[0].message.content);
    });

    it('streams every step once per choice when n > 1, and counts every choice in the usage', async () => {
      const simulator = await startSimulator();
      const response = await chat(simulator, {
        model: OTHER_MODEL,
        messages: userMessages,
        stream: true,
        stream_options: { include_usage: true },
        n: 2,
      });
      const { chunks, done } = parseSse(await response.text());
      expect(done).toBe(true);
      const usage = chunks.pop();
      expect(usage.usage.completion_tokens).toBe(12);
      const texts = ['', ''];
      for (const chunk of chunks) {
        expect(chunk.choices).toHaveLength(1);
        texts[chunk.choices[0].index] += chunk.choices[0].delta.content ?? '';
      }
      expect(chunks.map((chunk) => chunk.choices[0].index)).toEqual(
        Array(1 + 6 + 1)
          .fill([0, 1])
          .flat(),
      );
      const json = await jsonOf(chat(simulator, { model: OTHER_MODEL, messages: userMessages }));
      expect(texts).toEqual([json.choices[0].message.content, json.choices[0].message.content]);
    });

    it('leaves out the usage chunk unless stream_options.include_usage is set', async () => {
      const simulator = await startSimulator();
      const response = await chat(simulator, { model: OTHER_MODEL, messages: userMessages, stream: true });
      const { chunks, done } = parseSse(await response.text());
      expect(done).toBe(true);
      expect(chunks).toHaveLength(1 + 6 + 1);
      expect(chunks.every((chunk) => chunk.choices.length === 1 && !('usage' in chunk))).toBe(true);
    });

    it('destroys the socket after the first content chunk when streamFailureRate is 1', async () => {
      const simulator = await startSimulator({ models: [{ id: MODEL, profile: { streamFailureRate: 1 } }] });
      const response = await chat(simulator, { model: MODEL, messages: userMessages, stream: true });
      expect(response.status).toBe(200);

      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let received = '';
      let failure: unknown;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          received += decoder.decode(value, { stream: true });
        }
      } catch (error) {
        failure = error;
      }
      expect(failure).toBeDefined();
      expect(received).toContain('"content":"Simulated"');
      expect(received).not.toContain('[DONE]');
      expect((await stats(simulator)).streamFailures).toBe(1);
    });

    it('sends a chunk cut off half-way as the first event at malformedFirstEventRate 1, then the whole stream', async () => {
      const simulator = await startSimulator({ models: [{ id: MODEL, profile: { malformedFirstEventRate: 1 } }] });
      const response = await chat(simulator, { model: MODEL, messages: userMessages, stream: true });
      expect(response.status).toBe(200);
      const [cut, ...rest] = (await response.text()).split('\n\n').filter((event) => event !== '');
      expect(rest[0].startsWith(cut)).toBe(true);
      expect(cut.length).toBeLessThan(rest[0].length);
      expect(() => JSON.parse(cut.slice('data: '.length))).toThrow(SyntaxError);
      const { chunks, done } = parseSse(rest.join('\n\n'));
      expect(done).toBe(true);
      expect(chunks).toHaveLength(1 + 16 + 1);
      expect((await stats(simulator)).malformedEvents).toBe(1);
    });

    it('sends a chunk cut off half-way right after the first content chunk at malformedEventRate 1', async () => {
      const simulator = await startSimulator({ models: [{ id: MODEL, profile: { malformedEventRate: 1 } }] });
      const response = await chat(simulator, { model: MODEL, messages: userMessages, stream: true });
      const events = (await response.text()).split('\n\n').filter((event) => event !== '');
      const [role, content, cut, ...rest] = events;
      expect(content).toContain('"content":"Simulated"');
      expect(content.startsWith(cut)).toBe(true);
      expect(() => JSON.parse(cut.slice('data: '.length))).toThrow(SyntaxError);
      const { chunks, done } = parseSse([role, content, ...rest].join('\n\n'));
      expect(done).toBe(true);
      expect(chunks).toHaveLength(1 + 16 + 1);
      expect((await stats(simulator)).malformedEvents).toBe(1);

      // A plain answer has no events to break.
      expect((await chat(simulator, { model: MODEL, messages: userMessages })).status).toBe(200);
      expect((await stats(simulator)).malformedEvents).toBe(1);
    });

    it('stops writing and counts an abort when the client disconnects mid-stream', async () => {
      const simulator = await startSimulator({ models: [{ id: MODEL, profile: { tokensPerSecond: 2 } }] });
      const client = new AbortController();
      const body = { model: MODEL, messages: userMessages, stream: true };
      const response = await chat(simulator, body, KEYS.primary, client.signal);
      const reader = response.body!.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toContain('"role":"assistant"');

      client.abort();
      const after = await eventually(
        () => stats(simulator),
        (s) => s.aborted === 1,
      );
      expect(after.aborted).toBe(1);
    });

    it('ends in-flight streams promptly on stop()', async () => {
      const simulator = await startSimulator({ models: [{ id: MODEL, profile: { tokensPerSecond: 1 } }] });
      const response = await chat(simulator, { model: MODEL, messages: userMessages, stream: true });
      const reader = response.body!.getReader();
      await reader.read();

      await simulator.stop();
      await expect(
        (async () => {
          for (;;) if ((await reader.read()).done) return 'ended cleanly';
        })(),
      ).rejects.toThrow();
    });
  });

  describe('tool calls', () => {
    const TOOLS = [
      { type: 'function', function: { name: 'search_catalog', parameters: { type: 'object' } } },
      { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } },
    ];
    const withTools = { model: MODEL, messages: userMessages, tools: TOOLS };
    const toolCalling = (profile: Record<string, number>) =>
      startSimulator({ models: [{ id: MODEL, profile: { toolCallRate: 1, ...profile } }, { id: OTHER_MODEL }] });

    /** The one tool call of a streamed answer, put together as a client does: by index, arguments appended. */
    function streamedCall(chunks: any[]) {
      const deltas = chunks.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? []);
      expect(new Set(deltas.map((delta: { index: number }) => delta.index))).toEqual(new Set([0]));
      return {
        id: deltas[0].id,
        type: deltas[0].type,
        name: deltas[0].function.name,
        arguments: deltas.map((delta: { function: { arguments: string } }) => delta.function.arguments).join(''),
      };
    }

    it('answers with a tool call in the OpenAI shape: no content, JSON arguments, finish_reason "tool_calls"', async () => {
      const simulator = await toolCalling({});
      const body = await jsonOf(chat(simulator, withTools));
      expect(body.choices).toEqual([
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            refusal: null,
            tool_calls: [
              {
                id: expect.stringMatching(/^call_sim-\d+$/),
                type: 'function',
                function: { name: 'search_catalog', arguments: expect.any(String) },
              },
            ],
          },
          finish_reason: 'tool_calls',
          logprobs: null,
        },
      ]);
      const args = JSON.parse(body.choices[0].message.tool_calls[0].function.arguments);
      expect(args).toEqual({ query: expect.stringMatching(/^alpha bravo charlie/) });
      expect(args.query.split(' ')).toHaveLength(16);
      expect(body.usage).toEqual({
        prompt_tokens: expect.any(Number),
        completion_tokens: 16,
        total_tokens: body.usage.prompt_tokens + 16,
      });
      // Each answer's call has an id of its own, the same on every run.
      const next = await jsonOf(chat(simulator, withTools));
      expect(next.choices[0].message.tool_calls[0].id).not.toBe(body.choices[0].message.tool_calls[0].id);
    });

    it('cuts the arguments off at malformedToolCallRate 1, and at max_tokens (finish_reason "length")', async () => {
      const simulator = await toolCalling({ malformedToolCallRate: 1 });
      const malformed = await jsonOf(chat(simulator, withTools));
      expect(malformed.choices[0].finish_reason).toBe('tool_calls');
      const args = malformed.choices[0].message.tool_calls[0].function.arguments;
      expect(args).toMatch(/^\{"query": "alpha bravo/);
      expect(() => JSON.parse(args)).toThrow();

      await admin(simulator, 'PUT', `/profiles/${MODEL}`, { malformedToolCallRate: 0 });
      const cut = await jsonOf(chat(simulator, { ...withTools, max_tokens: 3 }));
      expect(cut.choices[0].finish_reason).toBe('length');
      expect(cut.usage.completion_tokens).toBe(3);
      expect(cut.choices[0].message.tool_calls[0].function.arguments).toBe('{"query": "alpha bravo charlie');
    });

    it('follows tool_choice: "required" and a named function force a call, "none" forbids one', async () => {
      const simulator = await startSimulator();
      const callOf = async (extra: Record<string, unknown>, model = MODEL) =>
        (await jsonOf(chat(simulator, { ...withTools, model, ...extra }))).choices[0].message.tool_calls?.[0];
      // toolCallRate 0 (the default): the model answers in words unless the request insists.
      expect(await callOf({})).toBeUndefined();
      expect((await callOf({ tool_choice: 'required' })).function.name).toBe('search_catalog');
      const named = { tool_choice: { type: 'function', function: { name: 'get_weather' } } };
      expect((await callOf(named)).function.name).toBe('get_weather');
      await admin(simulator, 'PUT', `/profiles/${MODEL}`, { toolCallRate: 1 });
      expect(await callOf({ tool_choice: 'none' })).toBeUndefined();
      // Without function tools there is nothing to call, whatever the rate.
      const plain = await jsonOf(chat(simulator, { model: MODEL, messages: userMessages }));
      expect(plain.choices[0]).toMatchObject({ message: { content: expect.any(String) }, finish_reason: 'stop' });
      expect(plain.choices[0].message.tool_calls).toBeUndefined();
    });

    it('streams the call as OpenAI does: id, type and name first with empty arguments, then argument fragments', async () => {
      const simulator = await toolCalling({});
      const response = await chat(simulator, { ...withTools, stream: true, stream_options: { include_usage: true } });
      const { chunks, done } = parseSse(await response.text());
      expect(done).toBe(true);
      expect(chunks).toHaveLength(1 + 18 + 1 + 1);
      const [first, ...rest] = chunks;
      expect(first.choices).toEqual([
        {
          index: 0,
          delta: {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                index: 0,
                id: expect.stringMatching(/^call_/),
                type: 'function',
                function: { name: 'search_catalog', arguments: '' },
              },
            ],
          },
          logprobs: null,
          finish_reason: null,
        },
      ]);
      for (const fragment of rest.slice(0, 18)) {
        expect(fragment.choices).toEqual([
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, function: { arguments: expect.any(String) } }] },
            logprobs: null,
            finish_reason: null,
          },
        ]);
      }
      const [finish, usage] = rest.slice(18);
      expect(finish.choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'tool_calls' }]);
      expect(usage.usage.completion_tokens).toBe(16);

      // The fragments make up the same call the JSON answer carries.
      const call = streamedCall(chunks);
      const json = (await jsonOf(chat(simulator, withTools))).choices[0].message.tool_calls[0];
      expect(call).toEqual({
        id: call.id,
        type: 'function',
        name: 'search_catalog',
        arguments: json.function.arguments,
      });
      expect(JSON.parse(call.arguments)).toEqual(JSON.parse(json.function.arguments));
    });

    it('streams malformed arguments at malformedToolCallRate 1', async () => {
      const simulator = await toolCalling({ malformedToolCallRate: 1 });
      const { chunks, done } = parseSse(await (await chat(simulator, { ...withTools, stream: true })).text());
      expect(done).toBe(true);
      expect(chunks.at(-1).choices[0].finish_reason).toBe('tool_calls');
      const call = streamedCall(chunks);
      expect(call.arguments).toMatch(/^\{"query": "alpha/);
      expect(() => JSON.parse(call.arguments)).toThrow();
    });

    it.each([
      ['tools that are not a list', { tools: { type: 'function' } }, 'tools', "Invalid type for 'tools'"],
      [
        'a function tool without a name',
        { tools: [{ type: 'function', function: {} }] },
        'tools[0].function.name',
        'Missing',
      ],
      ['an unknown tool_choice', { tools: TOOLS, tool_choice: 'always' }, 'tool_choice', '"required"'],
      ['tool_choice "required" without tools', { tool_choice: 'required' }, 'tool_choice', 'only allowed when'],
      [
        'a named function that is not among the tools',
        { tools: TOOLS, tool_choice: { type: 'function', function: { name: 'delete_everything' } } },
        'tool_choice',
        'expected one of: search_catalog, get_weather',
      ],
    ])('answers 400 for %s, naming the parameter', async (_case, extra, param, message) => {
      const simulator = await startSimulator();
      const response = await chat(simulator, { model: MODEL, messages: userMessages, ...extra });
      expect(response.status).toBe(400);
      const { error } = await jsonOf(response);
      expect(error).toMatchObject({ type: 'invalid_request_error', param });
      expect(error.message).toContain(message);
    });
  });

  describe('authentication', () => {
    const INCORRECT_KEY = {
      error: {
        message: 'Incorrect API key provided.',
        type: 'invalid_request_error',
        code: 'invalid_api_key',
        param: null,
      },
    };

    it.each([
      ['a missing', null],
      ['a wrong', 'sk-not-a-key-31337'],
    ])('answers 401 to %s key without echoing it', async (_case, key) => {
      const simulator = await startSimulator();
      const response = await chat(simulator, { model: MODEL, messages: userMessages }, key);
      expect(response.status).toBe(401);
      const text = await response.text();
      expect(JSON.parse(text)).toEqual(INCORRECT_KEY);
      if (key !== null) expect(text).not.toContain(key);
    });

    it('answers 401 to a revoked key while the other key still works', async () => {
      const simulator = await startSimulator();
      const revoke = await admin(simulator, 'PUT', '/keys', { revoked: ['primary'] });
      expect(revoke.status).toBe(200);
      expect(await jsonOf(revoke)).toEqual({ labels: ['primary', 'backup'], revoked: ['primary'] });

      const refused = await chat(simulator, { model: MODEL, messages: userMessages }, KEYS.primary);
      expect(refused.status).toBe(401);
      const text = await refused.text();
      expect(JSON.parse(text)).toEqual(INCORRECT_KEY);
      expect(text).not.toContain(KEYS.primary);

      expect((await chat(simulator, { model: MODEL, messages: userMessages }, KEYS.backup)).status).toBe(200);

      // The set is replaced, not added to.
      await admin(simulator, 'PUT', '/keys', { revoked: [] });
      expect((await chat(simulator, { model: MODEL, messages: userMessages }, KEYS.primary)).status).toBe(200);
    });

    it('rejects an unknown key label', async () => {
      const simulator = await startSimulator();
      const response = await admin(simulator, 'PUT', '/keys', { revoked: ['tertiary'] });
      expect(response.status).toBe(400);
      expect((await jsonOf(response)).error.message).toContain('tertiary');
    });
  });

  describe('request validation', () => {
    it('answers 404 model_not_found for an unknown model', async () => {
      const simulator = await startSimulator();
      const response = await chat(simulator, { model: 'gpt-nope', messages: userMessages });
      expect(response.status).toBe(404);
      expect((await jsonOf(response)).error).toMatchObject({ type: 'invalid_request_error', code: 'model_not_found' });
    });

    it.each([
      ['missing messages', { model: MODEL }],
      ['empty messages', { model: MODEL, messages: [] }],
    ])('answers 400 for %s', async (_case, body) => {
      const simulator = await startSimulator();
      const response = await chat(simulator, body);
      expect(response.status).toBe(400);
      expect((await jsonOf(response)).error).toMatchObject({ type: 'invalid_request_error', param: 'messages' });
    });

    it('answers 400 for a body that is not JSON', async () => {
      const simulator = await startSimulator();
      const response = await chat(simulator, '{"model": ');
      expect(response.status).toBe(400);
      expect((await jsonOf(response)).error.type).toBe('invalid_request_error');
    });

    it('answers 404 in the OpenAI error shape for any other URL', async () => {
      const simulator = await startSimulator();
      const response = await fetch(`${simulator.url}/embeddings`, { method: 'POST' });
      expect(response.status).toBe(404);
      expect((await jsonOf(response)).error).toEqual({
        message: 'Invalid URL (POST /v1/embeddings)',
        type: 'invalid_request_error',
        param: null,
        code: null,
      });
    });
  });

  describe('GET /v1/models', () => {
    it('lists the models to an authenticated client', async () => {
      const simulator = await startSimulator();
      const response = await fetch(`${simulator.url}/models`, { headers: { authorization: `Bearer ${KEYS.backup}` } });
      expect(response.status).toBe(200);
      expect(await jsonOf(response)).toEqual({
        object: 'list',
        data: [MODEL, OTHER_MODEL].map((id) => ({
          id,
          object: 'model',
          created: expect.any(Number),
          owned_by: 'switchyard-simulator',
        })),
      });
    });

    it('requires a key', async () => {
      const simulator = await startSimulator();
      expect((await fetch(`${simulator.url}/models`)).status).toBe(401);
    });
  });

  describe('admin API', () => {
    it('lists the profiles: defaults merged with the per-model options', async () => {
      const simulator = await startSimulator();
      const profiles = await jsonOf(admin(simulator, 'GET', '/profiles'));
      expect(profiles[MODEL]).toEqual({
        latencyMs: { median: 0, p99: 0 },
        errorRate: 0,
        errorStatus: 500,
        rateLimitRate: 0,
        retryAfterSeconds: 1,
        tokensPerSecond: 0,
        streamFailureRate: 0,
        completionTokens: 16,
        emptyAnswerRate: 0,
        refusalRate: 0,
        invalidJsonRate: 0,
        toolCallRate: 0,
        malformedToolCallRate: 0,
        malformedFirstEventRate: 0,
        malformedEventRate: 0,
      });
      expect(profiles[OTHER_MODEL].completionTokens).toBe(6);
    });

    it('applies errorRate 1 at runtime: every call gets the error status', async () => {
      const simulator = await startSimulator();
      const update = await admin(simulator, 'PUT', `/profiles/${MODEL}`, { errorRate: 1, errorStatus: 503 });
      expect(update.status).toBe(200);
      expect(await jsonOf(update)).toMatchObject({ errorRate: 1, errorStatus: 503, completionTokens: 16 });

      expect(await statuses(simulator, 5)).toEqual([503, 503, 503, 503, 503]);
      const response = await chat(simulator, { model: MODEL, messages: userMessages });
      expect((await jsonOf(response)).error.type).toBe('server_error');
      // Other models keep their own profile.
      expect(await statuses(simulator, 2, OTHER_MODEL)).toEqual([200, 200]);
    });

    it('applies rateLimitRate 1 at runtime: 429 with Retry-After', async () => {
      const simulator = await startSimulator();
      await admin(simulator, 'PUT', `/profiles/${MODEL}`, { rateLimitRate: 1, retryAfterSeconds: 3 });

      const response = await chat(simulator, { model: MODEL, messages: userMessages, stream: true });
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('3');
      expect((await jsonOf(response)).error).toMatchObject({ code: 'rate_limit_exceeded' });
    });

    it('refuses a bad profile with a message naming the field, and an unknown model with 404', async () => {
      const simulator = await startSimulator();
      const bad = await admin(simulator, 'PUT', `/profiles/${MODEL}`, { errorRate: 1.5 });
      expect(bad.status).toBe(400);
      expect((await jsonOf(bad)).error.message).toContain('errorRate must be a number between 0 and 1');

      const inverted = await admin(simulator, 'PUT', `/profiles/${MODEL}`, { latencyMs: { median: 100, p99: 10 } });
      expect((await jsonOf(inverted)).error.message).toContain('latencyMs.p99 must be >= latencyMs.median');

      const unknown = await admin(simulator, 'PUT', '/profiles/gpt-nope', { errorRate: 0 });
      expect(unknown.status).toBe(404);

      // Nothing was applied.
      expect((await jsonOf(admin(simulator, 'GET', '/profiles')))[MODEL].errorRate).toBe(0);
    });

    it('counts calls per model, per key label and per status, without key values', async () => {
      const simulator = await startSimulator();
      await statuses(simulator, 2);
      await (await chat(simulator, { model: OTHER_MODEL, messages: userMessages, stream: true }, KEYS.backup)).text();
      await (await chat(simulator, { model: MODEL, messages: userMessages }, 'sk-wrong')).text();
      await (await chat(simulator, { model: 'gpt-nope', messages: userMessages })).text();

      const snapshot = await stats(simulator);
      expect(snapshot).toMatchObject({
        total: 5,
        byModel: { [MODEL]: 2, [OTHER_MODEL]: 1 },
        byKey: { primary: 3, backup: 1 },
        byStatus: { '200': 3, '401': 1, '404': 1 },
        unauthorized: 1,
        aborted: 0,
        streamFailures: 0,
        malformedEvents: 0,
        errorEvents: 0,
      });
      expect(snapshot.recent).toHaveLength(5);
      expect(snapshot.recent[2]).toEqual({
        at: expect.any(String),
        model: OTHER_MODEL,
        keyLabel: 'backup',
        stream: true,
        status: 200,
      });
      const text = JSON.stringify(snapshot);
      expect(text).not.toContain(KEYS.primary);
      expect(text).not.toContain(KEYS.backup);
    });

    it('reset restores profiles and keys, zeroes stats and replays the same outcomes', async () => {
      const simulator = await startSimulator({ models: [{ id: MODEL, profile: { errorRate: 0.5 } }] });
      const before = await statuses(simulator, 12);
      await admin(simulator, 'PUT', `/profiles/${MODEL}`, { errorRate: 1 });
      await admin(simulator, 'PUT', '/keys', { revoked: ['primary'] });

      const reset = await admin(simulator, 'POST', '/reset');
      expect(reset.status).toBe(204);

      expect((await jsonOf(admin(simulator, 'GET', '/profiles')))[MODEL].errorRate).toBe(0.5);
      expect((await stats(simulator)).total).toBe(0);
      expect(await statuses(simulator, 12)).toEqual(before);
    });
  });

  describe('request recording', () => {
    it('keeps the last N request bodies as sent once asked to, and nothing before', async () => {
      const simulator = await startSimulator();
      await statuses(simulator, 1);
      expect(await jsonOf(admin(simulator, 'GET', '/requests'))).toEqual({ recording: 0, requests: [] });

      expect(await jsonOf(admin(simulator, 'PUT', '/recording', { requests: 2 }))).toEqual({ requests: 2 });
      for (const temperature of [0.1, 0.2, 0.3]) {
        await (await chat(simulator, { model: MODEL, messages: userMessages, temperature }, KEYS.backup)).text();
      }
      const { recording, requests } = await jsonOf(admin(simulator, 'GET', '/requests'));
      expect(recording).toBe(2);
      expect(requests).toEqual(
        [0.2, 0.3].map((temperature) => ({
          at: expect.any(String),
          model: MODEL,
          keyLabel: 'backup',
          body: { model: MODEL, messages: userMessages, temperature },
        })),
      );
      expect(JSON.stringify(requests)).not.toContain(KEYS.backup);

      const bad = await admin(simulator, 'PUT', '/recording', { requests: -1 });
      expect(bad.status).toBe(400);
      await admin(simulator, 'POST', '/reset');
      expect(await jsonOf(admin(simulator, 'GET', '/requests'))).toEqual({ recording: 0, requests: [] });
    });
  });

  describe('reconfigure', () => {
    it('adds and removes models and keys at run time; models that stay keep their state', async () => {
      const simulator = await startSimulator();
      await admin(simulator, 'PUT', `/profiles/${MODEL}`, { errorRate: 1 });
      simulator.reconfigure({
        models: [{ id: MODEL }, { id: 'sim-new', profile: { completionTokens: 3 } }],
        apiKeys: { primary: KEYS.primary, rotated: 'sk-sim-rotated-0a1b2c3d' },
      });
      expect((await chat(simulator, { model: MODEL, messages: userMessages })).status).toBe(500);
      const added = await chat(simulator, { model: 'sim-new', messages: userMessages }, 'sk-sim-rotated-0a1b2c3d');
      expect(added.status).toBe(200);
      expect((await jsonOf(added)).usage.completion_tokens).toBe(3);
      expect((await chat(simulator, { model: OTHER_MODEL, messages: userMessages })).status).toBe(404);
      expect((await chat(simulator, { model: 'sim-new', messages: userMessages }, KEYS.backup)).status).toBe(401);

      // A profile changed in the configuration replaces the one set at run time.
      simulator.reconfigure({ models: [{ id: MODEL, profile: { completionTokens: 4 } }], apiKeys: KEYS });
      expect((await chat(simulator, { model: MODEL, messages: userMessages })).status).toBe(200);
      expect(() => simulator.reconfigure({ models: [], apiKeys: KEYS })).toThrow('models must list at least one model');
    });
  });

  describe('scripted faults', () => {
    it('answers the next N calls with the scripted status and headers, then goes back to the profile', async () => {
      const simulator = await startSimulator();
      const queued = await jsonOf(
        admin(simulator, 'POST', `/faults/${MODEL}`, { status: 429, count: 2, retryAfterSeconds: 3 }),
      );
      expect(queued).toEqual({ queued: 2 });
      await admin(simulator, 'POST', `/faults/${MODEL}`, { status: 502, retryAfterMs: 150 });

      const first = await chat(simulator, { model: MODEL, messages: userMessages });
      expect(first.status).toBe(429);
      expect(first.headers.get('retry-after')).toBe('3');
      expect((await chat(simulator, { model: MODEL, messages: userMessages })).status).toBe(429);
      const third = await chat(simulator, { model: MODEL, messages: userMessages });
      expect(third.status).toBe(502);
      expect(third.headers.get('retry-after-ms')).toBe('150');
      expect((await chat(simulator, { model: MODEL, messages: userMessages })).status).toBe(200);
      // Faults are per model: the other model never saw them.
      expect((await chat(simulator, { model: OTHER_MODEL, messages: userMessages })).status).toBe(200);
    });

    it('answers with the scripted message when one is given', async () => {
      const simulator = await startSimulator();
      await admin(simulator, 'POST', `/faults/${MODEL}`, { status: 400, message: 'that key is not allowed here' });
      const response = await chat(simulator, { model: MODEL, messages: userMessages });
      expect(response.status).toBe(400);
      expect((await jsonOf(response)).error).toMatchObject({
        type: 'invalid_request_error',
        message: 'that key is not allowed here',
      });
    });

    it('sends a fault asStreamEvent as the first event of a 200 stream to a streamed call, as its status to a plain one', async () => {
      const simulator = await startSimulator();
      await admin(simulator, 'POST', `/faults/${MODEL}`, { status: 429, count: 2, asStreamEvent: true });
      await admin(simulator, 'POST', `/faults/${MODEL}`, { status: 401, asStreamEvent: true });

      const streamed = await chat(simulator, { model: MODEL, messages: userMessages, stream: true });
      expect(streamed.status).toBe(200);
      expect(streamed.headers.get('content-type')).toBe('text/event-stream');
      // The body a 429 would have had, as the stream's only event: no [DONE] after it.
      expect(parseSse(await streamed.text())).toEqual({
        chunks: [
          {
            error: {
              message: `Rate limit reached for ${MODEL} (scripted).`,
              type: 'requests',
              param: null,
              code: 'rate_limit_exceeded',
            },
          },
        ],
        done: false,
      });
      const plain = await chat(simulator, { model: MODEL, messages: userMessages });
      expect(plain.status).toBe(429);
      const refused = await chat(simulator, { model: MODEL, messages: userMessages, stream: true });
      expect(parseSse(await refused.text()).chunks).toEqual([
        {
          error: {
            message: 'Incorrect API key provided.',
            type: 'invalid_request_error',
            param: null,
            code: 'invalid_api_key',
          },
        },
      ]);
      const after = await chat(simulator, { model: MODEL, messages: userMessages, stream: true });
      expect(parseSse(await after.text()).done).toBe(true);
      expect(await stats(simulator)).toMatchObject({ byStatus: { '200': 3, '429': 1 }, errorEvents: 2 });
    });

    it('rejects a malformed fault with the field named', async () => {
      const simulator = await startSimulator();
      const response = await admin(simulator, 'POST', `/faults/${MODEL}`, { status: 200, count: 0, asStreamEvent: 1 });
      expect(response.status).toBe(400);
      const body = await jsonOf(response);
      expect(body.error.message).toContain('status must be an HTTP error status between 400 and 599');
      expect(body.error.message).toContain('count must be an integer between 1 and 10000');
      expect(body.error.message).toContain('asStreamEvent must be a boolean');
    });
  });

  describe('seeded outcomes', () => {
    const flaky = { models: [{ id: MODEL, profile: { errorRate: 0.5 } }] };

    it('gives the same status sequence on two servers with the same seed and profile', async () => {
      const first = await startSimulator({ ...flaky, seed: 7 });
      const second = await startSimulator({ ...flaky, seed: 7 });
      const sequence = await statuses(first, 20);
      expect(await statuses(second, 20)).toEqual(sequence);
      expect(sequence).toContain(200);
      expect(sequence).toContain(500);
    });

    it('gives a different sequence with another seed', async () => {
      const first = await startSimulator({ ...flaky, seed: 7 });
      const second = await startSimulator({ ...flaky, seed: 8 });
      expect(await statuses(second, 20)).not.toEqual(await statuses(first, 20));
    });
  });
});
