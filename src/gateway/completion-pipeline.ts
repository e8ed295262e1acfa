import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { attachCaller } from '../access/access.service';
import type { CachedApiKey } from '../access/api-key-cache';
import { BudgetGate } from '../budgets/budget-gate';
import type { Settlement, SpendTicket } from '../budgets/spend-ticket';
import { Clock } from '../common/clock';
import type { CatalogModel } from '../config/catalog.schema';
import { requestIdOf } from '../common/request-id';
import { appConfig, type AppConfig } from '../config/app.config';
import { MetricsRecorder } from '../metrics/metrics-recorder';
import { Cancellation } from '../providers/cancellation';
import { NoHealthyModel } from '../routing/routing.errors';
import { type Route, RoutingService } from '../routing/routing.service';
import { CandidateRunner, type RunResult } from './candidate-runner';
import { type ChatRequest, parseChatRequest } from './chat-request';
import { type Delivery, type ErrorAnswered, OpenAiResponder } from './openai-responder';
import { RequestAdmission } from './request-admission';
import { BodyAbandoned, readJsonBody } from './request-body';
import { apiKeyIdOf, requestMetricOf } from './request-outcome';
import { RequestTiming } from './request-timing';
import { ShadowDispatch } from './shadow-dispatch';
import { answerOfBody, StreamCapture } from '../shadow/agreement';
import type { ActiveShadow } from '../shadow/shadow-stages';

/**
 * `POST /v1/chat/completions`, whatever the spelling of its URL: one request through its stages,
 * each in its own class and each returning what it found or throwing a DomainError that says why
 * the request stops there.
 *
 *   1. admit      RequestAdmission  the key and its per-key limits, before the body is read
 *   2. parse      readJsonBody, parseChatRequest  content type, size, JSON, depth, the OpenAI body's rules
 *   3. route      RoutingService, RequestAdmission.allowRoute  policy, flag variant, healthy models
 *      budget     BudgetGate  the worst case reserved under the request's budgets, from memory; a used-up
 *                 budget refuses (429), downgrades the route or sends a canary's treatment to the control
 *        [cache]    a cache lookup goes here (keyed by the route's model and the body); a hit skips stage 4
 *   4. run        CandidateRunner  context guard, retries, fallbacks: an answer or a typed failure
 *   5. respond    OpenAiResponder  headers, JSON or the SSE relay, or the error in OpenAI's shape
 *        [shadow]   shadow dispatch goes after the answer completed, off the client's time
 *   6. record     requestMetricOf  the one outcome, built once from the stages' results, stored once;
 *                 the budgets are charged what the request really cost (SpendTicket.settle)
 */
