import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { isRetryableStatus, retryDelayMs } from '@switchyard/retry';
import type { Dispatcher, Pool } from 'undici';
import { CatalogService } from '../catalog/catalog.service';
import { secretRedactor } from '../common/secret-redaction';
import { gatewayConfig, type GatewayConfig } from '../config/gateway.config';
import type { CatalogConfig } from '../config/catalog.config';
import type { CatalogProvider } from '../config/catalog.schema';
import { AnswerParser } from './answer-parser';
import { errorOfEvent, MalformedEventError } from './chunk-shape';
import { type AttemptResult, failedFirstEvent, failedStatus, networkFailure, recordHealth } from './attempt-result';
import { AnswerTooLargeError, AttemptTimeoutError, requestBuffered } from './buffered-request';
import { ClientAbortedError, sleepUnlessGone } from './cancellation';
import { completionAsEvents, eventsFrom } from './completion-events';
import { ModelHealth } from './model-health';
import { ProviderKeyRing } from './provider-keys';
import { ProviderPools } from './provider-pools';
import { EventTooLargeError, sseEvents } from './sse-events';
import type { Upstream, UpstreamAnswer, UpstreamCall, UpstreamEvents } from './upstream';
import { UpstreamFailure } from './upstream-failure';

export { ClientAbortedError };

/**
 * Calls one model of an OpenAI-compatible provider: retries 429/5xx/network failures with full-jitter
 * backoff that honours every attempt's Retry-After up to the backoff's cap (GATEWAY_RETRY_MAX_MS),
 * within the request's deadline, the model's retry budget and the gateway's budget of extra calls; answers a 401 by trying the provider's other key
 * once; feeds the model's breaker. An upstream's error message is kept for the log only, with every
 * provider key we have redacted from it.
 *
 * Transport: an undici keep-alive pool per provider. @nestjs/axios was measured first and spent a
 * quarter of the gateway's CPU in axios itself (docs/benchmarks.md), so the hot path uses undici.
 */
@Injectable()
export class ProviderClient implements Upstream, OnApplicationShutdown {
  private readonly pools = new ProviderPools();
  /** Every provider key this process has held: a key dropped by a reload may still be quoted by a late answer. */
  private readonly secrets = new Set<string>();
  private redactKeys: (text: string) => string = (text) => text;

  constructor(
    private readonly catalog: CatalogService,
    private readonly keys: ProviderKeyRing,
    private readonly health: ModelHealth,
    private readonly parser: AnswerParser,
    @Inject(gatewayConfig.KEY) private readonly config: GatewayConfig,
  ) {
    this.learnKeys(catalog.current);
    catalog.onChange(({ current }) => {
      this.learnKeys(current);
      this.pools.keepOnly(current.catalog.providers);
    });
  }

  private learnKeys(config: CatalogConfig): void {
    for (const { primary, backup } of Object.values(config.keys))
      for (const key of [primary, backup]) if (key) this.secrets.add(key);
    this.redactKeys = secretRedactor(this.secrets);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pools.closeAll();
  }

