import { once } from 'node:events';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestDatabase, queryRows } from './support/test-database';
import { bearer, startTestApp, writeTestCatalog, type TestApp } from './support/test-app';
import { rawRequest } from './support/raw-http';
import { eventually } from './support/webhook-server';

/** What the scripted upstream saw of one streamed call. */
interface UpstreamCall {
  model: string;
  /** Content events written so far. */
  sent: number;
  /** The gateway stopped reading for a whole second: its reader (the client) held it back. */
  heldBack: boolean;
  /** The gateway closed the call before the stream's end. */
  cutOff: boolean;
}

const EVENT_CONTENT = 'x'.repeat(16 * 1024);
/** Far more than every socket buffer between the upstream and a client that does not read. */
const MAX_EVENTS = 8_192;

const head = (model: string) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-paced', object: 'chat.completion.chunk', created: 0, model, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })}\n\n`;
const contentEvent = (model: string, n: number) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-paced', object: 'chat.completion.chunk', created: 0, model, choices: [{ index: 0, delta: { content: `${n}:${EVENT_CONTENT}` }, finish_reason: null }] })}\n\n`;
const finalEvents = (model: string, n: number) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-paced', object: 'chat.completion.chunk', created: 0, model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: n, total_tokens: n + 5 } })}\n\ndata: [DONE]\n\n`;

/**
 * An OpenAI-compatible upstream that streams as its reader lets it: `paced` writes 16 KB events,
 * waiting for `drain` as a well-behaved server does, until the reader has held it back for a
 * second (or MAX_EVENTS), then finishes once it may; `falls-silent` sends two events and then
 * nothing, keeping the connection open.
 */
class ScriptedUpstream {
  readonly calls: UpstreamCall[] = [];
  private server!: Server;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.answer(req, res));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  latest(): UpstreamCall {
    return this.calls[this.calls.length - 1];
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const model = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string }).model;
    const call: UpstreamCall = { model, sent: 0, heldBack: false, cutOff: false };
    this.calls.push(call);
    res.on('close', () => (call.cutOff = !res.writableFinished));
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(head(model));
    if (model === 'falls-silent') {
      res.write(contentEvent(model, 0));
      res.write(contentEvent(model, 1));
      call.sent = 2;
      return;
    }
    while (call.sent < MAX_EVENTS && !res.destroyed) {
      if (res.write(contentEvent(model, call.sent++))) continue;
      const drained = await drainWithin(res, 1000);
      if (drained) continue;
      call.heldBack = true;
      if (!(await drainWithin(res, 60_000))) return;
      break;
    }
    if (!res.destroyed) res.end(finalEvents(model, call.sent));
  }
}

/** True on `drain`; false after `ms` or when the response closes first. */
function drainWithin(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const settle = (drained: boolean) => {
      clearTimeout(timer);
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(drained);
    };
    const onDrain = () => settle(true);
    const onClose = () => settle(false);
    const timer = setTimeout(() => settle(false), ms);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

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

describe('gateway: a stream goes at the pace of its slower side', () => {
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
      );
    });
    gateway = await startTestApp({
      databaseUrl: database.url,
      catalog,
      env: { SIMULATED_API_KEY: 'sk-test-scripted' },
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await database?.drop();
    await upstream.stop();
  });

  it('holds the upstream back while the client does not read, and then delivers every event', async () => {
    const stream = await pausedStream(gateway, 'paced');
    expect(stream.status).toBe(200);
    // The gateway stops reading from the upstream instead of queueing the answer in its memory.
    const call = await eventually(
      () => upstream.latest()?.heldBack && upstream.latest(),
      15_000,
      'the upstream held back',
    );
    expect(call.sent).toBeLessThan(MAX_EVENTS);

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
    expect(call.sent).toBeLessThan(MAX_EVENTS);

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