@Injectable()
export class CompletionPipeline {
  constructor(
    private readonly admission: RequestAdmission,
    private readonly routing: RoutingService,
    private readonly budgets: BudgetGate,
    private readonly runner: CandidateRunner,
    private readonly responder: OpenAiResponder,
    private readonly metrics: MetricsRecorder,
    private readonly shadow: ShadowDispatch,
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
    let routedModel: CatalogModel | undefined;
    let userId: string | undefined;
    let run: RunResult | undefined;
    let spend: SpendTicket | undefined;
    let delivery: Delivery | undefined;
    let shadowStage: ActiveShadow | undefined;
    let capture: StreamCapture | undefined;
    let error: unknown;
    try {
      const admitted = this.admission.admit(req.headers.authorization);
      key = admitted.key;
      attachCaller(req, key.caller);
      this.responder.rateLimitHeaders(res, admitted.rateLimitHeaders);
      const body = await readJsonBody(req, {
        bytes: this.app.requestBodyLimitBytes,
        name: this.app.requestBodyLimit,
        timeoutMs: this.app.requestBodyTimeoutMs,
      });
      request = parseChatRequest(body.value, body.bytes);
      userId = headerOf(req, 'x-user-id') ?? request.user;
      try {
        route = this.routing.resolve({
          model: request.body.model,
          policyHeader: headerOf(req, 'x-switchyard-policy'),
          userId,
          attributes: request.attributes,
          body: request.body,
        });
      } catch (refused) {
        // Routed, but no candidate's circuit is closed: a key may learn that only of routes it may use,
        // and the headers and the row name the route, so its policy and variant count the outage.
        if (!(refused instanceof NoHealthyModel)) throw refused;
        this.admission.allowRoute(key.caller, refused.route);
        route = refused.route;
        routedModel = this.responder.routeHeaders(res, route);
        throw refused;
      }
      this.admission.allowRoute(key.caller, route);
      routedModel = this.responder.routeHeaders(res, route);
      const chat = request;
      const decision = await this.budgets.admit({
        keyId: key.caller.id,
        route,
        prepare: (candidate) => this.runner.prepare(chat, candidate),
      });
      spend = decision.ticket;
      if (decision.route !== route) {
        route = decision.route;
        routedModel = this.responder.routeHeaders(res, route);
      }
      if (spend?.mark) this.responder.budgetHeaders(res, spend.mark);
      shadowStage = this.shadow.sample(route, userId, requestId);
      if (shadowStage && request.stream) capture = new StreamCapture();
      // [cache] goes here: the route names the model, nothing has been spent yet.
      run = await this.runner.run({
        request,
        route,
        clientGone: clientGoneOf(res),
        requestId,
        timing,
        prepared: decision.prepared,
        spend,
      });
      if (run.kind !== 'client_gone') this.responder.runHeaders(res, run.model, run.attempts, run.fallback);
      if (run.kind === 'answered') {
        delivery = await this.responder.deliver(
          res,
          run.answer,
          request.clientWantsUsage,
          timing,
          request.quality,
          capture,
        );
      } else if (run.kind === 'failed') {
        error = run.error;
      }
    } catch (thrown) {
      error = thrown;
    }
    let answered: ErrorAnswered | undefined;
    try {
      if (error instanceof BodyAbandoned) answered = this.responder.answeredByParser(res);
      else if (error !== undefined) answered = this.responder.fail(res, error, requestId, timing);
    } finally {
      if (key && delivery?.usage) {
        this.admission.settle(key, delivery.usage.promptTokens + delivery.usage.completionTokens);
      }
      spend?.settle(settlementOf(run, delivery));
      if (this.metrics.enabled || shadowStage) {
        const metric = requestMetricOf({
          at,
          latencyMs: timing.elapsedMs(),
          overheadMs: timing.overheadMs(),
          requestId,
          apiKeyId: key?.caller.id ?? apiKeyIdOf(error),
          stream: request?.stream ?? false,
          route,
          routedModel,
          run,
          delivery,
          error,
          answered,
          completed: res.writableFinished,
          userId,
          spend: spend?.mark,
        });
        this.metrics.record(metric);
        // [shadow] the client has its whole answer (or its error): the candidate gets the same request now.
        if (shadowStage && request && route && run && run.kind !== 'client_gone') {
          const answer = run.kind === 'answered' ? answerOf(run, capture) : null;
          this.shadow.dispatch(shadowStage, request, route, { metric, answer });
        }
      }
    }
  }
}

/** The primary's answer for the pair: the parsed body's, or what the stream's capture kept. */
function answerOf(run: Extract<RunResult, { kind: 'answered' }>, capture: StreamCapture | undefined) {
  if (run.answer.kind === 'json') return run.answer.body ? answerOfBody(run.answer.body) : null;
  return capture?.answer() ?? null;
}

/**
 * What the request's budgets are charged: the answer's exact cost when its usage is known; its worst
 * case when an answer started but its usage is unknown (a broken stream, a client that left: the
 * provider may have billed it); nothing when no upstream answered.
 */
function settlementOf(run: RunResult | undefined, delivery: Delivery | undefined): Settlement {
  if (run?.kind === 'answered') {
    return delivery?.usage ? { billed: 'usage', model: run.model, usage: delivery.usage } : { billed: 'worst' };
  }
  return run?.kind === 'client_gone' ? { billed: 'worst' } : { billed: 'none' };
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
