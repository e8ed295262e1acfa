import { randomUUID } from 'node:crypto';
import type { CatalogModel } from '../config/catalog.schema';
import { costUsd } from '../metrics/cost';
import type { Outcome } from '../metrics/entities/request-metric.entity';
import type { RequestMetric } from '../metrics/request-metric';
import type { Route } from '../routing/routing.service';
import type { CapturedAnswer } from '../shadow/agreement';
import type { PairSide } from '../shadow/shadow-pair';
import type { ShadowCallResult } from './shadow-call';

/** The primary request as the pipeline recorded it, and its answer (text and tools), if it had one. */
export interface PrimaryResult {
  metric: Readonly<RequestMetric>;
  answer: CapturedAnswer | null;
}

/** The candidate's side of the pair, under a request id of its own (its row's). */
export function candidateSideOf(variant: string, model: CatalogModel, result: ShadowCallResult): PairSide {
  return {
    requestId: randomUUID(),
    variant,
    model: model.id,
    outcome: result.outcome,
    latencyMs: result.latencyMs,
    ttftMs: result.ttftMs,
    promptTokens: result.usage?.promptTokens ?? null,
    completionTokens: result.usage?.completionTokens ?? null,
    costUsd: result.usage ? costUsd(model.pricing, result.usage) : null,
    quality: result.quality,
    answer: result.answer,
  };
}

/** The control's side: the user's own request, as its row recorded it. */
export function controlSideOf(variant: string, route: Route, primary: PrimaryResult): PairSide {
  const { metric } = primary;
  return {
    requestId: metric.requestId,
    variant,
    model: metric.model ?? route.chosen.id,
    outcome: metric.outcome,
    latencyMs: metric.latencyMs,
    ttftMs: metric.ttftMs,
    promptTokens: metric.promptTokens,
    completionTokens: metric.completionTokens,
    costUsd: metric.costUsd,
    quality: metric.qualitySignals,
    answer: primary.answer,
  };
}

/**
 * The shadow call's request_metrics row: marked `shadow`, `shadow_of` the primary's request id, and
 * billed to no key, so the caller's limits, budgets and reports never see it.
 */
export function shadowRowOf(
  candidate: PairSide,
  model: CatalogModel,
  route: Route,
  primary: Readonly<RequestMetric>,
  at: Date,
  result: ShadowCallResult,
  stream: boolean,
): RequestMetric {
  const { failure } = result;
  return {
    id: randomUUID(),
    at,
    requestId: candidate.requestId,
    policy: route.policy,
    flag: route.flag,
    flagVersion: route.flagVersion,
    variant: candidate.variant,
    provider: model.provider,
    model: model.id,
    firstModel: model.id,
    outcome: candidate.outcome as Outcome,
    httpStatus: failure ? (failure.details.status ?? 502) : 200,
    errorType: failure ? failure.kind : candidate.outcome === 'ok' ? null : 'upstream_stream_error',
    latencyMs: candidate.latencyMs,
    overheadMs: 0,
    upstreamLatencyMs: failure ? null : (candidate.ttftMs ?? candidate.latencyMs),
    ttftMs: candidate.ttftMs,
    promptTokens: candidate.promptTokens,
    completionTokens: candidate.completionTokens,
    costUsd: candidate.costUsd,
    attempts: 1,
    fallback: false,
    stream,
    apiKeyId: null,
    userId: primary.userId,
    budgetId: null,
    budgetAction: null,
    qualitySignals: candidate.quality,
    shadow: true,
    shadowOf: primary.requestId,
  };
}
