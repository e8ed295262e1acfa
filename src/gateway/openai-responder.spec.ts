import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { AnswerParser } from '../providers/answer-parser';
import { UnknownModel } from '../routing/routing.errors';
import type { UpstreamStreamAnswer } from '../providers/upstream';
import { UpstreamRateLimited } from '../providers/provider-errors';
import { type Delivery, type ErrorAnswered, OpenAiResponder } from './openai-responder';
import { RequestTiming } from './request-timing';

const chunk = (content: string) => `data: {"choices":[{"index":0,"delta":{"content":"${content}"}}]}`;
const USAGE = 'data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2}}';

function stream(events: string[]): UpstreamStreamAnswer {
  async function* rest() {
    yield* events.slice(1);
  }
  return {
    kind: 'stream',
    firstEvent: events[0],
    rest: rest(),
    attempts: 1,
    upstreamLatencyMs: 1,
    silenceLimitMs: 30_000,
  };
}

/** OpenAiResponder writing to real responses of a loopback server, read by a real client. */
describe('OpenAiResponder', () => {
  const parser = new AnswerParser();
  const responder = new OpenAiResponder(parser);
  let server: Server;
  let url: string;
  let handle: (res: ServerResponse) => Promise<Delivery | ErrorAnswered>;
  let result: Delivery | ErrorAnswered;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    server = createServer((_req: IncomingMessage, res: ServerResponse) => {
      void handle(res).then((outcome) => (result = outcome));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await parser.onModuleDestroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const events = (text: string) => text.split('\n\n').filter((event) => event.trim() !== '');

  it('relays the stream, drops the usage chunk the client did not ask for but counts it, and ends with [DONE]', async () => {
    handle = (res) =>
      responder.deliver(res, stream([chunk('Hel'), chunk('lo'), USAGE, 'data: [DONE]']), false, new RequestTiming());
    const response = await fetch(url);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(events(await response.text())).toEqual([chunk('Hel'), chunk('lo'), 'data: [DONE]']);
    expect(result).toMatchObject({ usage: { promptTokens: 9, completionTokens: 2 }, broke: false });
  });

  it("replaces an upstream's error event with its own, whatever the upstream wrote in it", async () => {
    const upstreamError = 'data: {"error":{"message":"key sk-secret-123 was refused","type":"server_error"}}';
    handle = (res) =>
      responder.deliver(res, stream([chunk('Hel'), upstreamError, chunk('lo')]), true, new RequestTiming());
    const received = events(await (await fetch(url)).text());
    expect(received[0]).toBe(chunk('Hel'));
    expect(received.slice(1)).toEqual([expect.stringContaining('upstream_stream_error'), 'data: [DONE]']);
    expect(received.join('\n')).not.toContain('sk-secret-123');
    expect(result).toMatchObject({ broke: true });
  });

  it.each([
    ['a chunk cut off', 'data: {"choices":[{"index":0,"delta":{"cont'],
    ['text', 'data: upstream overloaded, try again'],
    ['JSON that is no object', 'data: ["lo"]'],
    ['an object without choices', 'data: {"object":"chat.completion.chunk","delta":{"content":"lo"}}'],
  ])('ends the stream at an event that is %s as at a break: an error event and [DONE]', async (_, malformed) => {
    handle = (res) =>
      responder.deliver(res, stream([chunk('Hel'), malformed, chunk('lo'), 'data: [DONE]']), true, new RequestTiming());
    const received = events(await (await fetch(url)).text());
    expect(received).toEqual([chunk('Hel'), expect.stringContaining('upstream_stream_error'), 'data: [DONE]']);
    expect(result).toMatchObject({ broke: true });
  });

  it('answers a first event that is no chunk the same way, never passing it on', async () => {
    handle = (res) =>
      responder.deliver(res, stream(['data: {"choices":[', chunk('lo'), 'data: [DONE]']), true, new RequestTiming());
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(events(await response.text())).toEqual([expect.stringContaining('upstream_stream_error'), 'data: [DONE]']);
    expect(result).toMatchObject({ broke: true });
  });

  it('relays what clients skip or read: a comment, the usage chunk, an event over several data lines', async () => {
    const split = 'data: {"choices":\ndata: [{"index":0,"delta":{"content":"lo"}}]}';
    handle = (res) =>
      responder.deliver(
        res,
        stream([chunk('Hel'), ': keep-alive', split, USAGE, 'data: [DONE]']),
        true,
        new RequestTiming(),
      );
    expect(events(await (await fetch(url)).text())).toEqual([
      chunk('Hel'),
      ': keep-alive',
      split,
      USAGE,
      'data: [DONE]',
    ]);
    expect(result).toMatchObject({ broke: false });
  });

  it('answers a domain error in OpenAI shape, with its status and headers', async () => {
    handle = async (res) => responder.fail(res, new UpstreamRateLimited(2500), 'req-1', new RequestTiming());
    const response = await fetch(url);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3');
    expect(await response.json()).toEqual({
      error: {
        message: expect.stringContaining('rate limiting'),
        type: 'rate_limit_error',
        code: 'rate_limit_exceeded',
        param: null,
      },
    });
    expect(result).toEqual({ status: 429, errorType: 'rate_limit_exceeded' });

    handle = async (res) => responder.fail(res, new UnknownModel('gpt-9'), 'req-2', new RequestTiming());
    expect(await (await fetch(url)).json()).toMatchObject({ error: { code: 'model_not_found', param: 'model' } });
  });

  it('answers an unexpected error as a 500 that names only the request id', async () => {
    handle = async (res) =>
      responder.fail(res, new Error('secret internals at /srv/app.js:12'), 'req-3', new RequestTiming());
    const response = await fetch(url);
    expect(response.status).toBe(500);
    const body = (await response.json()) as { error: unknown };
    expect(body.error).toEqual({
      message: 'Internal error; quote request id req-3 when reporting it.',
      type: 'api_error',
      code: null,
      param: null,
    });
    expect(result).toEqual({ status: 500, errorType: 'internal_error' });
  });
});
