import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { attachCaller } from '../access/access.service';
import type { CachedApiKey } from '../access/api-key-cache';
import { Clock } from '../common/clock';
import { requestIdOf } from '../common/request-id';
import { appConfig, type AppConfig } from '../config/app.config';
import { MetricsRecorder } from '../metrics/metrics-recorder';
import { Cancellation } from '../providers/cancellation';
import { type Route, RoutingService } from '../routing/routing.service';
import { CandidateRunner, type RunResult } from './candidate-runner';
import { type ChatRequest, parseChatRequest } from './chat-request';
import { type Delivery, type ErrorAnswered, OpenAiResponder } from './openai-responder';
import { RequestAdmission } from './request-admission';
import { BodyAbandoned, readJsonBody } from './request-body';
import { apiKeyIdOf, requestMetricOf } from './request-outcome';
import { RequestTiming } from './request-timing';

/**
 * `POST /v1/chat/completions`, whatever the spelling of its URL: one request through its stages,
 * each in its own class and each returning what it found or throwing a DomainError that says why
 * the request stops there.
 *
 *   1. admit      RequestAdmission  the key and its per-key limits, before the body is read
 *   2. parse      readJsonBody, parseChatRequest  size, JSON, depth, the OpenAI body's rules
 *   3. route      RoutingService, RequestAdmission.allowRoute  policy, flag variant, healthy models
 *        [budget]   a spend budget check belongs here: the route names the model, nothing is spent yet
 *        [cache]    a cache lookup too (keyed by the route's model and the body); a hit skips stage 4
 *   4. run        CandidateRunner  context guard, retries, fallbacks: an answer or a typed failure
 *   5. respond    OpenAiResponder  headers, JSON or the SSE relay, or the error in OpenAI's shape
 *        [shadow]   shadow dispatch goes after the answer completed, off the client's time
 *   6. record     requestMetricOf  the one outcome, built once from the stages' results, stored once
 */
@Injectable()
export class CompletionPipeline {
  constructor(
    private readonly admission: RequestAdmission,
    private readonly routing: RoutingService,
    private readonly runner: CandidateRunner,
    private readonly responder: OpenAiResponder,
    private readonly metrics: MetricsRecorder,
    private readonly clock: Clock,
    @Inject(appConfig.KEY) private readonly app: AppConfig,
  ) {}

  /** Serves one request end to end and records exactly one metric row for it. Never rejects. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The row's time decides which canary and guardrail window it falls in: the same clock as theirs.
    const at = this.clock.now();
    const timing = new RequestTiming();
    const requestId = requestIdOf(req);
    let key: CachedApiKey | undefined;
    let request: ChatRequest | undefined;
    let route: Route | undefined;
    let run: RunResult | undefined;
    let delivery: Delivery | undefined;
    let error: unknown;
    try {
      const admitted = this.admission.admit(req.headers.authorization);
      key = admitted.key;
      attachCaller(req, key.caller);
      this.responder.rateLimitHeaders(res, admitted.rateLimitHeaders);
      const body = await readJsonBody(req, this.app.requestBodyLimitBytes, this.app.requestBodyLimit);
      request = parseChatRequest(body.value, body.bytes);
      route = this.routing.resolve({
        model: request.body.model,
        policyHeader: headerOf(req, 'x-switchyard-policy'),
        userId: headerOf(req, 'x-user-id') ?? request.user,
        attributes: request.attributes,
        body: request.body,
      });
      this.admission.allowRoute(key.caller, route);
      this.responder.routeHeaders(res, route);
      // [budget] and [cache] go here: the route names the model, nothing has been spent yet.
      run = await this.runner.run({ request, route, clientGone: clientGoneOf(res), requestId, timing });
      if (run.kind === 'answered') {
        this.responder.answerHeaders(res, run.model, run.attempts, run.fallback);
        delivery = await this.responder.deliver(res, run.answer, request.clientWantsUsage, timing);
        // [shadow] dispatch goes here: the client has its whole answer.
      } else if (run.kind === 'failed') {
        this.responder.attemptsHeader(res, run.attempts);
        error = run.error;
      }
    } catch (thrown) {
      error = thrown;
    }
    let answered: ErrorAnswered | undefined;
    try {
      if (error !== undefined && !(error instanceof BodyAbandoned))
        answered = this.responder.fail(res, error, requestId, timing);
    } finally {
      if (key && delivery?.usage) {
        this.admission.settle(key, delivery.usage.promptTokens + delivery.usage.completionTokens);
      }
      if (this.metrics.enabled) {
        this.metrics.record(
          requestMetricOf({
            at,
            latencyMs: timing.elapsedMs(),
            overheadMs: timing.overheadMs(),
            requestId,
            apiKeyId: key?.caller.id ?? apiKeyIdOf(error),
            stream: request?.stream ?? false,
            route,
            run,
            delivery,
            error,
            answered,
            completed: res.writableFinished,
          }),
        );
      }
    }
  }
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

const CLIENT_GONE = Symbol('switchyard.clientGone');
type TrackedResponse = ServerResponse & { [CLIENT_GONE]: Cancellation };

/** Cancelled when the connection closes before the answer was written; no closure per request. */
function clientGoneOf(res: ServerResponse): Cancellation {
  const tracked = res as TrackedResponse;
  tracked[CLIENT_GONE] = new Cancellation();
  res.once('close', cancelIfUnfinished);
  return tracked[CLIENT_GONE];
}

function cancelIfUnfinished(this: TrackedResponse): void {
  if (!this.writableFinished) this[CLIENT_GONE].cancel();
}
