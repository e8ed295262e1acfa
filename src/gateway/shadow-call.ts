import { performance } from 'node:perf_hooks';
import type { CatalogModel } from '../config/catalog.schema';
import type { TokenUsage } from '../metrics/cost';
import type { Outcome } from '../metrics/entities/request-metric.entity';
import type { AnswerParser } from '../providers/answer-parser';
import { Cancellation } from '../providers/cancellation';
import type { Upstream, UpstreamAnswer } from '../providers/upstream';
import { UpstreamFailure } from '../providers/upstream-failure';
import type { Route } from '../routing/routing.service';
import { answerOfBody, type CapturedAnswer, StreamCapture } from '../shadow/agreement';
import { qualityOfAnswer, StreamQuality } from './answer-quality';
import type { ChatRequest } from './chat-request';
import { upstreamBodyOf } from './upstream-body';

/** How the candidate's call went. */
export interface ShadowCallResult {
  outcome: Outcome;
  failure?: UpstreamFailure;
  /** The provider may have billed it (an answer came, or the call was cut off in flight). */
  billed: boolean;
  latencyMs: number;
  ttftMs: number | null;
  usage: TokenUsage | undefined;
  quality: number | null;
  answer: CapturedAnswer | null;
}

/**
 * One call to the candidate, its whole answer read (a stream to its end) and judged. Untracked (one
 * attempt, no backup key, no breaker or retry budget consulted or fed), so copies of traffic can
 * neither open a breaker nor spend a retry budget that real requests to the same model rely on. An
 * UpstreamFailure is a result like an answer; anything else is thrown (ShadowDispatch counts the call
 * as not recorded).
 */
export async function callShadowCandidate(
  upstream: Upstream,
  parser: AnswerParser,
  model: CatalogModel,
  route: Route,
  body: Record<string, unknown>,
  request: ChatRequest,
): Promise<ShadowCallResult> {
  const started = performance.now();
  const { plan } = route;
  let answer: UpstreamAnswer;
  try {
    answer = await upstream.call({
      model,
      body: upstreamBodyOf(body, request),
      stream: request.stream,
      attemptTimeoutMs: plan.attemptTimeoutMs,
      firstChunkTimeoutMs: plan.firstChunkTimeoutMs,
      deadlineAt: Date.now() + plan.totalTimeoutMs,
      clientGone: new Cancellation(),
      untracked: true,
    });
  } catch (error) {
    if (!(error instanceof UpstreamFailure)) throw error;
    return {
      outcome: outcomeOfFailure(error),
      failure: error,
      billed: error.kind === 'timeout' || error.kind === 'network' || error.kind === 'too_large',
      latencyMs: performance.now() - started,
      ttftMs: null,
      usage: undefined,
      quality: null,
      answer: null,
    };
  }
  if (answer.kind === 'json') {
    return {
      outcome: 'ok',
      billed: true,
      latencyMs: performance.now() - started,
      ttftMs: null,
      usage: usageOf(answer.body?.usage),
      quality: answer.body ? qualityOfAnswer(answer.body, request.quality) : null,
      answer: answer.body ? answerOfBody(answer.body) : null,
    };
  }
  const ttftMs = performance.now() - started;
  const quality = new StreamQuality(request.quality);
  const capture = new StreamCapture();
  let usage: TokenUsage | undefined;
  let broke = false;
  let sawDone = false;
  try {
    usage = readEvent(await parser.observedEvent(answer.firstEvent), quality, capture) ?? usage;
    for await (const event of answer.rest) {
      if (/^data:\s*\[DONE\]\s*$/m.test(event)) {
        sawDone = true;
        break;
      }
      usage = readEvent(await parser.observedEvent(event), quality, capture) ?? usage;
    }
    broke = !sawDone;
  } catch {
    broke = true;
  } finally {
    await answer.rest.return();
  }
  return {
    outcome: broke ? 'upstream_error' : 'ok',
    billed: true,
    latencyMs: performance.now() - started,
    ttftMs,
    usage,
    quality: broke ? null : quality.mask(),
    answer: broke ? null : capture.answer(),
  };
}

/**
 * What the gateway reads of one event of the candidate's stream (AnswerParser.observedEvent, which
 * throws for an event that is no chunk): an error event throws (the stream broke); the usage chunk
 * is returned.
 */
function readEvent(event: string, quality: StreamQuality, capture: StreamCapture): TokenUsage | undefined {
  if (event.includes('"error"') && /"error"\s*:\s*\{/.test(event)) throw new Error('the upstream sent an error event');
  quality.observe(event);
  capture.observe(event);
  if (!/"usage"\s*:\s*\{/.test(event)) return undefined;
  try {
    return usageOf((JSON.parse(event.slice(event.indexOf('data:') + 5)) as { usage?: unknown }).usage);
  } catch {
    return undefined;
  }
}

function outcomeOfFailure(failure: UpstreamFailure): Outcome {
  switch (failure.kind) {
    case 'timeout':
      return 'timeout';
    case 'rate_limited':
      return 'rate_limited';
    case 'invalid_request':
      return 'invalid_request';
    default:
      return 'upstream_error';
  }
}

function usageOf(usage: unknown): TokenUsage | undefined {
  const { prompt_tokens: prompt, completion_tokens: completion } = (usage ?? {}) as Record<string, unknown>;
  if (!Number.isInteger(prompt) || !Number.isInteger(completion)) return undefined;
  return { promptTokens: prompt as number, completionTokens: completion as number };
}