  async call(call: UpstreamCall): Promise<UpstreamAnswer> {
    const provider = this.catalog.findProvider(call.model.provider);
    // Only a reload between routing and this call can remove the provider: the next candidate may still serve.
    if (!provider)
      throw new UpstreamFailure('network', `provider "${call.model.provider}" left the catalog`, { attempts: 0 });
    if (call.untracked) return this.callOnce(call, provider);
    const breaker = this.health.breaker(call.model.id);
    const budget = this.health.budget(call.model.id);
    const { baseDelayMs, maxDelayMs } = this.config.retry;
    const maxRetries = call.maxRetries ?? this.config.retry.maxRetries;

    budget.recordRequest();
    let key = this.keys.activeKey(provider.id);
    let triedOtherKey = false;
    let retries = 0;
    let attempts = 0;
    let lastFailure: UpstreamFailure | undefined;
    try {
      for (;;) {
        if (!breaker.allowRequest()) {
          // Opened by this request's own failure: the client is told that failure (a timeout stays
          // a 504, a 429 keeps its Retry-After), not the breaker it tripped.
          if (lastFailure) throw lastFailure;
          throw new UpstreamFailure('circuit_open', `model ${call.model.id} is failing; its circuit is open`, {
            attempts,
          });
        }
        if (call.clientGone.isCancelled) throw new ClientAbortedError();
        attempts++;
        const result = await this.attempt(call, provider, key.key);
        recordHealth(breaker, result);
        if (result.ok) {
          this.keys.markWorking(provider.id, key.slot);
          return { ...result.answer, attempts } as UpstreamAnswer;
        }
        if (result.status === 401 && !triedOtherKey) {
          const other = this.keys.alternativeTo(provider.id, key.slot);
          if (other) {
            triedOtherKey = true;
            key = other;
            continue;
          }
        }
        // Only now is every key refused (a 403 is this key's rights on this model, not the key).
        if (result.status === 401) this.keys.markAllRefused(provider.id);
        const failure = new UpstreamFailure(result.kind, result.message, {
          attempts,
          status: result.status,
          retryAfterMs: result.retryAfterMs,
          upstreamError: result.upstreamError,
        });
        const retryable =
          result.kind === 'network' ||
          result.kind === 'timeout' ||
          (result.status !== undefined && isRetryableStatus(result.status));
        lastFailure = failure;
        if (!retryable || retries >= maxRetries) throw failure;
        // An upstream that asks for a longer wait than the backoff's cap is not waited for inside the
        // client's request: the next candidate may answer now, and otherwise the client gets the 429
        // with that Retry-After and decides itself (the official SDKs wait and retry on their own).
        if (result.retryAfterMs !== undefined && result.retryAfterMs > maxDelayMs) throw failure;
        const delay = retryDelayMs({
          attempt: retries,
          policy: { baseDelayMs, maxDelayMs },
          retryAfterMs: result.retryAfterMs,
          remainingMs: call.deadlineAt - Date.now(),
        });
        if (delay === undefined || !budget.tryAcquireRetry() || !this.health.extraCallBudget.tryAcquireRetry()) {
          throw failure;
        }
        await sleepUnlessGone(delay, call.clientGone);
        retries++;
      }
    } catch (error) {
      // The row counts the calls made, the one the client's leaving cut short included.
      if (error instanceof ClientAbortedError) throw new ClientAbortedError(attempts);
      throw error;
    }
  }

  /** One attempt that leaves the model's health alone (a shadow call): its answer, or its failure. */
  private async callOnce(call: UpstreamCall, provider: CatalogProvider): Promise<UpstreamAnswer> {
    const result = await this.attempt(call, provider, this.keys.activeKey(provider.id).key);
    if (result.ok) return { ...result.answer, attempts: 1 } as UpstreamAnswer;
    throw new UpstreamFailure(result.kind, result.message, {
      attempts: 1,
      status: result.status,
      retryAfterMs: result.retryAfterMs,
      upstreamError: result.upstreamError,
    });
  }

  private async attempt(call: UpstreamCall, provider: CatalogProvider, key: string): Promise<AttemptResult> {
    if (call.clientGone.isCancelled) throw new ClientAbortedError();
    const remainingMs = call.deadlineAt - Date.now();
    if (remainingMs <= 0) return { ok: false, kind: 'timeout', message: `no time left to call ${call.model.id}` };
    const timeoutMs = Math.min(provider.timeoutMs, call.attemptTimeoutMs, remainingMs);
    const { pool, basePath } = this.pools.for(provider);
    const body = call.body.forModel(call.model.upstreamModel);
    const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    // Pieces would otherwise go chunked: a length up front is what every provider accepts.
    if (typeof body !== 'string' && !Buffer.isBuffer(body)) headers['content-length'] = String(byteLengthOf(body));
    const request = {
      method: 'POST' as const,
      path: `${basePath}/chat/completions`,
      headers,
      body,
      // Our own timers (attempt budget, first-chunk budget) decide; undici's defaults must not cut in first.
      headersTimeout: 0,
      bodyTimeout: 0,
    };
    return call.stream
      ? this.attemptStream(call, provider, pool, request, timeoutMs)
      : this.attemptJson(call, provider, pool, request, timeoutMs);
  }

