import type { ServerResponse } from 'node:http';
import { Injectable, Logger } from '@nestjs/common';
import { parseErrorAnswerOf } from '../common/http-parse-errors';
import { openAiAnswerOf, writeOpenAiAnswer, type OpenAiAnswer } from '../common/openai-error';
import type { SpendMark } from '../budgets/budget.types';
import type { CatalogModel } from '../config/catalog.schema';
import type { TokenUsage } from '../metrics/cost';
import { AnswerParser } from '../providers/answer-parser';
import type { UpstreamAnswer, UpstreamStreamAnswer } from '../providers/upstream';
import type { Route } from '../routing/routing.service';
import { answerHeaders, setAnswerHeader } from './answer-headers';
import { PLAIN_EXPECTATION, qualityOfAnswer, StreamQuality, type QualityExpectation } from './answer-quality';
import type { RequestTiming } from './request-timing';
import type { StreamCapture } from '../shadow/agreement';

const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
const DONE_EVENT = 'data: [DONE]\n\n';
const STREAM_BROKE_EVENT = `data: ${JSON.stringify({
  error: {
    message: 'The upstream stream broke off before the completion finished.',
    type: 'api_error',
    code: 'upstream_stream_error',
    param: null,
  },
})}\n\n`;

/** What reached the client of an answer. */
export interface Delivery {
  usage: TokenUsage | undefined;
  /** Streams: from the request's arrival to the first event written. */
  ttftMs: number | null;
  /**
   * The stream broke after its first event (cut, silent, an error event, an event that is no chunk):
   * the client got an error event and [DONE] instead of the rest.
   */
  broke: boolean;
  /**
   * The answer's quality signals (metrics/quality-signals.ts): a bitmask, 0 for none; null when not
   * judged (a large answer the parser could not read off the event loop).
   */
  quality: number | null;
}

/** What the client was answered, for the metric row. */
export interface ErrorAnswered {
  status: number;
  /** OpenAI's `code`, else its `type`; `internal_error` for what the gateway did not expect. */
  errorType: string | null;
}

/** nginx's "client closed request": no status reached the client. */
export const CLIENT_CLOSED_STATUS = 499;

/**
 * Writes answers in OpenAI's wire format with the x-switchyard-* headers, on Node's own response
 * API: an upstream JSON body as it came, a stream event by event, and errors as `{ error: {...} }`
 * with the status, headers and body the one table (domain-error-status.ts) gives them. Every answer
 * carries `Server-Timing` (RequestTiming): the gateway's own time, the upstream's, a stream's first token.
 */
@Injectable()
export class OpenAiResponder {
  private readonly logger = new Logger(OpenAiResponder.name);

  constructor(private readonly parser: AnswerParser) {}

  /** The key's x-ratelimit-* go on every answer, errors included. */
  rateLimitHeaders(res: ServerResponse, headers: Record<string, string> | undefined): void {
    if (headers) for (const name in headers) setAnswerHeader(res, name.toLowerCase(), headers[name]);
  }

  /** The route, before any call; returns the model it names, which the metric row names too if no call follows. */
  routeHeaders(res: ServerResponse, route: Route): CatalogModel {
    const [first] = route.plan.candidates;
    setAnswerHeader(res, 'x-switchyard-policy', route.policy ?? 'none');
    setAnswerHeader(res, 'x-switchyard-flag', route.flag ?? 'none');
    setAnswerHeader(res, 'x-switchyard-variant', route.variant ?? 'none');
    setAnswerHeader(res, 'x-switchyard-model', first.id);
    setAnswerHeader(res, 'x-switchyard-provider', first.provider);
    setAnswerHeader(res, 'x-switchyard-attempts', '0');
    setAnswerHeader(res, 'x-switchyard-fallback', 'false');
    return first;
  }

  /** A spend budget changed how the request is served: which budget, and what it did. */
  budgetHeaders(res: ServerResponse, mark: SpendMark): void {
    res.setHeader('x-switchyard-budget', mark.budgetId);
    res.setHeader('x-switchyard-budget-action', mark.action);
  }

  /**
   * How the candidates went, on an answer and on a failure alike: the model named is the one the
   * metric row and /metrics record, the one that answered or else the last one tried.
   */
  runHeaders(res: ServerResponse, model: CatalogModel, attempts: number, fallback: boolean): void {
    setAnswerHeader(res, 'x-switchyard-model', model.id);
    setAnswerHeader(res, 'x-switchyard-provider', model.provider);
    setAnswerHeader(res, 'x-switchyard-attempts', String(attempts));
    setAnswerHeader(res, 'x-switchyard-fallback', String(fallback));
  }

