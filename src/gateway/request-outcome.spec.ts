import { NotAuthenticated } from '../access/access-denied.exception';
import { DomainError } from '../common/domain-error';
import type { CatalogModel } from '../config/catalog.schema';
import {
  ContextLengthExceeded,
  UpstreamCredentialsRefused,
  UpstreamFailed,
  UpstreamRateLimited,
  UpstreamRejectedRequest,
  UpstreamTimeout,
} from '../providers/provider-errors';
import type { Route } from '../routing/routing.service';
import { UnknownModel } from '../routing/routing.errors';
import type { RunResult } from './candidate-runner';
import { InvalidJson } from '../common/request-errors';
import { openAiAnswerOf } from '../common/openai-error';
import { BodyAbandoned } from './request-body';
import { apiKeyIdOf, type RequestFacts, requestMetricOf } from './request-outcome';

/** An access refusal as access/ raises them: a DomainError that knows the key. */
class KeyOverLimit extends DomainError {
  readonly kind = 'rate_limited';
  readonly code = 'requests_per_minute_exceeded';
  readonly apiKeyId = 'key-2';
}

const model = { id: 'gpt-4.1', provider: 'simulated', pricing: { inputPer1M: 2, outputPer1M: 8 } } as CatalogModel;
const fallbackModel = { ...model, id: 'deepseek-v3.2' } as CatalogModel;
const route = { policy: 'chat', flag: 'chat-model', variant: 'treatment', chosen: model } as Route;

function facts(overrides: Partial<RequestFacts>): RequestFacts {
  return {
    at: new Date(0),
    latencyMs: 12,
    overheadMs: 2,
    requestId: 'r-1',
    apiKeyId: 'key-1',
    stream: false,
    route,
    run: undefined,
    delivery: undefined,
    error: undefined,
    answered: undefined,
    completed: true,
    ...overrides,
  };
}

/** The facts of a request that ended with `error`, answered as the responder answers it. */
function failedWith(error: unknown, run?: RunResult): RequestFacts {
  const answer = openAiAnswerOf(error);
  const answered = answer
    ? { status: answer.status, errorType: answer.body.error.code ?? answer.body.error.type }
    : { status: 500, errorType: 'internal_error' };
  return facts({ error, answered, run });
}

const failedRun = (error: DomainError): RunResult => ({
  kind: 'failed',
  error,
  model,
  attempts: 3,
  fallback: false,
});

