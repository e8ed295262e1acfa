import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the scripted upstream saw of one call. */
export interface ScriptedCall {
  /** The upstream model the gateway asked for: it picks the behaviour. */
  model: string;
  /** Content events written so far (`paced`, `falls-silent`). */
  sent: number;
  /** The gateway stopped reading for a whole second: its reader (the client) held it back. */
  heldBack: boolean;
  /** The gateway closed the call before the answer's end. */
  cutOff: boolean;
}

/** Far more than every socket buffer between the upstream and a client that does not read. */
export const PACED_MAX_EVENTS = 8_192;
/** What the `oversized*` behaviours send in one piece that never ends early: 16 MB. */
export const OVERSIZED_BYTES = 16 * 1024 * 1024;
/** What `large` sends: more than the loopback's socket buffers take, under the 8 MB bound the spec sets. */
export const LARGE_BYTES = 7 * 1024 * 1024;
/** The completion tokens the `many-keys` answer and the `many-keys-event` stream report in their usage. */
export const MANY_KEYS_COMPLETION_TOKENS = 13;

let manyKeys: string | undefined;
/**
 * `"metadata":{...}` of ~7 MB of different keys (under the spec's 8 MB bound): JSON.parse takes
 * hundreds of milliseconds on it, a hostile or broken upstream's worst shape of answer.
 */
function manyKeysField(): string {
  if (manyKeys === undefined) {
    const entries: string[] = [];
    for (let i = 0, bytes = 0; bytes < 7 * 1024 * 1024; i++) {
      const entry = `"key-${i}":${i}`;
      entries.push(entry);
      bytes += entry.length + 1;
    }
    manyKeys = `"metadata":{${entries.join(',')}}`;
  }
  return manyKeys;
}

/** What `json-for-stream` answers: the completion's text and its completion tokens. */
export const JSON_FOR_STREAM = { content: 'Here is the whole answer at once.', completionTokens: 9 };

/** The `many-keys` answer, byte for byte. */
export function manyKeysAnswer(): string {
  const usage = { prompt_tokens: 5, completion_tokens: MANY_KEYS_COMPLETION_TOKENS, total_tokens: 18 };
  return `{"id":"chatcmpl-scripted","object":"chat.completion","created":0,"model":"many-keys","choices":[{"index":0,"message":{"role":"assistant","content":"Here."},"finish_reason":"stop"}],"usage":${JSON.stringify(usage)},${manyKeysField()}}`;
}

const EVENT_CONTENT = 'x'.repeat(16 * 1024);