  /** The upstream's answer: JSON passed on byte for byte, or the stream relayed event by event. */
  async deliver(
    res: ServerResponse,
    answer: UpstreamAnswer,
    clientWantsUsage: boolean,
    timing: RequestTiming,
    expect: QualityExpectation = PLAIN_EXPECTATION,
    capture?: StreamCapture,
  ): Promise<Delivery> {
    if (answer.kind === 'json') {
      res.writeHead(
        200,
        answerHeaders(res, [
          'content-type',
          JSON_CONTENT_TYPE,
          'content-length',
          answer.raw.length,
          'server-timing',
          timing.serverTiming(false),
        ]),
      );
      res.end(answer.raw);
      // Served only once the client has taken it: an answer larger than the socket takes at once waits for its reads.
      if (!res.writableFinished) await this.untilTaken(res, 'finish', answer.silenceLimitMs);
      return {
        usage: usageOf(answer.body?.usage),
        ttftMs: null,
        broke: false,
        quality: answer.body ? qualityOfAnswer(answer.body, expect) : null,
      };
    }
    return this.relay(res, answer, clientWantsUsage, timing, expect, capture);
  }

  /**
   * Answers an error. Before anything was written: in OpenAI's shape (a 500 that says nothing of
   * internals for what nobody expected). After the answer started, nothing can be said any more:
   * the connection is cut so the client sees a failure, not a truncated success.
   */
  fail(res: ServerResponse, error: unknown, requestId: string, timing: RequestTiming): ErrorAnswered {
    if (res.destroyed && !res.headersSent) return { status: CLIENT_CLOSED_STATUS, errorType: null };
    if (res.headersSent) {
      this.logger.error({ err: error, requestId }, 'error after the response started');
      res.destroy();
      return { status: res.statusCode, errorType: 'internal_error' };
    }
    let answer: OpenAiAnswer | undefined = openAiAnswerOf(error);
    let errorType: string;
    if (answer) {
      errorType = answer.body.error.code ?? answer.body.error.type;
    } else {
      this.logger.error({ err: error, requestId }, 'unhandled error on /v1/chat/completions');
      answer = internalError(requestId);
      errorType = 'internal_error';
    }
    writeOpenAiAnswer(res, answer, answerHeaders(res, ['server-timing', timing.serverTiming(false)]));
    return { status: answer.status, errorType };
  }

  /**
   * A body Node's parser refused half-way (a broken chunk) was answered on the socket by
   * common/http-parse-errors.ts, not here: what the client got there, or undefined if it got nothing.
   */
  answeredByParser(res: ServerResponse): ErrorAnswered | undefined {
    const answer = parseErrorAnswerOf(res);
    return answer && { status: answer.status, errorType: answer.code };
  }

