import type { CanaryDto } from './dto/canary.dto';
import type { CanaryEntity } from './entities/canary.entity';

/** The API's view of a canary; `now` (the clock's) measures the time spent in a stage still running. */
export function toView(canary: CanaryEntity, now: Date): CanaryDto {
  const stage = canary.stages[canary.stageIndex];
  return {
    id: canary.id,
    flagKey: canary.flagKey,
    variant: canary.variant,
    controlVariant: canary.controlVariant,
    state: canary.state,
    stages: canary.stages,
    shadow: canary.shadow,
    phase: canary.phase,
    stage:
      canary.stageStartedAt && canary.phase === 'live'
        ? {
            index: canary.stageIndex,
            percentage: stage.percentage,
            durationSeconds: stage.durationSeconds,
            startedAt: canary.stageStartedAt.toISOString(),
            elapsedSeconds: ((canary.endedAt ?? now).getTime() - canary.stageStartedAt.getTime()) / 1000,
          }
        : null,
    shadowStage:
      canary.stageStartedAt && canary.phase === 'shadow' && canary.shadow
        ? {
            startedAt: canary.stageStartedAt.toISOString(),
            durationSeconds: canary.shadow.durationSeconds,
            elapsedSeconds: ((canary.endedAt ?? now).getTime() - canary.stageStartedAt.getTime()) / 1000,
          }
        : null,
    analysis: canary.analysis as unknown as Record<string, unknown>,
    maxStageExtensions: canary.maxStageExtensions,
    alertWebhookOrigin: canary.alertWebhookUrl ? new URL(canary.alertWebhookUrl).origin : null,
    lastVerdict: canary.lastVerdict as unknown as Record<string, unknown> | null,
    createdBy: canary.createdBy,
    createdAt: canary.createdAt.toISOString(),
    updatedAt: canary.updatedAt.toISOString(),
    endedAt: canary.endedAt?.toISOString() ?? null,
  };
}