  private async attemptJson(
    call: UpstreamCall,
    provider: CatalogProvider,
    pool: Pool,
    request: UpstreamRequest,
    timeoutMs: number,
  ): Promise<AttemptResult> {
    const started = performance.now();
    let response;
    try {
      response = await requestBuffered(
        pool,
        asUndiciOptions(request),
        call.clientGone,
        timeoutMs,
        this.config.answerLimitBytes,
      );
    } catch (error) {
      if (error instanceof ClientAbortedError) throw error;
      if (error instanceof AttemptTimeoutError)
        return { ok: false, kind: 'timeout', message: `${call.model.id} did not answer within ${timeoutMs} ms` };
      if (error instanceof AnswerTooLargeError) return tooLarge(call, 'an answer', error.limitBytes);
      return networkFailure(provider, error);
    }
    if (response.statusCode < 200 || response.statusCode >= 300) {
      return failedStatus(
        call.model.id,
        response.statusCode,
        response.headers,
        response.body.toString('utf8'),
        this.redactKeys,
      );
    }
    const reading = await this.parser.answer(response.body);
    if (reading.kind === 'not_an_object') {
      return {
        ok: false,
        kind: 'network',
        message: `${call.model.id} answered ${response.statusCode} with a body that is not a JSON object`,
      };
    }
    return {
      ok: true,
      answer: {
        kind: 'json',
        body: reading.kind === 'object' ? reading.body : undefined,
        raw: response.body,
        upstreamLatencyMs: performance.now() - started,
        silenceLimitMs: silenceLimitOf(provider, call),
      },
    };
  }

  private async attemptStream(
    call: UpstreamCall,
    provider: CatalogProvider,
    pool: Pool,
    request: UpstreamRequest,
    timeoutMs: number,
  ): Promise<AttemptResult> {
    const abort = new AbortController();
    const unlinkClient = call.clientGone.linkTo(abort);
    // The first chunk's budget runs from the request, headers included: an upstream that holds its
    // headers back is as silent as one that sends headers and then nothing.
    const firstChunkMs = Math.min(call.firstChunkTimeoutMs ?? Number.POSITIVE_INFINITY, timeoutMs);
    const timer = setTimeout(() => abort.abort(), firstChunkMs);
    const started = performance.now();
    // A stream handed to the gateway stays tied to the client: if the client leaves, the upstream call ends.
    let streamHandedOver = false;
    try {
      const response = await pool.request({
        ...asUndiciOptions(request),
        signal: abort.signal,
      });
      if (response.statusCode >= 200 && response.statusCode < 300) {
        if (isJsonAnswer(response.headers) && (await opensAsJsonObject(response.body))) {
          // Read whole within the first chunk's budget (the timer still runs), then relayed as a stream.
          const result = await this.jsonAsStream(call, response.body, started, unlinkClient, provider);
          streamHandedOver = result.ok;
          return result;
        }
        clearTimeout(timer);
        const result = await this.firstEvent(
          call,
          response.body,
          { started, firstChunkMs },
          abort,
          unlinkClient,
          silenceLimitOf(provider, call),
        );
        streamHandedOver = result.ok;
        return result;
      }
      return failedStatus(
        call.model.id,
        response.statusCode,
        response.headers,
        await textUpTo(response.body, this.config.answerLimitBytes),
        this.redactKeys,
      );
    } catch (error) {
      if (call.clientGone.isCancelled) throw new ClientAbortedError();
      if (error instanceof AnswerTooLargeError) return tooLarge(call, 'an error answer', error.limitBytes);
      if (abort.signal.aborted) {
        return {
          ok: false,
          kind: 'timeout',
          message: `${call.model.id} sent no first chunk within ${firstChunkMs} ms`,
        };
      }
      return networkFailure(provider, error);
    } finally {
      clearTimeout(timer);
      if (!streamHandedOver) unlinkClient();
    }
  }

