import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { bucketFor } from '@switchyard/bucketing';
import { worstCasePico } from '../budgets/worst-case';
import { Clock } from '../common/clock';
import { canaryConfig, type CanaryConfig } from '../config/canary.config';
import type { CatalogModel } from '../config/catalog.schema';
import { costPico, costUsd, type TokenUsage } from '../metrics/cost';
import type { Outcome } from '../metrics/entities/request-metric.entity';
import { MetricsRecorder } from '../metrics/metrics-recorder';
import type { RequestMetric } from '../metrics/request-metric';
import { Cancellation } from '../providers/cancellation';
import { UPSTREAM, type Upstream, type UpstreamAnswer } from '../providers/upstream';
import { UpstreamFailure } from '../providers/upstream-failure';
import { type Route, RoutingService } from '../routing/routing.service';
import { answerOfBody, type CapturedAnswer, StreamCapture } from '../shadow/agreement';
import { ShadowCounters } from '../shadow/shadow-counters';
import { ShadowLedger } from '../shadow/shadow-ledger';
import { pairRowOf, type PairSide } from '../shadow/shadow-pair';
import { ShadowPairs } from '../shadow/shadow-pairs.service';
import { type ActiveShadow, ShadowStages } from '../shadow/shadow-stages';
import { qualityOfAnswer, StreamQuality } from './answer-quality';
import { CandidateRunner } from './candidate-runner';
import type { ChatRequest } from './chat-request';
import { upstreamBodyOf } from './upstream-body';

/** The primary request as the pipeline recorded it, and its answer (text and tools), if it had one. */
export interface PrimaryResult {
  metric: Readonly<RequestMetric>;
  answer: CapturedAnswer | null;
}

/** Outcomes of a primary request that a shadow call is compared with: the model's doing, not the caller's. */
const COMPARED_OUTCOMES: ReadonlySet<Outcome> = new Set(['ok', 'upstream_error', 'timeout', 'rate_limited']);

/**
 * The shadow stage's calls (the pipeline's [shadow] step). `sample` decides at routing time, from
 * memory, whether a request is copied: its flag's canary is in its shadow stage, the request is
 * served by the control, the flag is not switched off, and its user falls in the stage's share
 * (sticky: bucketed by user with a salt of the canary's own, distinct from the rollout's).
 * `dispatch` runs after the user's answer was written and recorded, never on the user's time: the
 * same request (streamed if the user's was), with the candidate variant's model, params and system
 * prompt, sent once — no retry,
 * no fallback, no breaker or retry budget touched, no caller limit or budget charged — within the
 * stage's concurrency on this replica (beyond it: skipped and counted) and its spend cap across
 * replicas (ShadowLedger). The answer is discarded (tool calls in it recorded, never returned);
 * its row is marked shadow and paired with the primary's.
 */