describe('requestMetricOf: the one outcome of a request', () => {
  it('records an answered request with its tokens, cost and fallback', () => {
    const row = requestMetricOf(
      facts({
        run: {
          kind: 'answered',
          model: fallbackModel,
          attempts: 4,
          fallback: true,
          answer: {
            kind: 'json',
            body: {},
            raw: Buffer.from('{}'),
            attempts: 1,
            upstreamLatencyMs: 7,
            silenceLimitMs: 30_000,
          },
        },
        delivery: { usage: { promptTokens: 1000, completionTokens: 500 }, ttftMs: null, broke: false, quality: 2 },
      }),
    );
    expect(row).toMatchObject({
      outcome: 'ok',
      httpStatus: 200,
      model: 'deepseek-v3.2',
      firstModel: 'gpt-4.1',
      attempts: 4,
      fallback: true,
      upstreamLatencyMs: 7,
      promptTokens: 1000,
      errorType: null,
      qualitySignals: 2,
    });
    expect(row.costUsd).not.toBeNull();
    expect(Object.isFrozen(row)).toBe(true);
  });

  it.each<[string, RequestFacts, Record<string, unknown>]>([
    [
      'the gateway refusing the body',
      failedWith(new InvalidJson()),
      { outcome: 'rejected', httpStatus: 400, errorType: 'invalid_json' },
    ],
    [
      'an unknown model',
      failedWith(new UnknownModel('gpt-9')),
      { outcome: 'rejected', httpStatus: 404, errorType: 'model_not_found' },
    ],
    [
      'the context guard',
      failedWith(new ContextLengthExceeded('too long'), failedRun(new ContextLengthExceeded('too long'))),
      { outcome: 'rejected', httpStatus: 400, model: 'gpt-4.1' },
    ],
    [
      'a key over its limit',
      failedWith(new KeyOverLimit('slow down', { retryAfterSeconds: 30 })),
      { outcome: 'rate_limited', httpStatus: 429 },
    ],
    [
      'a key refused',
      failedWith(NotAuthenticated.missing()),
      { outcome: 'rejected', httpStatus: 401, errorType: 'missing_api_key' },
    ],
    [
      'a provider rate limit outlasting retries',
      failedWith(new UpstreamRateLimited(2000), failedRun(new UpstreamRateLimited(2000))),
      { outcome: 'rate_limited', httpStatus: 429, errorType: 'rate_limit_exceeded', attempts: 3 },
    ],
    [
      'a provider timeout',
      failedWith(new UpstreamTimeout('slow'), failedRun(new UpstreamTimeout('slow'))),
      { outcome: 'timeout', httpStatus: 504 },
    ],
    [
      'a provider failing',
      failedWith(new UpstreamFailed('500s'), failedRun(new UpstreamFailed('500s'))),
      { outcome: 'upstream_error', httpStatus: 502 },
    ],
    [
      'refused credentials',
      failedWith(new UpstreamCredentialsRefused()),
      { outcome: 'upstream_error', errorType: 'upstream_auth_failed' },
    ],
    [
      'a provider calling the request invalid',
      failedWith(new UpstreamRejectedRequest(422, { type: 'invalid_request_error', code: 'bad_param' })),
      { outcome: 'invalid_request', httpStatus: 422, errorType: 'bad_param' },
    ],
    [
      'a provider refusing for its own reasons',
      failedWith(new UpstreamRejectedRequest(402, {})),
      { outcome: 'upstream_error', httpStatus: 402, errorType: 'invalid_request_error' },
    ],
    [
      'an unexpected error',
      failedWith(new Error('bug')),
      { outcome: 'upstream_error', httpStatus: 500, errorType: 'internal_error' },
    ],
  ])('classifies %s', (_case, requestFacts, expected) => {
    expect(requestMetricOf(requestFacts)).toMatchObject({ fallback: false, costUsd: null, ...expected });
  });

  it('takes the key id from a refusal that carries one', () => {
    expect(apiKeyIdOf(new KeyOverLimit('slow down'))).toBe('key-2');
    expect(apiKeyIdOf(new InvalidJson())).toBeNull();
    expect(apiKeyIdOf(undefined)).toBeNull();
  });

  it('records a client that left as client_aborted with 499, whenever it left', () => {
    const goneDuringBody = requestMetricOf(facts({ error: new BodyAbandoned(), route: undefined }));
    const goneDuringCall = requestMetricOf(
      facts({ run: { kind: 'client_gone', model, attempts: 0, fallback: false } }),
    );
    const goneDuringAnswer = requestMetricOf(
      facts({
        run: {
          kind: 'answered',
          model,
          attempts: 1,
          fallback: false,
          answer: {
            kind: 'json',
            body: {},
            raw: Buffer.from(''),
            attempts: 1,
            upstreamLatencyMs: 1,
            silenceLimitMs: 30_000,
          },
        },
        delivery: { usage: undefined, ttftMs: 3, broke: false, quality: 1 },
        completed: false,
      }),
    );
    for (const row of [goneDuringBody, goneDuringCall, goneDuringAnswer]) {
      expect(row).toMatchObject({ outcome: 'client_aborted', httpStatus: 499, qualitySignals: null });
    }
  });

  it('records a stream that broke after its first event as upstream_error', () => {
    const row = requestMetricOf(
      facts({ stream: true, delivery: { usage: undefined, ttftMs: 5, broke: true, quality: 1 } }),
    );
    expect(row).toMatchObject({
      outcome: 'upstream_error',
      httpStatus: 200,
      errorType: 'upstream_stream_error',
      ttftMs: 5,
      qualitySignals: null,
    });
  });
});
