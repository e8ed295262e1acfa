import { Injectable } from '@nestjs/common';
import { judgeShadow } from '@switchyard/stats';
import { ShadowLedger } from '../shadow/shadow-ledger';
import { ShadowPairs } from '../shadow/shadow-pairs.service';
import { judgedStageCount } from './canary-decision';
import type { CanaryChange } from './canary.types';
import type { CanaryEntity } from './entities/canary.entity';
import { decideShadow, shadowChange, shadowSentence, shadowTiming, type StoredShadowVerdict } from './shadow-decision';

/**
 * Reads the shadow stage's pairs and spend and judges them (libs/stats judgeShadow): errors and
 * quality signals against the control on the same prompts (paired, anytime-valid), latency and cost
 * ratios, and the agreement the plan asks for. Its alpha is one stage's share of the canary's.
 */
@Injectable()
export class ShadowJudge {
  constructor(
    private readonly pairs: ShadowPairs,
    private readonly ledger: ShadowLedger,
  ) {}

  async judge(
    canary: CanaryEntity,
    now: Date,
    slotStart: Date,
  ): Promise<{ verdict: StoredShadowVerdict; change?: CanaryChange }> {
    const plan = canary.shadow!;
    const from = canary.stageStartedAt!;
    const [summary, spend] = await Promise.all([
      this.pairs.summary(canary.id, from, now),
      this.ledger.stateOf(canary.id),
    ]);
    const timing = shadowTiming(plan, canary.maxStageExtensions, from, now, (spend?.exhaustedAt ?? null) !== null);
    const margins = canary.analysis.guardrails;
    const judged = judgeShadow(
      summary,
      {
        minPairs: plan.minPairs,
        errorMargin: absoluteOf(margins.errorRate),
        qualityMargin: absoluteOf(margins.errorRate),
        maxLatencyRatio: plan.maxLatencyRatio,
        maxCostRatio: plan.maxCostRatio,
        minAgreementRate: plan.minAgreementRate,
        alpha: canary.analysis.alpha / (judgedStageCount(canary.stages) + 1),
        plannedPairs: Math.max(plan.minPairs * 2, summary.pairs),
      },
      timing.atStageEnd,
    );
    const decision = decideShadow(judged.outcome, timing);
    const examples = judged.outcome === 'fail' ? await this.pairs.examples(canary.id, from, now) : {};
    const verdict: StoredShadowVerdict = {
      ...judged,
      kind: 'shadow',
      at: now.toISOString(),
      slotStart: slotStart.toISOString(),
      decision,
      atStageEnd: timing.atStageEnd,
      spendExhausted: timing.spendExhausted,
      spentUsd: spend?.spentUsd ?? null,
      window: { from: from.toISOString(), to: now.toISOString() },
      examples,
      sentence: shadowSentence(judged, decision, timing),
    };
    return { verdict, change: shadowChange(canary, verdict, from) };
  }
}

/** The error-rate guardrail's margin as a share; a relative or absent one: 1 point, the engine's default. */
function absoluteOf(margin: unknown): number {
  const absolute = (margin as { absolute?: unknown } | null)?.absolute;
  return typeof absolute === 'number' ? absolute : 0.01;
}