  /**
   * An upstream that answered a streamed request with plain JSON (it ignored `stream`): its
   * completion is read whole and given to the client as the stream it would have been
   * (completionAsEvents); JSON that is no completion fails the attempt like a broken stream.
   */
  private async jsonAsStream(
    call: UpstreamCall,
    body: Readable,
    started: number,
    onStreamEnd: () => void,
    provider: CatalogProvider,
  ): Promise<AttemptResult> {
    let bytes: Buffer;
    try {
      bytes = await bytesUpTo(body, this.config.answerLimitBytes);
    } catch (error) {
      if (error instanceof AnswerTooLargeError) return tooLarge(call, 'an answer', error.limitBytes);
      throw error;
    }
    const reading = await this.parser.answer(bytes);
    const events = reading.kind === 'object' ? completionAsEvents(reading.body) : undefined;
    if (!events) {
      const what = reading.kind === 'unread' ? 'JSON the parser could not read now' : 'JSON that is not a completion';
      return { ok: false, kind: 'network', message: `${call.model.id} answered a stream request with ${what}` };
    }
    return {
      ok: true,
      answer: {
        kind: 'stream',
        firstEvent: events[0],
        rest: eventsFrom(events.slice(1), onStreamEnd),
        upstreamLatencyMs: performance.now() - started,
        silenceLimitMs: silenceLimitOf(provider, call),
      },
    };
  }