  /**
   * Waits until the client has taken what was written (`drain`: room for more; `finish`: all of
   * it) or has left; one that reads nothing for `ms` is cut off (false), so a client that stops
   * reading holds neither the upstream call nor the request for ever.
   */
  private untilTaken(res: ServerResponse, event: 'drain' | 'finish', ms: number): Promise<boolean> {
    // Gone already: its 'close' may have been emitted, and nothing more will be taken.
    if (res.destroyed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const settle = (taken: boolean) => {
        clearTimeout(timer);
        res.off(event, onTakenOrClosed);
        res.off('close', onTakenOrClosed);
        if (!taken) {
          this.logger.warn(`client read nothing for ${ms} ms of its answer: connection cut`);
          res.destroy();
        }
        resolve(taken);
      };
      const onTakenOrClosed = () => settle(true);
      const timer = setTimeout(() => settle(false), ms);
      res.on(event, onTakenOrClosed);
      res.on('close', onTakenOrClosed);
    });
  }

  /**
   * Passes the upstream's events through one by one. The status went out with the first event, so
   * an upstream failure after it ends the stream with an error event and [DONE], never a silent cut;
   * an error event of the upstream's own is replaced by ours, as its message may quote our key, and
   * an event no client could read as a chunk (AnswerParser.observedEvent throws) is not passed on but
   * ends the stream the same way: relayed, it would fail the client's SDK while the row said `ok`.
   */
  private async relay(
    res: ServerResponse,
    stream: UpstreamStreamAnswer,
    clientWantsUsage: boolean,
    timing: RequestTiming,
    expect: QualityExpectation,
    capture: StreamCapture | undefined,
  ): Promise<Delivery> {
    res.writeHead(
      200,
      answerHeaders(res, [
        'content-type',
        SSE_CONTENT_TYPE,
        'cache-control',
        'no-cache',
        'connection',
        'keep-alive',
        'server-timing',
        timing.serverTiming(true),
      ]),
    );
    const delivery: Delivery = { usage: undefined, ttftMs: timing.elapsedMs(), broke: false, quality: 0 };
    const quality = new StreamQuality(expect);
    let sawDone = false;
    try {
      // The head goes out with the first event, in one packet; alone only if that event is held back.
      forward(
        res,
        stream.firstEvent,
        await this.parser.observedEvent(stream.firstEvent),
        clientWantsUsage,
        delivery,
        quality,
        capture,
      );
      if (!res.headersSent) res.flushHeaders();
      for await (const event of stream.rest) {
        if (res.destroyed) break;
        if (isDoneEvent(event)) sawDone = true;
        else forward(res, event, await this.parser.observedEvent(event), clientWantsUsage, delivery, quality, capture);
        // The next event is asked for only once the client has taken this one: a client that reads
        // slowly slows the upstream down (TCP backpressure) instead of queueing the answer in memory.
        if (res.writableNeedDrain && !(await this.untilTaken(res, 'drain', stream.silenceLimitMs))) break;
      }
      if (!sawDone && !res.destroyed) throw new Error('upstream ended the stream without [DONE]');
    } catch (error) {
      if (res.destroyed) return delivery;
      this.logger.warn(`stream broke after the first chunk: ${(error as Error).message}`);
      delivery.broke = true;
      res.write(STREAM_BROKE_EVENT);
    } finally {
      await stream.rest.return();
    }
    if (!res.destroyed) res.end(DONE_EVENT);
    if (!res.writableFinished) await this.untilTaken(res, 'finish', stream.silenceLimitMs);
    delivery.quality = quality.mask();
    return delivery;
  }
}

/** Writes `event` to the client; reads what it holds for the gateway from `observed` (AnswerParser.observedEvent). */
function forward(
  res: ServerResponse,
  event: string,
  observed: string,
  clientWantsUsage: boolean,
  delivery: Delivery,
  quality: StreamQuality,
  capture: StreamCapture | undefined,
): void {
  if (observed.includes('"error"')) {
    const error = parseEventData(observed)?.error;
    // Its text goes to the log (where provider keys are redacted), never to the client.
    if (typeof error === 'object' && error !== null) {
      throw new Error(`upstream sent an error event: ${JSON.stringify(error).slice(0, 500)}`);
    }
  }
  if (USAGE_FIELD.test(observed)) delivery.usage = usageOf(parseEventData(observed)?.usage) ?? delivery.usage;
  quality.observe(observed);
  // Only a request copied to a shadow stage keeps its answer's text, to compare the candidate's with.
  capture?.observe(observed);
  if (!clientWantsUsage && isUsageOnlyEvent(observed)) return;
  res.write(`${event}\n\n`);
}

function internalError(requestId: string): OpenAiAnswer {
  return {
    status: 500,
    headers: {},
    body: {
      error: {
        message: `Internal error; quote request id ${requestId} when reporting it.`,
        type: 'api_error',
        code: null,
        param: null,
      },
    },
  };
}

/** A usage object (not `"usage": null`, which some providers put on every chunk). */
const USAGE_FIELD = /"usage"\s*:\s*\{/;

function parseEventData(event: string): Record<string, unknown> | undefined {
  const data = event
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trimStart())
    .join('\n');
  try {
    return JSON.parse(data) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** OpenAI's `usage` object, when it holds both counts. */
function usageOf(usage: unknown): TokenUsage | undefined {
  const { prompt_tokens: prompt, completion_tokens: completion } = (usage ?? {}) as Record<string, unknown>;
  if (!Number.isInteger(prompt) || !Number.isInteger(completion)) return undefined;
  return { promptTokens: prompt as number, completionTokens: completion as number };
}

function isDoneEvent(event: string): boolean {
  return /^data:\s*\[DONE\]\s*$/m.test(event);
}

/** The usage chunk OpenAI sends when asked: `choices` empty, `usage` set. */
function isUsageOnlyEvent(event: string): boolean {
  return event.includes('"usage"') && /"choices"\s*:\s*\[\s*\]/.test(event);
}
