import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { bucketFor } from '@switchyard/bucketing';
import { worstCasePico } from '../budgets/worst-case';
import { Clock } from '../common/clock';
import { canaryConfig, type CanaryConfig } from '../config/canary.config';
import { costPico } from '../metrics/cost';
import type { Outcome } from '../metrics/entities/request-metric.entity';
import { MetricsRecorder } from '../metrics/metrics-recorder';
import { AnswerParser } from '../providers/answer-parser';
import { UPSTREAM, type Upstream } from '../providers/upstream';
import { type Route, RoutingService } from '../routing/routing.service';
import { ShadowCounters } from '../shadow/shadow-counters';
import { ShadowLedger } from '../shadow/shadow-ledger';
import { pairRowOf } from '../shadow/shadow-pair';
import { ShadowPairs } from '../shadow/shadow-pairs.service';
import { type ActiveShadow, ShadowStages } from '../shadow/shadow-stages';
import { CandidateRunner } from './candidate-runner';
import type { ChatRequest } from './chat-request';
import { callShadowCandidate } from './shadow-call';
import { candidateSideOf, controlSideOf, type PrimaryResult, shadowRowOf } from './shadow-rows';

/** Outcomes of a primary request that a shadow call is compared with: the model's doing, not the caller's. */
const COMPARED_OUTCOMES: ReadonlySet<Outcome> = new Set(['ok', 'upstream_error', 'timeout', 'rate_limited']);

/**
 * The shadow stage's calls (the pipeline's [shadow] step). `sample` decides at routing time, from
 * memory, whether a request is copied: its flag's canary is in its shadow stage, the request is
 * served by the control, the flag is not switched off, and its user falls in the stage's share
 * (sticky: bucketed by user with a salt of the canary's own, distinct from the rollout's).
 * `dispatch` runs after the user's answer was written and recorded, never on the user's time: the
 * same request (streamed if the user's was), with the candidate variant's model, params and system
 * prompt, sent once (shadow-call.ts) — no retry, no fallback, no breaker or retry budget touched, no
 * caller limit or budget charged — within the stage's concurrency on this replica (beyond it: skipped
 * and counted) and its spend cap across replicas (ShadowLedger). The answer is discarded (tool calls
 * in it recorded, never returned); its row is marked shadow and paired with the primary's
 * (shadow-rows.ts).
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
    private readonly parser: AnswerParser,
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
    const result = await callShadowCandidate(this.upstream, this.parser, model, candidateRoute, body, request);
    const spent = result.usage ? costPico(model.pricing, result.usage) : result.billed ? worst : 0n;
    await this.ledger.settle(ticket, spent);
    const candidate = candidateSideOf(stage.candidate, model, result);
    this.metrics.recordShadow(shadowRowOf(candidate, model, route, primary.metric, at, result, request.stream));
    const control = controlSideOf(stage.control, route, primary);
    this.pairs.record(
      pairRowOf({ id: randomUUID(), canaryId: stage.canaryId, at }, control, candidate, this.config.shadowAnswerChars),
      stage.flagKey,
    );
    this.counters.count(stage.flagKey, result.outcome === 'ok' ? 'answered' : 'failed');
  }
}
