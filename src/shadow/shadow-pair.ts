import { agreementOf, type CapturedAnswer } from './agreement';
import type { ShadowPairRow } from './shadow-pairs.repository';

/** One side of a pair, as its metric row says it went. */
export interface PairSide {
  requestId: string;
  variant: string;
  model: string;
  outcome: string;
  latencyMs: number;
  ttftMs: number | null;
  promptTokens: number | null;
  completionTokens: number | null;
  costUsd: string | null;
  quality: number | null;
  answer: CapturedAnswer | null;
}

/**
 * The pair's row: both sides' figures and the agreement signals. It disagrees when the answers or
 * the tools called differ, when only one side answered, or when only the candidate's answer shows a
 * quality signal; only then are the answers kept, each cut to `answerChars`.
 */
export function pairRowOf(
  ids: { id: string; canaryId: string; at: Date },
  control: PairSide,
  candidate: PairSide,
  answerChars: number,
): ShadowPairRow {
  const agreement = agreementOf(control.answer, candidate.answer);
  const disagree =
    agreement.exactAgreement === false ||
    agreement.toolsAgreement === false ||
    (control.outcome === 'ok') !== (candidate.outcome === 'ok') ||
    ((candidate.quality ?? 0) !== 0 && (control.quality ?? 0) === 0);
  const kept = (side: PairSide) =>
    disagree && answerChars > 0 && side.answer ? side.answer.text.slice(0, answerChars) : null;
  return {
    id: ids.id,
    canaryId: ids.canaryId,
    at: ids.at,
    primaryRequestId: control.requestId,
    shadowRequestId: candidate.requestId,
    controlVariant: control.variant,
    candidateVariant: candidate.variant,
    controlModel: control.model,
    candidateModel: candidate.model,
    controlOutcome: control.outcome,
    candidateOutcome: candidate.outcome,
    controlLatencyMs: control.latencyMs,
    candidateLatencyMs: candidate.latencyMs,
    controlTtftMs: control.ttftMs,
    candidateTtftMs: candidate.ttftMs,
    controlPromptTokens: control.promptTokens,
    controlCompletionTokens: control.completionTokens,
    candidatePromptTokens: candidate.promptTokens,
    candidateCompletionTokens: candidate.completionTokens,
    controlCostUsd: control.costUsd,
    candidateCostUsd: candidate.costUsd,
    controlQuality: control.quality,
    candidateQuality: candidate.quality,
    exactAgreement: agreement.exactAgreement,
    toolsAgreement: agreement.toolsAgreement,
    lengthRatio: agreement.lengthRatio,
    controlTools: toolsOf(control),
    candidateTools: toolsOf(candidate),
    disagree,
    controlAnswer: kept(control),
    candidateAnswer: kept(candidate),
  };
}

function toolsOf(side: PairSide): string[] | null {
  return side.answer && side.answer.tools.length > 0 ? side.answer.tools : null;
}