const chunkEvent = (model: string, delta: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-scripted',
    object: 'chat.completion.chunk',
    created: 0,
    model,
    choices: [{ index: 0, delta, finish_reason: extra.usage ? 'stop' : null }],
    ...extra,
  })}\n\n`;
const contentEvent = (model: string, n: number) => chunkEvent(model, { content: `${n}:${EVENT_CONTENT}` });

/**
 * An OpenAI-compatible upstream on loopback whose behaviour the requested model names, for what
 * the simulated provider does not do:
 * - `paced` streams 16 KB events, waiting for `drain` as a well-behaved server does, until its
 *   reader has held it back for a second (or PACED_MAX_EVENTS), then finishes once it may;
 * - `falls-silent` streams two events and then nothing, keeping the connection open;
 * - `error-first` streams an error event as its first and then nothing, keeping the connection open;
 * - `oversized` answers a JSON completion of OVERSIZED_BYTES of content, `large` one of LARGE_BYTES;
 * - `oversized-event` streams one event, then one event that grows to OVERSIZED_BYTES and never ends;
 * - `oversized-error` answers 500 with a body of OVERSIZED_BYTES;
 * - `json-for-stream` answers a JSON completion (JSON_FOR_STREAM) whether or not a stream was asked for;
 *   `json-error-for-stream` answers 200 with a JSON error object; `sse-labelled-json` streams events
 *   under `content-type: application/json`;
 * - `many-keys` answers manyKeysAnswer(); `many-keys-event` streams a role event, one event with
 *   content, the usage and the same metadata, and [DONE].
 */
export class ScriptedUpstream {
  readonly calls: ScriptedCall[] = [];
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

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  latest(): ScriptedCall {
    return this.calls[this.calls.length - 1];
  }

  callsTo(model: string): ScriptedCall[] {
    return this.calls.filter((call) => call.model === model);
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const model = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string }).model;
    const call: ScriptedCall = { model, sent: 0, heldBack: false, cutOff: false };
    this.calls.push(call);
    res.on('close', () => (call.cutOff = !res.writableFinished));
    switch (model) {
      case 'oversized':
        return jsonAnswer(res, model, OVERSIZED_BYTES);
      case 'large':
        return jsonAnswer(res, model, LARGE_BYTES);
      case 'oversized-error':
        res.writeHead(500, { 'content-type': 'text/plain' });
        await writeInPieces(res, 'e'.repeat(OVERSIZED_BYTES));
        return void res.end();
      case 'oversized-event':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunkEvent(model, { role: 'assistant', content: '' }));
        res.write(contentEvent(model, 0));
        await writeInPieces(res, `data: {"choices":[{"index":0,"delta":{"content":"${'y'.repeat(OVERSIZED_BYTES)}`);
        return;
      case 'json-for-stream': {
        const usage = { prompt_tokens: 5, completion_tokens: JSON_FOR_STREAM.completionTokens, total_tokens: 14 };
        const message = { role: 'assistant', content: JSON_FOR_STREAM.content };
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        return void res.end(
          JSON.stringify({
            id: 'chatcmpl-json',
            object: 'chat.completion',
            created: 0,
            model,
            choices: [{ index: 0, message, finish_reason: 'stop' }],
            usage,
          }),
        );
      }
      case 'sse-labelled-json': {
        const usage = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(chunkEvent(model, { role: 'assistant', content: '' }));
        res.write(chunkEvent(model, { content: 'Labelled wrong.' }));
        return void res.end(`${chunkEvent(model, {}, { usage })}data: [DONE]\n\n`);
      }
      case 'json-error-for-stream':
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ error: { message: 'overloaded', type: 'server_error' } }));
      case 'many-keys':
        res.writeHead(200, { 'content-type': 'application/json' });
        await writeInPieces(res, manyKeysAnswer());
        return void res.end();
      case 'many-keys-event': {
        const usage = { prompt_tokens: 5, completion_tokens: MANY_KEYS_COMPLETION_TOKENS, total_tokens: 18 };
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunkEvent(model, { role: 'assistant', content: '' }));
        const event = chunkEvent(model, { content: 'Here.' }, { usage });
        await writeInPieces(res, `${event.slice(0, -3)},${manyKeysField()}}\n\n`);
        return void res.end('data: [DONE]\n\n');
      }
      case 'error-first':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify({ error: { message: 'overloaded', type: 'server_error' } })}\n\n`);
        return;
      case 'falls-silent':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunkEvent(model, { role: 'assistant', content: '' }));
        res.write(contentEvent(model, 0));
        res.write(contentEvent(model, 1));
        call.sent = 2;
        return;
      default:
        return this.paced(res, call);
    }
  }

  private async paced(res: ServerResponse, call: ScriptedCall): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunkEvent(call.model, { role: 'assistant', content: '' }));
    while (call.sent < PACED_MAX_EVENTS && !res.destroyed) {
      if (res.write(contentEvent(call.model, call.sent++))) continue;
      if (await drainWithin(res, 1000)) continue;
      call.heldBack = true;
      if (!(await drainWithin(res, 60_000))) return;
      break;
    }
    if (res.destroyed) return;
    const usage = { prompt_tokens: 5, completion_tokens: call.sent, total_tokens: call.sent + 5 };
    res.end(`${chunkEvent(call.model, {}, { usage })}data: [DONE]\n\n`);
  }
}

/** A JSON completion whose content is `contentBytes` long, written as a server streams a large body. */
async function jsonAnswer(res: ServerResponse, model: string, contentBytes: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json' });
  await writeInPieces(res, `{"id":"chatcmpl-scripted","object":"chat.completion","created":0,"model":"${model}",`);
  await writeInPieces(res, '"choices":[{"index":0,"message":{"role":"assistant","content":"');
  await writeInPieces(res, 'x'.repeat(contentBytes));
  res.end('"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}');
}

/** Writes `text` in 64 KB pieces, each after the previous drained; stops when the response closes. */
async function writeInPieces(res: ServerResponse, text: string): Promise<void> {
  for (let at = 0; at < text.length && !res.destroyed; at += 64 * 1024) {
    if (!res.write(text.slice(at, at + 64 * 1024)) && !(await drainWithin(res, 60_000))) return;
  }
}

/** True on `drain`; false after `ms` or when the response closes first. */
function drainWithin(res: ServerResponse, ms: number): Promise<boolean> {
  // Closed already: its 'close' may have been emitted, and it will never drain.
  if (res.destroyed) return Promise.resolve(false);
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
