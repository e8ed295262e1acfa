import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createTestDatabase, queryRows } from './support/test-database';
import { bearer, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { rawRequest } from './support/raw-http';
import { triesWhileProbing } from './support/loop-probe';
import { parsePrometheus, sumOf } from './support/prometheus';
import {
  JSON_FOR_STREAM,
  LARGE_BYTES,
  MANY_KEYS_COMPLETION_TOKENS,
  manyKeysAnswer,
  PACED_MAX_EVENTS,
  ScriptedUpstream,
} from './support/scripted-upstream';
import { eventually } from './support/webhook-server';

/** A completion whose response the client does not read until `readText()` or `readEvents()` is called. */
async function pausedResponse(gateway: TestApp, fields: Record<string, unknown>) {
  const url = new URL(gateway.url);
  const body = JSON.stringify({ messages: [{ role: 'user', content: 'Tell me everything.' }], ...fields });
  const req = httpRequest({
    host: url.hostname,
    port: url.port,
    method: 'POST',
    path: '/v1/chat/completions',
    headers: {
      authorization: bearer(gateway.adminKey!),
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
    },
  });
  req.end(body);
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  // Paused: nothing is read from the socket beyond the response's small internal buffer.
  res.pause();
  /** Reads the rest; resolves with the body and whether the response ended whole. */
  const readText = () =>
    new Promise<{ text: string; complete: boolean }>((resolve) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      const finish = () => resolve({ text: Buffer.concat(chunks).toString('utf8'), complete: res.complete });
      res.on('end', finish);
      res.on('error', finish);
      res.on('aborted', finish);
      res.resume();
    });
  return {
    status: res.statusCode,
    requestId: res.headers['x-switchyard-request-id'] as string,
    readText,
    /** The stream's content events (their numbers), whether [DONE] came, and whether it ended whole. */
    readEvents: async () => {
      const { text, complete } = await readText();
      const events = text.split('\n\n');
      const contentEvents = events.flatMap((event) => {
        const content = /"content":"(\d+):/.exec(event);
        return content ? [Number(content[1])] : [];
      });
      return { contentEvents, done: events.includes('data: [DONE]'), complete };
    },
  };
}