  /**
   * Holds the response back until the upstream's first event, so a stream that fails before its
   * first token is retried or falls back like a plain request: one that breaks, falls silent, or
   * begins with an event no client could read, and one whose first event is the upstream's error,
   * which fails the attempt as the error status it stands for would (failedFirstEvent).
   */
  private async firstEvent(
    call: UpstreamCall,
    body: Readable,
    { started, firstChunkMs }: { started: number; firstChunkMs: number },
    abort: AbortController,
    onStreamEnd: () => void,
    silenceLimitMs: number,
  ): Promise<AttemptResult> {
    const events = sseEvents(body, this.config.answerLimitBytes);
    const budgetMs = Math.min(firstChunkMs - (performance.now() - started), call.deadlineAt - Date.now());
    const timer = setTimeout(
      () => {
        abort.abort();
        body.destroy();
      },
      Math.max(budgetMs, 0),
    );
    try {
      const first = await events.next();
      if (first.done)
        return { ok: false, kind: 'network', message: `${call.model.id} closed the stream before its first chunk` };
      // The upstream has spoken: reading what it sent is not its silence.
      clearTimeout(timer);
      // Judged before the client has a byte, so an event it could not read fails the attempt as a break would,
      // and an error event as its status would: a 200 stream carrying only an error would reach the
      // client past every retry, backup key and fallback.
      const observed = await this.observed(first.value);
      if (observed instanceof MalformedEventError) {
        body.destroy();
        return { ok: false, kind: 'network', message: `${call.model.id} broke the stream: ${observed.message}` };
      }
      const upstreamError = errorOfEvent(observed);
      if (upstreamError) {
        body.destroy();
        return failedFirstEvent(call.model.id, upstreamError, this.redactKeys);
      }
      const rest = untilDone(events, onStreamEnd, silenceLimitMs, () => {
        body.destroy(new Error(`${call.model.id} sent nothing for ${silenceLimitMs} ms in the middle of its stream`));
        abort.abort();
      });
      return {
        ok: true,
        answer: {
          kind: 'stream',
          firstEvent: first.value,
          rest,
          upstreamLatencyMs: performance.now() - started,
          silenceLimitMs,
        },
      };
    } catch (error) {
      if (call.clientGone.isCancelled) throw new ClientAbortedError();
      if (error instanceof EventTooLargeError) {
        body.destroy();
        return tooLarge(call, 'a first stream event', error.limitBytes);
      }
      if (abort.signal.aborted) {
        return {
          ok: false,
          kind: 'timeout',
          message: `${call.model.id} sent no first chunk within ${firstChunkMs} ms`,
        };
      }
      return { ok: false, kind: 'network', message: `${call.model.id} broke the stream before its first chunk` };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * What the gateway observes of `event` (AnswerParser.observedEvent: from 256 KB on, what it reads
   * of it, its error among that), or the MalformedEventError it is if it is no chunk.
   */
  private async observed(event: string): Promise<string | MalformedEventError> {
    try {
      return await this.parser.observedEvent(event);
    } catch (error) {
      if (error instanceof MalformedEventError) return error;
      throw error;
    }
  }
}

/**
 * undici takes an iterable body (its Dispatcher docs: `string | Buffer | Uint8Array | Readable |
 * Iterable | AsyncIterable | null`), but its type declarations leave Iterable out.
 */
function asUndiciOptions(request: UpstreamRequest): Dispatcher.DispatchOptions {
  return request as Dispatcher.DispatchOptions;
}

/**
 * How long either side of an answer may stay silent: one attempt's budget. A stream's upstream
 * sending nothing mid-way (here), or a client reading nothing of an answer, which the responder
 * waits for before it asks the upstream for more or records the request as served.
 */
function silenceLimitOf(provider: CatalogProvider, call: UpstreamCall): number {
  return Math.min(provider.timeoutMs, call.attemptTimeoutMs);
}

/** The attempt's failure when the upstream sent more than GATEWAY_ANSWER_LIMIT allows. */
function tooLarge(call: UpstreamCall, what: string, limitBytes: number): AttemptResult {
  return {
    ok: false,
    kind: 'too_large',
    message: `${call.model.id} sent ${what} larger than ${limitBytes} bytes (GATEWAY_ANSWER_LIMIT)`,
  };
}

/** A body read whole as text, unless it grows past `limitBytes` (then destroyed: AnswerTooLargeError). */
async function textUpTo(body: Readable, limitBytes: number): Promise<string> {
  return (await bytesUpTo(body, limitBytes)).toString('utf8');
}

/** A body read whole, unless it grows past `limitBytes` (then destroyed: AnswerTooLargeError). */
async function bytesUpTo(body: Readable, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of body) {
    received += (chunk as Buffer).length;
    if (received > limitBytes) {
      body.destroy();
      throw new AnswerTooLargeError(limitBytes);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The answer says it is JSON (`application/json`, or a `+json` type), not the event stream that was asked for. */
function isJsonAnswer(headers: Record<string, string | string[] | undefined>): boolean {
  const type = headers['content-type'];
  return typeof type === 'string' && /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i.test(type);
}

function byteLengthOf(pieces: readonly Buffer[]): number {
  let length = 0;
  for (const piece of pieces) length += piece.length;
  return length;
}

type UpstreamRequest = {
  method: 'POST';
  path: string;
  headers: Record<string, string>;
  body: string | Buffer | readonly Buffer[];
  headersTimeout: number;
  bodyTimeout: number;
};

/**
 * The stream's remaining events. `onSilence` runs when the upstream has sent nothing for
 * `silenceLimitMs` while an event was asked for; time the consumer spends between asking (a client
 * that reads slowly) is not the upstream's silence. `onEnd` runs once the stream ended, failed or
 * was returned, also when it was returned before its first event was asked for (an async generator
 * would skip its `finally` then, leaving the upstream's connection open).
 */
function untilDone(
  events: AsyncGenerator<string>,
  onEnd: () => void,
  silenceLimitMs: number,
  onSilence: () => void,
): UpstreamEvents {
  let waiting = false;
  let ended = false;
  // One timer, re-armed per event: a slow consumer lets it fire idle, and the next wait re-arms it.
  const silence = setTimeout(() => {
    if (waiting) onSilence();
  }, silenceLimitMs);
  silence.unref();
  const end = async (): Promise<void> => {
    if (ended) return;
    ended = true;
    clearTimeout(silence);
    await events.return(undefined);
    onEnd();
  };
  const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
  const rest: UpstreamEvents = {
    async next() {
      if (ended) return done;
      waiting = true;
      silence.refresh();
      try {
        const next = await events.next();
        if (next.done) await end();
        return next;
      } catch (error) {
        await end();
        throw error;
      } finally {
        waiting = false;
      }
    },
    async return() {
      await end();
      return done;
    },
    async throw(error: unknown) {
      await end();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return rest;
    },
  };
  return rest;
}

/**
 * Whether the body's first bytes open a JSON object; they are put back for whoever reads it next. An
 * event stream mislabelled as JSON (its first bytes `data:`) is still read as the stream it is.
 */
async function opensAsJsonObject(body: Readable): Promise<boolean> {
  let chunk = body.read() as Buffer | null;
  while (chunk === null) {
    if (body.readableEnded) return false;
    // 'readable' also comes at the end of the body, when read() gives null.
    await once(body, 'readable');
    chunk = body.read() as Buffer | null;
  }
  body.unshift(chunk);
  const first = chunk.findIndex((byte) => byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09);
  return first !== -1 && chunk[first] === 0x7b;
}
