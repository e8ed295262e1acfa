import type { TickFailure } from './canaries.repository';
import type { CanaryDto, CanaryStalledDto } from './dto/canary.dto';
import type { CanaryEntity } from './entities/canary.entity';

/** Tick periods without a verdict after which a running canary is shown as stalled. */
export const STALLED_AFTER_TICKS = 3;

/**
 * The API's view of a canary; `now` (the clock's) measures the time spent in a stage still running,
 * and with `tickMs` (CANARY_TICK_SECONDS) how long a running canary has gone without a tick;
 * `tickFailure`, its latest failed tick, says why.
 */
export function toView(canary: CanaryEntity, now: Date, tickMs: number, tickFailure?: TickFailure): CanaryDto {
  const stage = canary.stages[canary.stageIndex];
  // A stage's time stops at the end, and at a pause (the row's last change): a resume starts it again.
  const stageTimeTo = canary.endedAt ?? (canary.state === 'paused' ? canary.updatedAt : now);
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
            elapsedSeconds: (stageTimeTo.getTime() - canary.stageStartedAt.getTime()) / 1000,
            flagVersion: canary.stageFlagVersion,
          }
        : null,
    shadowStage:
      canary.stageStartedAt && canary.phase === 'shadow' && canary.shadow
        ? {
            startedAt: canary.stageStartedAt.toISOString(),
            durationSeconds: canary.shadow.durationSeconds,
            elapsedSeconds: (stageTimeTo.getTime() - canary.stageStartedAt.getTime()) / 1000,
          }
        : null,
    analysis: canary.analysis as unknown as Record<string, unknown>,
    maxStageExtensions: canary.maxStageExtensions,
    alertWebhookOrigin: canary.alertWebhookUrl ? new URL(canary.alertWebhookUrl).origin : null,
    lastVerdict: canary.lastVerdict as unknown as Record<string, unknown> | null,
    lastTickAt: canary.lastTickAt?.toISOString() ?? null,
    stalled: stalledOf(canary, now, tickMs, tickFailure),
    createdBy: canary.createdBy,
    createdAt: canary.createdAt.toISOString(),
    updatedAt: canary.updatedAt.toISOString(),
    endedAt: canary.endedAt?.toISOString() ?? null,
  };
}

/**
 * A running canary that no tick has judged for STALLED_AFTER_TICKS periods, counted from its last
 * tick or its last change (a start or a resume restarts the count). Every replica's tick claims a
 * period, so one missed by all of them means their ticks fail on it (or none runs).
 */
export function stallOf(
  canary: Pick<CanaryEntity, 'state' | 'lastTickAt' | 'updatedAt'>,
  now: Date,
  tickMs: number,
): { since: Date; missedTicks: number } | null {
  if (canary.state !== 'running') return null;
  const sinceMs = Math.max(canary.lastTickAt?.getTime() ?? 0, canary.updatedAt.getTime());
  const missedTicks = Math.floor((now.getTime() - sinceMs) / tickMs);
  return missedTicks >= STALLED_AFTER_TICKS ? { since: new Date(sinceMs), missedTicks } : null;
}

function stalledOf(
  canary: CanaryEntity,
  now: Date,
  tickMs: number,
  tickFailure: TickFailure | undefined,
): CanaryStalledDto | null {
  const stall = stallOf(canary, now, tickMs);
  if (!stall) return null;
  // A failure from before the last verdict or change is not why it is stalled now.
  const lastFailure =
    tickFailure && tickFailure.at >= stall.since
      ? { at: tickFailure.at.toISOString(), reason: tickFailure.reason, instance: tickFailure.instance }
      : null;
  return { since: stall.since.toISOString(), missedTicks: stall.missedTicks, lastFailure };
}