describe('gateway: an upstream that misbehaves over real HTTP', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let gateway: TestApp;
  const upstream = new ScriptedUpstream();

  const metricRow = (requestId: string) =>
    eventually(async () => {
      const [row] = await queryRows<{
        outcome: string;
        http_status: number;
        error_type: string | null;
        completion_tokens: number | null;
      }>(
        database.url,
        'SELECT outcome, http_status, error_type, completion_tokens FROM request_metrics WHERE request_id = $1',
        [requestId],
      );
      return row;
    });

  /** A completion read whole, as a client that reads at once does. */
  const completion = (body: Record<string, unknown>) =>
    rawRequest(gateway.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { authorization: bearer(gateway.adminKey!), 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Say a lot.' }], ...body }),
    });

  beforeAll(async () => {
    await upstream.start();
    database = await createTestDatabase();
    const catalog = await writeTestCatalog((c) => {
      const scripted = { ...c.providers[0], id: 'scripted', baseUrl: `http://127.0.0.1:${upstream.port}/v1` };
      // One second: the longest either side of a stream through it may stay silent.
      const strict = { ...scripted, id: 'scripted-strict', timeoutMs: 1000 };
      c.providers.push(scripted, strict);
      c.models.push(
        { ...c.models[0], id: 'paced', provider: 'scripted', upstreamModel: 'paced' },
        { ...c.models[0], id: 'paced-strict', provider: 'scripted-strict', upstreamModel: 'paced' },
        { ...c.models[0], id: 'falls-silent', provider: 'scripted-strict', upstreamModel: 'falls-silent' },
        { ...c.models[0], id: 'large-strict', provider: 'scripted-strict', upstreamModel: 'large' },
        ...[
          'oversized',
          'oversized-event',
          'oversized-error',
          'error-first',
          'large',
          'many-keys',
          'many-keys-event',
          'json-for-stream',
          'json-error-for-stream',
          'sse-labelled-json',
        ].map((id) => ({
          ...c.models[0],
          id,
          provider: 'scripted',
          upstreamModel: id,
        })),
      );
      // The oversized model first, a simulated one behind it.
      c.policies.push({
        name: 'oversized-first',
        strategy: 'cost_first',
        flag: 'oversized-first',
        defaultModel: 'oversized',
        fallback: ['gpt-4.1'],
      });
    });
    gateway = await startTestApp({
      databaseUrl: database.url,
      catalog,
      // A small bound on what one answer or stream event may weigh, under the 16 MB the upstream sends.
      env: { SIMULATED_API_KEY: 'sk-test-scripted', GATEWAY_ANSWER_LIMIT: '8mb' },
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await database?.drop();
    await upstream.stop();
  });

  describe('a stream goes at the pace of its slower side', () => {
    it('holds the upstream back while the client does not read, and then delivers every event', async () => {
      const stream = await pausedResponse(gateway, { model: 'paced', stream: true });
      expect(stream.status).toBe(200);
      // The gateway stops reading from the upstream instead of queueing the answer in its memory.
      const call = await eventually(
        () => upstream.latest()?.heldBack && upstream.latest(),
        15_000,
        'the upstream held back',
      );
      expect(call.sent).toBeLessThan(PACED_MAX_EVENTS);

      const received = await stream.readEvents();
      expect(received).toEqual({
        contentEvents: Array.from({ length: call.sent }, (_, n) => n),
        done: true,
        complete: true,
      });
      expect(call.cutOff).toBe(false);
      expect(await metricRow(stream.requestId)).toEqual({
        outcome: 'ok',
        http_status: 200,
        error_type: null,
        completion_tokens: call.sent,
      });
    });

    it('cuts off a client that reads nothing for the model’s timeout, and ends the upstream call', async () => {
      const stream = await pausedResponse(gateway, { model: 'paced-strict', stream: true });
      expect(stream.status).toBe(200);
      const call = await eventually(
        () => upstream.latest()?.model === 'paced' && upstream.latest()?.cutOff && upstream.latest(),
        15_000,
        'the upstream call cut off',
      );
      expect(call.sent).toBeLessThan(PACED_MAX_EVENTS);

      const received = await stream.readEvents();
      expect(received.done).toBe(false);
      expect(received.complete).toBe(false);
      expect(await metricRow(stream.requestId)).toMatchObject({ outcome: 'client_aborted', http_status: 499 });
    });

    it('ends a stream whose upstream falls silent for the model’s timeout with an error event and [DONE]', async () => {
      const response = await completion({ model: 'falls-silent', stream: true });
      expect(response.status).toBe(200);
      const events = response.text.split('\n\n').filter((event) => event !== '');
      expect(events.slice(1, 3).map((event) => /"content":"(\d+):/.exec(event)?.[1])).toEqual(['0', '1']);
      expect(JSON.parse(events[3].slice('data: '.length))).toEqual({
        error: {
          message: 'The upstream stream broke off before the completion finished.',
          type: 'api_error',
          code: 'upstream_stream_error',
          param: null,
        },
      });
      expect(events.slice(4)).toEqual(['data: [DONE]']);
      await eventually(
        () => upstream.latest().model === 'falls-silent' && upstream.latest().cutOff,
        5000,
        'the silent call closed',
      );
      expect(await metricRow(response.headers['x-switchyard-request-id'] as string)).toMatchObject({
        outcome: 'upstream_error',
        http_status: 200,
        error_type: 'upstream_stream_error',
      });
    });
  });

  it('answers 502 to a stream whose every attempt began with an error event, closing each call however long the upstream keeps it open', async () => {
    const response = await completion({ model: 'error-first', stream: true });
    // The server error it stands for, retried (GATEWAY_MAX_RETRIES, 2) before the client had a byte.
    expect(response.status).toBe(502);
    expect(response.headers['x-switchyard-attempts']).toBe('3');
    expect(JSON.parse(response.text).error).toMatchObject({ type: 'api_error', code: 'upstream_error' });
    const calls = upstream.callsTo('error-first');
    expect(calls).toHaveLength(3);
    await eventually(() => calls.every((call) => call.cutOff), 5000, 'every upstream call closed');
    expect(await metricRow(response.headers['x-switchyard-request-id'] as string)).toMatchObject({
      outcome: 'upstream_error',
      http_status: 502,
      error_type: 'upstream_error',
    });
  });

  it('records a large answer as served once a client that paused has read it all', async () => {
    const stream = await pausedResponse(gateway, { model: 'large' });
    expect(stream.status).toBe(200);
    // The gateway has the whole answer and has written what the sockets take; the rest waits for the client.
    await eventually(() => upstream.callsTo('large')[0]?.cutOff === false && upstream.callsTo('large')[0], 5000);
    const received = await stream.readText();
    expect(received.complete).toBe(true);
    expect(JSON.parse(received.text).choices[0].message.content).toHaveLength(LARGE_BYTES);
    expect(await metricRow(stream.requestId)).toMatchObject({ outcome: 'ok', http_status: 200, completion_tokens: 7 });
  });

  it('cuts off a client that reads nothing of a large answer for the model’s timeout', async () => {
    const response = await pausedResponse(gateway, { model: 'large-strict' });
    expect(response.status).toBe(200);
    expect(await metricRow(response.requestId)).toMatchObject({ outcome: 'client_aborted', http_status: 499 });
    const received = await response.readText();
    expect(received.complete).toBe(false);
    expect(received.text.length).toBeLessThan(LARGE_BYTES);
  });

  describe('an answer has a size bound (GATEWAY_ANSWER_LIMIT)', () => {
    const LIMIT_MESSAGE = 'larger than 8388608 bytes (GATEWAY_ANSWER_LIMIT)';

    it('stops reading a JSON answer past the bound: 502 naming it, the model not asked again', async () => {
      const response = await completion({ model: 'oversized' });
      expect(response.status).toBe(502);
      const { error } = JSON.parse(response.text);
      expect(error.code).toBe('upstream_error');
      expect(error.message).toContain(`oversized sent an answer ${LIMIT_MESSAGE}`);
      expect(upstream.callsTo('oversized')).toHaveLength(1);
      expect(await metricRow(response.headers['x-switchyard-request-id'] as string)).toMatchObject({
        outcome: 'upstream_error',
        http_status: 502,
      });
    });

    it('falls back to the next model of the policy', async () => {
      const calls = upstream.callsTo('oversized').length;
      const response = await completion({ model: 'route:oversized-first' });
      expect(response.status).toBe(200);
      expect(response.headers['x-switchyard-model']).toBe('gpt-4.1');
      expect(response.headers['x-switchyard-fallback']).toBe('true');
      expect(JSON.parse(response.text).choices[0].message.content.length).toBeGreaterThan(0);
      expect(upstream.callsTo('oversized')).toHaveLength(calls + 1);
    });

    it('stops reading an error body past the bound', async () => {
      const response = await completion({ model: 'oversized-error', stream: true });
      expect(response.status).toBe(502);
      expect(JSON.parse(response.text).error.message).toContain(
        `oversized-error sent an error answer ${LIMIT_MESSAGE}`,
      );
      expect(upstream.callsTo('oversized-error')).toHaveLength(1);
    });

    it('ends a stream whose event grows past the bound with an error event and [DONE]', async () => {
      const response = await completion({ model: 'oversized-event', stream: true });
      expect(response.status).toBe(200);
      const events = response.text.split('\n\n').filter((event) => event !== '');
      expect(/"content":"(\d+):/.exec(events[1])?.[1]).toBe('0');
      expect(JSON.parse(events[2].slice('data: '.length)).error.code).toBe('upstream_stream_error');
      expect(events.slice(3)).toEqual(['data: [DONE]']);
      expect(await metricRow(response.headers['x-switchyard-request-id'] as string)).toMatchObject({
        outcome: 'upstream_error',
        error_type: 'upstream_stream_error',
      });
    });
  });

  describe('an answer slow to parse is read off the event loop', () => {
    // Built before any try: the scripted upstream's work shares this process's event loop.
    beforeAll(() => void manyKeysAnswer());

    /** The best of up to five tries (triesWhileProbing) whose probes all answered within 100 ms. */
    async function triedWhileProbing<T>(work: () => Promise<T>) {
      const tries = await triesWhileProbing(gateway.url, work, (tried) => tried.longestUnansweredMs < 100);
      return {
        results: tries.map((tried) => tried.result),
        longestUnansweredMs: Math.min(...tries.map((tried) => tried.longestUnansweredMs)),
      };
    }

    it('passes on a JSON answer of 7 MB of different keys byte for byte and records its usage, while /health/live answers within 100 ms', async () => {
      const { results, longestUnansweredMs } = await triedWhileProbing(() => completion({ model: 'many-keys' }));
      expect(longestUnansweredMs).toBeLessThan(100);
      for (const response of results) {
        expect(response.status).toBe(200);
        // Compared as one boolean: a 7 MB diff helps nobody.
        expect(response.text === manyKeysAnswer()).toBe(true);
        expect(await metricRow(response.headers['x-switchyard-request-id'] as string)).toMatchObject({
          outcome: 'ok',
          completion_tokens: MANY_KEYS_COMPLETION_TOKENS,
        });
      }
    });

    it('relays a stream event of 7 MB of different keys as it came and records the usage it carries, while /health/live answers within 100 ms', async () => {
      const { results, longestUnansweredMs } = await triedWhileProbing(() =>
        completion({ model: 'many-keys-event', stream: true }),
      );
      expect(longestUnansweredMs).toBeLessThan(100);
      for (const response of results) {
        expect(response.status).toBe(200);
        const events = response.text.split('\n\n').filter((event) => event !== '');
        expect(events).toHaveLength(3);
        expect(events[1].length).toBeGreaterThan(7 * 1024 * 1024);
        expect(JSON.parse(events[1].slice('data: '.length)).choices[0].delta.content).toBe('Here.');
        expect(events[2]).toBe('data: [DONE]');
        expect(await metricRow(response.headers['x-switchyard-request-id'] as string)).toMatchObject({
          outcome: 'ok',
          completion_tokens: MANY_KEYS_COMPLETION_TOKENS,
        });
      }
    });
  });

  it('reports the answer parser on /metrics: its worker started once by the first large answer, nothing failed or went unread', async () => {
    expect((await completion({ model: 'many-keys' })).status).toBe(200);
    const response = await rawRequest(gateway.url, {
      method: 'GET',
      path: '/metrics',
      headers: { authorization: bearer(gateway.adminKey!) },
    });
    // Only these series: prom-client's default ones may print "Nan".
    const samples = parsePrometheus(
      response.text
        .split('\n')
        .filter((line) => /^switchyard_(answer_parser|answers_unread)_/.test(line))
        .join('\n'),
    );
    expect({
      starts: sumOf(samples, 'switchyard_answer_parser_worker_starts_total'),
      failures: sumOf(samples, 'switchyard_answer_parser_failures_total'),
      unread: sumOf(samples, 'switchyard_answers_unread_total'),
    }).toEqual({ starts: 1, failures: 0, unread: 0 });
  });

  describe('an upstream that answers a stream request with plain JSON', () => {
    const dataOf = (event: string) => JSON.parse(event.slice('data: '.length)) as Record<string, unknown>;

    it('gives the client the stream the completion would have been, and records its usage', async () => {
      const response = await completion({ model: 'json-for-stream', stream: true });
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/event-stream/);
      const events = response.text.split('\n\n').filter((event) => event !== '');
      expect(events).toHaveLength(2);
      expect(dataOf(events[0])).toMatchObject({
        id: 'chatcmpl-json',
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { role: 'assistant', content: JSON_FOR_STREAM.content }, finish_reason: 'stop' }],
      });
      expect(events[1]).toBe('data: [DONE]');
      expect(await metricRow(response.headers['x-switchyard-request-id'] as string)).toMatchObject({
        outcome: 'ok',
        completion_tokens: JSON_FOR_STREAM.completionTokens,
      });
    });

    it('adds the usage chunk for a client that asked for it', async () => {
      const response = await completion({
        model: 'json-for-stream',
        stream: true,
        stream_options: { include_usage: true },
      });
      const events = response.text.split('\n\n').filter((event) => event !== '');
      expect(events).toHaveLength(3);
      expect(dataOf(events[1])).toMatchObject({
        choices: [],
        usage: { completion_tokens: JSON_FOR_STREAM.completionTokens },
      });
      expect(events[2]).toBe('data: [DONE]');
    });

    it('still relays an event stream that an upstream labels as JSON', async () => {
      const response = await completion({ model: 'sse-labelled-json', stream: true });
      expect(response.status).toBe(200);
      const events = response.text.split('\n\n').filter((event) => event !== '');
      expect(events.map((event) => (event.startsWith('data: {') ? dataOf(event).choices : event))).toEqual([
        [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
        [{ index: 0, delta: { content: 'Labelled wrong.' }, finish_reason: null }],
        [{ index: 0, delta: {}, finish_reason: 'stop' }],
        'data: [DONE]',
      ]);
      expect(await metricRow(response.headers['x-switchyard-request-id'] as string)).toMatchObject({
        outcome: 'ok',
        completion_tokens: 2,
      });
    });

    it('fails an attempt whose JSON is no completion as it fails a broken stream: the client gets no 200', async () => {
      const response = await completion({ model: 'json-error-for-stream', stream: true });
      expect(response.status).toBe(502);
      expect(JSON.parse(response.text).error.code).toBe('upstream_error');
      expect(await metricRow(response.headers['x-switchyard-request-id'] as string)).toMatchObject({
        outcome: 'upstream_error',
      });
    });
  });
});
