import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createTestDatabase, queryRows } from './support/test-database';
import { bearer, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { rawRequest } from './support/raw-http';
import { PACED_MAX_EVENTS, ScriptedUpstream } from './support/scripted-upstream';
import { eventually } from './support/webhook-server';

/** A streamed completion whose response the client does not read until `read()` is called. */
async function pausedStream(gateway: TestApp, model: string) {
  const url = new URL(gateway.url);
  const body = JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'Tell me everything.' }] });
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
  // Paused: nothing is read from the socket beyond the stream's small internal buffer.
  res.pause();
  return {
    status: res.statusCode,
    requestId: res.headers['x-switchyard-request-id'] as string,
    /** Reads the rest; resolves with the events received and whether the response ended whole. */
    read: () =>
      new Promise<{ contentEvents: number[]; done: boolean; complete: boolean }>((resolve) => {
        const contentEvents: number[] = [];
        let done = false;
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (text: string) => {
          pending += text;
          let boundary = pending.indexOf('\n\n');
          while (boundary !== -1) {
            const event = pending.slice(0, boundary);
            pending = pending.slice(boundary + 2);
            if (event === 'data: [DONE]') done = true;
            const content = /"content":"(\d+):/.exec(event);
            if (content) contentEvents.push(Number(content[1]));
            boundary = pending.indexOf('\n\n');
          }
        });
        const finish = () => resolve({ contentEvents, done, complete: res.complete });
        res.on('end', finish);
        res.on('error', finish);
        res.on('aborted', finish);
        res.resume();
      }),
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
        ...['oversized', 'oversized-event', 'oversized-error', 'error-first'].map((id) => ({
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
      // A small bound on what one answer or stream event may weigh, under the 3 MB the upstream sends.
      env: { SIMULATED_API_KEY: 'sk-test-scripted', GATEWAY_ANSWER_LIMIT: '1mb' },
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await database?.drop();
    await upstream.stop();
  });

  describe('a stream goes at the pace of its slower side', () => {
    it('holds the upstream back while the client does not read, and then delivers every event', async () => {
      const stream = await pausedStream(gateway, 'paced');
      expect(stream.status).toBe(200);
      // The gateway stops reading from the upstream instead of queueing the answer in its memory.
      const call = await eventually(
        () => upstream.latest()?.heldBack && upstream.latest(),
        15_000,
        'the upstream held back',
      );
      expect(call.sent).toBeLessThan(PACED_MAX_EVENTS);

      const received = await stream.read();
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
      const stream = await pausedStream(gateway, 'paced-strict');
      expect(stream.status).toBe(200);
      const call = await eventually(
        () => upstream.latest()?.model === 'paced' && upstream.latest()?.cutOff && upstream.latest(),
        15_000,
        'the upstream call cut off',
      );
      expect(call.sent).toBeLessThan(PACED_MAX_EVENTS);

      const received = await stream.read();
      expect(received.done).toBe(false);
      expect(received.complete).toBe(false);
      expect(await metricRow(stream.requestId)).toMatchObject({ outcome: 'client_aborted', http_status: 499 });
    });

    it('ends a stream whose upstream falls silent for the model’s timeout with an error event and [DONE]', async () => {
      const response = await rawRequest(gateway.url, {
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { authorization: bearer(gateway.adminKey!), 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'falls-silent', stream: true, messages: [{ role: 'user', content: 'Hello?' }] }),
      });
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

  it('closes the upstream call of a stream whose first event is an error, however long the upstream keeps it open', async () => {
    const response = await rawRequest(gateway.url, {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { authorization: bearer(gateway.adminKey!), 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'error-first', stream: true, messages: [{ role: 'user', content: 'Hello?' }] }),
    });
    expect(response.status).toBe(200);
    const events = response.text.split('\n\n').filter((event) => event !== '');
    expect(JSON.parse(events[0].slice('data: '.length)).error.code).toBe('upstream_stream_error');
    expect(events.slice(1)).toEqual(['data: [DONE]']);
    await eventually(() => upstream.callsTo('error-first')[0]?.cutOff, 5000, 'the upstream call closed');
  });

  describe('an answer has a size bound (GATEWAY_ANSWER_LIMIT)', () => {
    const completion = (body: Record<string, unknown>) =>
      rawRequest(gateway.url, {
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { authorization: bearer(gateway.adminKey!), 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'Say a lot.' }], ...body }),
      });
    const LIMIT_MESSAGE = 'larger than 1048576 bytes (GATEWAY_ANSWER_LIMIT)';

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
});
