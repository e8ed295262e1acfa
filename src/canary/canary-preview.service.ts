import { Inject, Injectable } from '@nestjs/common';
import {
  dollars,
  judgedMetrics,
  mergeBuckets,
  mergePooled,
  outcomeWindowMs,
  planCanary,
  planThresholds,
  RECENT_SECONDS,
  type CanaryAnalysis,
} from '@switchyard/stats';
import { Clock } from '../common/clock';
import { canaryConfig, type CanaryConfig } from '../config/canary.config';
import { rateWindow } from '../common/rate-window';
import { FlagsService } from '../flags/flags.service';
import { OutcomeMetricsService } from '../outcomes/outcome-metrics.service';
import { CanaryWindowReader } from '../metrics/canary-window-reader';
import { checkPlan } from './canary-validation';
import { stageNameOf, stageTiming } from './canary-decision';
import type { CreateCanaryDto } from './dto/canary-input.dto';
import type { CanaryStage, ShadowPlan } from './canary.types';
import type { CanaryPreviewDto, ShadowPreviewDto } from './dto/canary.dto';

const LOOKBACK_MS = 3_600_000;

/**
 * POST /api/canaries/preview: the plan a create body would run, judged against the flag's last
 * hour of traffic (every variant together; a flag, or traffic, younger than that: since it began,
 * at least a minute) before anything starts — expected requests per arm and
 * stage, the smallest regressions each stage can roll back with 80% power, and how soon the first
 * verdict comes (libs/stats planning.ts). Nothing is stored.
 */
@Injectable()
export class CanaryPreviewService {
  constructor(
    private readonly flags: FlagsService,
    private readonly outcomes: OutcomeMetricsService,
    private readonly windows: CanaryWindowReader,
    private readonly clock: Clock,
    @Inject(canaryConfig.KEY) private readonly config: CanaryConfig,
  ) {}

  async preview(dto: CreateCanaryDto): Promise<CanaryPreviewDto> {
    const { stages, analysis, flag, shadow } = await checkPlan(dto, this.flags, this.outcomes);
    this.flags.assertUsedByPolicy(flag.key);
    const to = this.clock.now();
    const variants = Object.keys(flag.variants);
    // The hour, or as much of it as the flag and its traffic have existed: a rate over time not observed is too low.
    const lookback = { flag: flag.key, variants, from: new Date(to.getTime() - LOOKBACK_MS), to };
    const begins = await this.windows.dataBegins(lookback);
    const observed = rateWindow(to.getTime(), LOOKBACK_MS, Date.parse(flag.createdAt), begins?.getTime() ?? null);
    const from = new Date(observed.fromMs);
    const seconds = observed.ms / 1000;
    const query = { ...lookback, from };
    const pooledByVariant = await this.windows.pooled(query);
    const pooled = mergePooled([...pooledByVariant.values()]);
    const plan = planThresholds(judgedMetrics(analysis), pooled, null);
    const below = new Map(variants.map((variant) => [variant, plan.treatment]));
    const buckets = await this.windows.buckets(query, plan.abandonmentBin, below);
    const traffic = { pooled, buckets: mergeBuckets([...buckets.values()], plan.treatment.length) };
    const result = planCanary({ analysis, stages, traffic, specs: plan.treatment, seconds });
    const windowSeconds = outcomeWindowMs(analysis) / 1000;
    const judgedStages = stages.filter((stage) => stage.durationSeconds > 0).length;
    if (windowSeconds > 0)
      result.warnings.push(
        `each stage waits ${windowSeconds} s past its duration for the attribution windows of its last exposures to close: ${judgedStages * windowSeconds} s added to the rollout`,
      );
    const maxStageExtensions = dto.maxStageExtensions ?? this.config.maxStageExtensions;
    result.warnings.push(...incidentWarnings(stages, analysis, maxStageExtensions, this.config.tickMs));
    return {
      outcomeWindowSeconds: windowSeconds,
      flagKey: flag.key,
      variant: dto.variant,
      window: { from: from.toISOString(), to: to.toISOString() },
      ...result,
      shadow: shadow ? shadowPreviewOf(shadow, pooled.requests, seconds) : null,
      analysis: analysis as unknown as Record<string, unknown>,
    };
  }
}

/**
 * Stages that cannot outlast a shared incident. The control is degraded while its last
 * RECENT_SECONDS are worse than its hour before, so even a short provider outage holds a stage
 * until it has left that window (and a tick has seen it go); a stage that still holds at its hold
 * limit (its duration and extensions, at least MIN_HOLD_MS) pauses (canary-decision.ts decide). Only
 * a tick period of most of half an hour makes that shorter. A 100% stage has no control to be degraded.
 */
export function incidentWarnings(
  stages: CanaryStage[],
  analysis: CanaryAnalysis,
  maxStageExtensions: number,
  tickMs: number,
): string[] {
  const start = new Date(0);
  const extensions = `${maxStageExtensions} extension${maxStageExtensions === 1 ? '' : 's'}`;
  return stages.flatMap((stage, index) => {
    if (stage.durationSeconds <= 0 || stage.percentage >= 100) return [];
    const { holdLimitMs } = stageTiming({ stages, stageIndex: index, maxStageExtensions, analysis }, start, start);
    if (holdLimitMs >= RECENT_SECONDS * 1000 + tickMs) return [];
    return [
      `${stageNameOf({ stages }, index)} may hold at most ${holdLimitMs / 1000} s with ${extensions}: a provider incident holds ` +
        `a stage until the control's last ${RECENT_SECONDS / 60} minutes are healthy again, so this stage will pause ` +
        `rather than wait it out; shorten the tick (CANARY_TICK_SECONDS), lengthen the stage or allow more extensions (maxStageExtensions)`,
    ];
  });
}

/**
 * What a shadow stage adds before the stages: no user moves, the candidate answers copies of the
 * sampled users' requests (at the flag's recent rate), within the spend cap and the concurrency.
 */
export function shadowPreviewOf(shadow: ShadowPlan, recentRequests: number, seconds: number): ShadowPreviewDto {
  const expectedPairs = Math.round(((recentRequests / seconds) * shadow.durationSeconds * shadow.percentage) / 100);
  const rate = `the rate of the last ${Math.round(seconds / 60)} min`;
  const enough = expectedPairs >= shadow.minPairs;
  const agreement =
    shadow.minAgreementRate === null ? '' : `, answers agreeing on at least ${shadow.minAgreementRate * 100}% of pairs`;
  return {
    ...shadow,
    expectedPairs,
    sentence:
      `Before any user is moved, ${shadow.percentage}% of the flag's users have their requests copied to the candidate ` +
      `for ${shadow.durationSeconds}s after their answer (about ${expectedPairs} pairs at ${rate}; ` +
      `at most ${dollars(shadow.maxSpendUsd)}, ${shadow.maxConcurrency} calls in flight per replica). ` +
      `It passes into stage 1 with errors and quality signals no worse than the control's on the same prompts, ` +
      `median latency at most ${shadow.maxLatencyRatio}x and cost at most ${shadow.maxCostRatio}x the control's${agreement}; ` +
      `it needs ${shadow.minPairs} pairs${enough ? '' : ` (more than ${rate} gives: the stage will extend or pause)`}.`,
  };
}
