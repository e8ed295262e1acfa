import { randomUUID } from 'node:crypto';
import { BudgetExhausted, BudgetUnavailable } from '../budgets/budget.errors';
import type { SpendMark } from '../budgets/budget.types';
import type { CatalogModel } from '../config/catalog.schema';
import { costUsd } from '../metrics/cost';
import type { Outcome } from '../metrics/entities/request-metric.entity';
import type { RequestMetric } from '../metrics/request-metric';
import { UpstreamRejectedRequest } from '../providers/provider-errors';
import type { Route } from '../routing/routing.service';
import type { RunResult } from './candidate-runner';
import { CLIENT_CLOSED_STATUS, type Delivery, type ErrorAnswered } from './openai-responder';
import { BodyAbandoned } from './request-body';

/** What happened to one request, as the pipeline saw it; each stage's result, or undefined if not reached. */
export interface RequestFacts {
  at: Date;
  latencyMs: number;
  /** The gateway's own time (RequestTiming): Prometheus only, not a column. */
  overheadMs: number;
  requestId: string;
  /** The key, once known: also a revoked one, or one refused for its scope, policy or limit. */
  apiKeyId: string | null;
  stream: boolean;
  route: Route | undefined;
  /**
   * The route's first candidate, once the answer's headers name it (after the key may use the route):
   * the row's model when the request ends before any call (a budget refuses it), as in the header.
   */
  routedModel?: CatalogModel;
  run: RunResult | undefined;
  delivery: Delivery | undefined;
  /** Why the request ended without an answer: a stage's refusal, or the runner's failure. */
  error: unknown;
  /** Set when `error` was answered. */
  answered: ErrorAnswered | undefined;
  /** False when the client left before the whole answer was written. */
  completed: boolean;
  /** The user the flag was evaluated for, once the body was read (only its keyed hash is stored). */
  userId?: string;
  /** What a spend budget did to the request that was served (downgrade, shadow_only). */
  spend?: SpendMark;
}

/**
 * The request's one outcome, decided here and nowhere else, as the immutable metric row the
 * recorder stores. `rejected`: the gateway refused the request (its key, body, model, context);
 * `invalid_request`: the provider refused it as invalid, no fault of the model; `client_aborted`:
 * the client left; failures of the upstream are `rate_limited`, `timeout` or `upstream_error`.
 */
export function requestMetricOf(facts: RequestFacts): Readonly<RequestMetric> {
  const { route, run, delivery } = facts;
  const outcome = outcomeOf(facts);
  // The model the answer's x-switchyard-model names: the one called last, else the one it was refused for.
  const model = run?.model ?? facts.routedModel;
  const usage = delivery?.usage;
  return Object.freeze({
    id: randomUUID(),
    at: facts.at,
    requestId: facts.requestId,
    policy: route?.policy ?? null,
    flag: route?.flag ?? null,
    flagVersion: route?.flagVersion ?? null,
    variant: route?.variant ?? null,
    provider: model?.provider ?? null,
    model: model?.id ?? null,
    firstModel: route?.chosen.id ?? null,
    outcome,
    httpStatus: outcome === 'client_aborted' ? CLIENT_CLOSED_STATUS : (facts.answered?.status ?? 200),
    errorType: delivery?.broke ? 'upstream_stream_error' : (facts.answered?.errorType ?? null),
    latencyMs: facts.latencyMs,
    overheadMs: facts.overheadMs,
    upstreamLatencyMs: run?.kind === 'answered' ? run.answer.upstreamLatencyMs : null,
    ttftMs: delivery?.ttftMs ?? null,
    promptTokens: usage?.promptTokens ?? null,
    completionTokens: usage?.completionTokens ?? null,
    costUsd: usage && model ? costUsd(model.pricing, usage) : null,
    attempts: run?.attempts ?? 0,
    fallback: (run?.fallback ?? false) && outcome === 'ok',
    stream: facts.stream,
    apiKeyId: facts.apiKeyId,
    userId: facts.userId ?? null,
    ...budgetOf(facts),
    // Judged only on a whole answer: a broken or abandoned one says nothing of the model's content.
    qualitySignals: outcome === 'ok' && delivery ? delivery.quality : null,
  });
}

/** The budget that acted on the request: the one that refused it, or the one that rerouted it. */
function budgetOf({ spend, error }: RequestFacts): { budgetId: string | null; budgetAction: string | null } {
  if (error instanceof BudgetExhausted) return { budgetId: error.budgetId, budgetAction: 'reject' };
  return { budgetId: spend?.budgetId ?? null, budgetAction: spend?.action ?? null };
}

function outcomeOf({ run, delivery, error, answered, completed }: RequestFacts): Outcome {
  // A body Node's parser refused was answered all the same (answered): the client did not leave.
  if (run?.kind === 'client_gone' || (error instanceof BodyAbandoned && !answered)) return 'client_aborted';
  if (delivery?.broke) return 'upstream_error';
  if (error !== undefined) {
    if (error instanceof UpstreamRejectedRequest) return error.blamesRequest ? 'invalid_request' : 'upstream_error';
    // The gateway refused to spend: nothing the model did, whatever the status says.
    if (error instanceof BudgetExhausted || error instanceof BudgetUnavailable) return 'rejected';
    const status = answered?.status ?? 500;
    // Statuses come from the one table (domain-error-status.ts), so this holds for every module's errors.
    if (status === 429) return 'rate_limited';
    if (status === 504) return 'timeout';
    if (status >= 500 || answered?.errorType === 'internal_error') return 'upstream_error';
    return 'rejected';
  }
  return completed ? 'ok' : 'client_aborted';
}

/** The key id a refusal carries (access errors do, once the key is known). */
export function apiKeyIdOf(error: unknown): string | null {
  const id = (error as { apiKeyId?: unknown } | undefined)?.apiKeyId;
  return typeof id === 'string' ? id : null;
}
