import { qualitySignalsOf } from '../metrics/quality-signals';
import type { ShadowPairEntity } from '../shadow/entities/shadow-pair.entity';
import type { ShadowPairDto } from './dto/canary.dto';

/** The API's view of a shadow pair: both sides side by side. */
export function shadowPairView(pair: ShadowPairEntity): ShadowPairDto {
  return {
    id: pair.id,
    at: pair.at.toISOString(),
    primaryRequestId: pair.primaryRequestId,
    shadowRequestId: pair.shadowRequestId,
    control: {
      variant: pair.controlVariant,
      model: pair.controlModel,
      outcome: pair.controlOutcome,
      latencyMs: pair.controlLatencyMs,
      ttftMs: pair.controlTtftMs,
      promptTokens: pair.controlPromptTokens,
      completionTokens: pair.controlCompletionTokens,
      costUsd: pair.controlCostUsd,
      qualitySignals: qualitySignalsOf(pair.controlQuality),
      tools: pair.controlTools ?? [],
      answer: pair.controlAnswer,
    },
    candidate: {
      variant: pair.candidateVariant,
      model: pair.candidateModel,
      outcome: pair.candidateOutcome,
      latencyMs: pair.candidateLatencyMs,
      ttftMs: pair.candidateTtftMs,
      promptTokens: pair.candidatePromptTokens,
      completionTokens: pair.candidateCompletionTokens,
      costUsd: pair.candidateCostUsd,
      qualitySignals: qualitySignalsOf(pair.candidateQuality),
      tools: pair.candidateTools ?? [],
      answer: pair.candidateAnswer,
    },
    exactAgreement: pair.exactAgreement,
    toolsAgreement: pair.toolsAgreement,
    lengthRatio: pair.lengthRatio,
    disagree: pair.disagree,
  };
}
