import { Inject, Injectable, Logger } from '@nestjs/common';
import type { DomainError } from '../common/domain-error';
import type { CatalogModel } from '../config/catalog.schema';
import { ClientAbortedError } from '../providers/cancellation';
import type { Cancellation } from '../providers/cancellation';
import { ContextGuard } from '../providers/context-guard';
import { ModelHealth } from '../providers/model-health';
import { upstreamErrorOf } from '../providers/provider-errors';
import { UPSTREAM, type Upstream, type UpstreamAnswer } from '../providers/upstream';
import { UpstreamFailure } from '../providers/upstream-failure';
import type { Route } from '../routing/routing.service';
import type { SpendTicket } from '../budgets/spend-ticket';
import type { PromptSize } from '../providers/prompt-size';
import type { ChatRequest } from './chat-request';
import type { RequestTiming } from './request-timing';
import { routedFieldsOf, upstreamBodyOf } from './upstream-body';

/** What a route sends upstream for a request, and its prompt's size, measured lazily (once per request). */
export interface PreparedCall {
  body: Record<string, unknown>;
  prompt: PromptSize;
}

export interface RunInput {
  request: ChatRequest;
  route: Route;
  /** Cancelled when the client goes away: the upstream call is abandoned. */
  clientGone: Cancellation;
  /** For the log lines about failed candidates. */
  requestId: string;
  /** Upstream calls count as the upstream's time, the rest as the gateway's. */
  timing: RequestTiming;
  /** The body and prompt the budget stage measured for this route (prepared here when absent). */
  prepared?: PreparedCall;
  /** The request's budget reservations: each fallback candidate reserves its own worst case first. */
  spend?: SpendTicket;
}

interface RunSoFar {
  /** The model that answered, or the last one tried. */
  model: CatalogModel;
  /** Upstream calls made, over every candidate. */
  attempts: number;
  /** Whether `model` is not the one routing chose. */
  fallback: boolean;
}

/** How the candidates went: an answer, the error the client is to get, or a client that left. */
export type RunResult =
  | (RunSoFar & { kind: 'answered'; answer: UpstreamAnswer })
  | (RunSoFar & { kind: 'failed'; error: DomainError })
  | (RunSoFar & { kind: 'client_gone' });

/**
 * Tries the route's candidates in order until one answers: the context guard before each (a
 * candidate whose window the prompt does not fit is skipped; only when none fits is the prompt the
 * client's error), the upstream's own retries inside each call, a fallback to the next candidate
 * when one fails — but
 * not when the provider calls the request itself wrong (it is wrong on every model), and not beyond
 * the gateway's budget of extra calls (ModelHealth.extraCallBudget), which bounds what a failure
 * storm costs in upstream calls. Knows nothing of HTTP: it returns what happened.
 */
@Injectable()
export class CandidateRunner {
  private readonly logger = new Logger(CandidateRunner.name);

  constructor(
    @Inject(UPSTREAM) private readonly upstream: Upstream,
    private readonly health: ModelHealth,
    private readonly contextGuard: ContextGuard,
  ) {}

  /** The body `route` sends upstream for `request`, and its prompt as the upstream gets it. */
  prepare(request: ChatRequest, route: Route): PreparedCall {
    const body = routedFieldsOf(request, route);
    // A variant's system prompt counts against the context, and the budget, too.
    return { body, prompt: this.contextGuard.measure(body.messages as ChatRequest['messages']) };
  }

  async run({ request, route, clientGone, requestId, timing, prepared, spend }: RunInput): Promise<RunResult> {
    const { plan } = route;
    const deadlineAt = Date.now() + plan.totalTimeoutMs;
    const { body, prompt } = prepared ?? this.prepare(request, route);
    const upstream = upstreamBodyOf(body, request);
    const extraCalls = this.health.extraCallBudget;
    extraCalls.recordRequest();
    let model = plan.candidates[0];
    let attempts = 0;
    let lastFailure: UpstreamFailure | undefined;
    let tooLongFor: { model: CatalogModel; error: DomainError } | undefined;
    for (const candidate of plan.candidates) {
      // The first call of a request is free; every one after it, a fallback too, needs the budget.
      if (attempts > 0 && !extraCalls.tryAcquireRetry()) break;
      const fallback = candidate.id !== route.chosen.id;
      // A window too small for the prompt skips the candidate, as an outage would: a later one may fit.
      const tooLong = await this.contextGuard.refusal(prompt, candidate);
      if (tooLong) {
        tooLongFor ??= { model: candidate, error: tooLong };
        continue;
      }
      // A fallback spends too: it must fit the request's budgets, or the request stops here.
      const switched = spend?.switchTo(candidate);
      const overBudget = switched && (await switched);
      if (overBudget) {
        // The refused candidate was never called: header and row name the last model that was (its
        // error names the candidate). None called: the candidate, as for a prompt no window fits.
        if (!lastFailure) return { kind: 'failed', error: overBudget, model: candidate, attempts, fallback: false };
        return { kind: 'failed', error: overBudget, model, attempts, fallback: model.id !== route.chosen.id };
      }
      model = candidate;
      timing.upstreamStarted();
      try {
        const answer = await this.upstream.call({
          model,
          body: upstream,
          stream: request.stream,
          attemptTimeoutMs: plan.attemptTimeoutMs,
          firstChunkTimeoutMs: plan.firstChunkTimeoutMs,
          maxRetries: plan.maxRetriesPerModel,
          deadlineAt,
          clientGone,
        });
        return { kind: 'answered', answer, model, attempts: attempts + answer.attempts, fallback };
      } catch (error) {
        if (error instanceof ClientAbortedError)
          return { kind: 'client_gone', model, attempts: attempts + error.attempts, fallback };
        if (!(error instanceof UpstreamFailure)) throw error;
        attempts += error.details.attempts;
        lastFailure = error;
        this.logFailure(model, error, requestId);
        // A request the provider refuses is refused by every model: say so instead of falling back.
        if (error.kind === 'invalid_request' || error.kind === 'client_error') break;
      } finally {
        timing.upstreamEnded();
      }
    }
    // No candidate was called (none had the window): the prompt is what the client must change.
    if (!lastFailure && tooLongFor)
      return { kind: 'failed', error: tooLongFor.error, model: tooLongFor.model, attempts, fallback: false };
    const error = upstreamErrorOf(lastFailure);
    return { kind: 'failed', error, model, attempts, fallback: model.id !== route.chosen.id };
  }

  /** The upstream's own message goes here (already redacted of provider keys), never to the client. */
  private logFailure(model: CatalogModel, failure: UpstreamFailure, requestId: string): void {
    const { attempts, status, upstreamError } = failure.details;
    this.logger.warn(
      { requestId, model: model.id, kind: failure.kind, status, attempts, upstreamError },
      `${model.id} failed (${failure.kind}): ${failure.message}`,
    );
  }
}