@Injectable()
export class ShadowDispatch {
  private readonly logger = new Logger(ShadowDispatch.name);
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly stages: ShadowStages,
    private readonly routing: RoutingService,
    private readonly runner: CandidateRunner,
    @Inject(UPSTREAM) private readonly upstream: Upstream,
    private readonly ledger: ShadowLedger,
    private readonly pairs: ShadowPairs,
    private readonly counters: ShadowCounters,
    private readonly metrics: MetricsRecorder,
    private readonly clock: Clock,
    @Inject(canaryConfig.KEY) private readonly config: CanaryConfig,
  ) {}

  /** The shadow stage this request is copied for, if any; a map lookup and a hash, no I/O. */
  sample(route: Route, userId: string | undefined, requestId: string): ActiveShadow | undefined {
    if (this.stages.size === 0 || route.flag === null) return undefined;
    const stage = this.stages.of(route.flag);
    if (!stage || route.variant !== stage.control || route.reason === 'disabled') return undefined;
    if (bucketFor(stage.salt, userId ?? requestId) >= stage.percentage * 100) return undefined;
    this.counters.sampled(stage.flagKey);
    return stage;
  }

  /** Starts the shadow call in the background; never throws, never waits. */
  dispatch(stage: ActiveShadow, request: ChatRequest, route: Route, primary: PrimaryResult): void {
    if (!COMPARED_OUTCOMES.has(primary.metric.outcome)) return;
    const inFlight = this.inFlight.get(stage.canaryId) ?? 0;
    if (inFlight >= stage.maxConcurrency) {
      this.counters.count(stage.flagKey, 'skipped_concurrency');
      return;
    }
    this.inFlight.set(stage.canaryId, inFlight + 1);
    void this.call(stage, request, route, primary)
      .catch((error: unknown) => {
        this.counters.count(stage.flagKey, 'not_recorded');
        this.logger.warn({ canary: stage.canaryId }, `shadow call not recorded: ${(error as Error).message}`);
      })
      .finally(() => {
        const left = (this.inFlight.get(stage.canaryId) ?? 1) - 1;
        if (left > 0) this.inFlight.set(stage.canaryId, left);
        else this.inFlight.delete(stage.canaryId);
      });
  }

  private async call(stage: ActiveShadow, request: ChatRequest, route: Route, primary: PrimaryResult): Promise<void> {
    const candidateRoute = this.routing.withVariant(route, stage.candidate, 'shadow');
    if (!candidateRoute) {
      this.counters.count(stage.flagKey, 'skipped_stage_ended');
      return;
    }
    const model = candidateRoute.chosen;
    // Streamed like the user's request, so both times to first token are measured the same way.
    const { body, prompt } = this.runner.prepare(request, candidateRoute);
    const worst = worstCasePico(model, body, prompt.upperBound);
    const at = this.clock.now();
    const ticket = await this.ledger.reserve(stage.canaryId, stage.maxSpendUsd, worst, at);
    if (!ticket) {
      this.counters.count(stage.flagKey, 'skipped_spend');
      return;
    }
    // Paused or ended while reserving (a NOTIFY is well under a second): nothing is sent.
    if (this.stages.of(stage.flagKey)?.canaryId !== stage.canaryId) {
      await this.ledger.settle(ticket, 0n);
      this.counters.count(stage.flagKey, 'skipped_stage_ended');
      return;
    }
    const result = await this.ask(model, candidateRoute, body, request);
    const spent = result.usage ? costPico(model.pricing, result.usage) : result.billed ? worst : 0n;
    await this.ledger.settle(ticket, spent);
    const candidate: PairSide = {
      requestId: randomUUID(),
      variant: stage.candidate,
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
    this.metrics.recordShadow(this.shadowRow(candidate, model, route, primary.metric, at, result, request.stream));
    const control: PairSide = {
      requestId: primary.metric.requestId,
      variant: stage.control,
      model: primary.metric.model ?? route.chosen.id,
      outcome: primary.metric.outcome,
      latencyMs: primary.metric.latencyMs,
      ttftMs: primary.metric.ttftMs,
      promptTokens: primary.metric.promptTokens,
      completionTokens: primary.metric.completionTokens,
      costUsd: primary.metric.costUsd,
      quality: primary.metric.qualitySignals,
      answer: primary.answer,
    };
    this.pairs.record(
      pairRowOf({ id: randomUUID(), canaryId: stage.canaryId, at }, control, candidate, this.config.shadowAnswerChars),
      stage.flagKey,
    );
    this.counters.count(stage.flagKey, result.outcome === 'ok' ? 'answered' : 'failed');
  }

  /** One untracked call to the candidate, its whole answer read (a stream to its end) and judged. */
  private async ask(
    model: CatalogModel,
    route: Route,
    body: Record<string, unknown>,
    request: ChatRequest,
  ): Promise<CandidateResult> {
    const started = performance.now();
    const { plan } = route;
    let answer: UpstreamAnswer;
    try {
      answer = await this.upstream.call({
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
        billed: error.kind === 'timeout' || error.kind === 'network',
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
        usage: usageOf(answer.body.usage),
        quality: qualityOfAnswer(answer.body, request.quality),
        answer: answerOfBody(answer.body),
      };
    }
    const ttftMs = performance.now() - started;
    const quality = new StreamQuality(request.quality);
    const capture = new StreamCapture();
    let usage: TokenUsage | undefined;
    let broke = false;
    let sawDone = false;
    try {
      for (const event of [answer.firstEvent]) usage = readEvent(event, quality, capture) ?? usage;
      for await (const event of answer.rest) {
        if (/^data:\s*\[DONE\]\s*$/m.test(event)) {
          sawDone = true;
          break;
        }
        usage = readEvent(event, quality, capture) ?? usage;
      }
      broke = !sawDone;
    } catch {
      broke = true;
    } finally {
      await answer.rest.return(undefined);
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

  private shadowRow(
    candidate: PairSide,
    model: CatalogModel,
    route: Route,
    primary: Readonly<RequestMetric>,
    at: Date,
    result: CandidateResult,
    stream: boolean,
  ): RequestMetric {
    const { failure } = result;
    return {
      id: randomUUID(),
      at,
      requestId: candidate.requestId,
      policy: route.policy,
      flag: route.flag,
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
      // Billed to no key: the caller's limits, budgets and reports never see it.
      apiKeyId: null,
      userId: primary.userId,
      budgetId: null,
      budgetAction: null,
      qualitySignals: candidate.quality,
      shadow: true,
      shadowOf: primary.requestId,
    };
  }
}

/** How the candidate's call went. */
interface CandidateResult {
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

/** One event of the candidate's stream: an error event throws (the stream broke); the usage chunk is returned. */
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
