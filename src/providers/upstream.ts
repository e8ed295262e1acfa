import type { CatalogModel } from '../config/catalog.schema';
import type { Cancellation } from './cancellation';

/** The OpenAI request body as the upstream should get it, for any model of the request's candidates. */
export interface UpstreamBody {
  /**
   * The JSON to send, naming `upstreamModel` (the provider's own name of the model): whole, or in
   * pieces written one after the other (a large body's messages are a view of the client's bytes,
   * sent without being copied into a new buffer).
   */
  forModel(upstreamModel: string): string | Buffer | readonly Buffer[];
}

export interface UpstreamCall {
  model: CatalogModel;
  body: UpstreamBody;
  stream: boolean;
  /** Budget of one attempt; the provider's own `timeoutMs` caps it too. */
  attemptTimeoutMs: number;
  /** Streams: how long to wait for the first event before treating the attempt as failed. */
  firstChunkTimeoutMs?: number;
  /** Retries after the first attempt: the policy's budget (GATEWAY_MAX_RETRIES unless it sets its own); unset: GATEWAY_MAX_RETRIES. */
  maxRetries?: number;
  /** The whole request's deadline (epoch ms): no retry starts that could not finish before it. */
  deadlineAt: number;
  /** Cancelled when the client goes away: the upstream call is abandoned. */
  clientGone: Cancellation;
  /**
   * A shadow call: one attempt with the provider's active key, no retry, no backup key, and the
   * model's circuit breaker and retry budgets neither consulted nor fed.
   */
  untracked?: boolean;
}

export interface UpstreamJsonAnswer {
  kind: 'json';
  /**
   * Their parse (AnswerParser: from 256 KB on, only what the gateway reads of it); undefined when an
   * answer too large for the event loop could not be parsed off it (passed on unread).
   */
  body: Record<string, unknown> | undefined;
  /** The upstream's bytes, passed to the client as they came. */
  raw: Buffer;
  attempts: number;
  upstreamLatencyMs: number;
  /** How long the client may take to read the answer (one attempt's budget); then it is cut off. */
  silenceLimitMs: number;
}

export interface UpstreamStreamAnswer {
  kind: 'stream';
  /** The first event, already received: the response head was held back until it arrived. */
  firstEvent: string;
  /** The remaining events as the upstream sends them. Throws if the upstream breaks off. */
  rest: UpstreamEvents;
  attempts: number;
  /** Time to the first event of the successful attempt. */
  upstreamLatencyMs: number;
  /**
   * How long either side may go silent mid-stream (one attempt's budget): `rest` throws when the
   * upstream sends nothing that long, and a client that reads nothing that long is cut off.
   */
  silenceLimitMs: number;
}

/**
 * A stream's events, asked for one at a time (the upstream is read no faster). `return()` ends the
 * upstream call, whether or not an event was asked for: consumers call it when they stop early.
 */
export interface UpstreamEvents extends AsyncIterableIterator<string> {
  return(): Promise<IteratorResult<string, unknown>>;
}

export type UpstreamAnswer = UpstreamJsonAnswer | UpstreamStreamAnswer;

/**
 * One model of one provider, called with retries. ProviderClient is the implementation; the
 * candidate runner depends only on this, so it can be tested against any OpenAI-compatible server.
 * `call` rejects with UpstreamFailure when the model gave no answer, ClientAbortedError when the
 * client went away.
 */
export interface Upstream {
  call(call: UpstreamCall): Promise<UpstreamAnswer>;
}

/** Injection token of the Upstream the gateway uses. */
export const UPSTREAM = Symbol('UPSTREAM');
