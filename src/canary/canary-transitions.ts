import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AlertsService } from '../alerts/alerts.service';
import { newReplicaName } from '../common/replica-name';
import { FlagChangeService } from '../flags/flag-change.service';
import { FlagChangeRefused } from '../flags/flag.errors';
import type { ChangeContext } from '../flags/flag.types';
import { CanariesRepository } from './canaries.repository';
import { CanaryEventsRepository } from './canary-events.repository';
import {
  ACTIVE_STATES,
  type CanaryAlert,
  type CanaryChange,
  type CanaryEventInput,
  type CanaryNotice,
  type CanaryPhase,
  type CanaryState,
} from './canary.types';
import type { CanaryEntity } from './entities/canary.entity';

/** The replica's name in canary events. */
export const INSTANCE_ID = newReplicaName();

type CanaryRef = Pick<
  CanaryEntity,
  'id' | 'flagKey' | 'variant' | 'state' | 'stages' | 'stageIndex' | 'phase' | 'shadow' | 'alertWebhookUrl'
>;

/**
 * Applies a canary's changes — manual or decided by the executor — inside the caller's transaction:
 * the flag's weight (through FlagChangeService, so it lands in flag_history with source `canary`), the
 * canary row, the event and the alert. Either all of it happens or none of it.
 */
@Injectable()
export class CanaryTransitions {
  private readonly logger = new Logger(CanaryTransitions.name);

  constructor(
    private readonly canaries: CanariesRepository,
    private readonly events: CanaryEventsRepository,
    private readonly flags: FlagChangeService,
    private readonly alerts: AlertsService,
  ) {}

  /** `at` is the clock's time: a stage that starts now starts at `at`. */
  async apply(manager: EntityManager, canary: CanaryRef, change: CanaryChange, actor: string, at: Date): Promise<void> {
    const stageIndex = change.stageIndex ?? canary.stageIndex;
    const phase = change.phase ?? canary.phase;
    const context = {
      actor,
      source: 'canary' as const,
      reason: `canary ${canary.id} ${stageNameOf({ ...canary, stageIndex, phase })}: ${change.event.message}`,
      manager,
    };
    // Only taking the treatment away may skip an archived flag (it serves nobody): a promotion may not.
    const withdraws = change.weight === 0 && change.state !== undefined && !ACTIVE_STATES.includes(change.state);
    let flagVersion: number | undefined;
    if (change.weight !== undefined) {
      flagVersion = await this.setWeight(canary, change.weight, context, withdraws);
    } else if (change.state !== undefined && change.state !== canary.state) {
      // Paused or resumed: no weight moves, yet whoever reads the flag's history should see it and why.
      await this.flags.note(canary.flagKey, context);
      if (change.restoreWeight !== undefined)
        flagVersion = await this.setWeight(canary, change.restoreWeight, context, false);
    }
    const state = change.state ?? canary.state;
    const startsStage = change.stageIndex !== undefined || change.restartStage === true;
    // A stage restarted without moving a weight counts from the flag's version now.
    const stageStart = startsStage
      ? { stageStartedAt: at, stageFlagVersion: flagVersion ?? (await this.flags.versionOf(manager, canary.flagKey)) }
      : {};
    await this.canaries.update(manager, canary.id, {
      state,
      stageIndex,
      ...(change.phase ? { phase: change.phase } : {}),
      ...stageStart,
      updatedAt: at,
      ...(ACTIVE_STATES.includes(state) ? {} : { endedAt: at }),
    });
    const after = { ...canary, state, stageIndex, phase };
    await this.appendEvent(manager, after, change.event, actor, at);
    if (change.alert) await this.raiseAlert(manager, after, change.alert);
    this.logger.log(
      { canary: canary.id, flag: canary.flagKey, event: change.event.type, state, stage: stageIndex + 1 },
      change.event.message,
    );
  }

  /**
   * The treatment's weight on the flag; answers the flag's version after it. A canary aborted or
   * rolled back on a flag archived while it was paused has nothing to move back (an archived flag
   * serves nobody): it ends all the same instead of being stuck. A promotion or a resume on such a
   * flag is refused (flag_archived).
   */
  private async setWeight(
    canary: CanaryRef,
    weight: number,
    context: ChangeContext & { manager: EntityManager },
    withdraws: boolean,
  ): Promise<number | undefined> {
    try {
      return (await this.flags.setVariantWeight(canary.flagKey, canary.variant, weight, context)).version;
    } catch (error) {
      if (!(withdraws && error instanceof FlagChangeRefused && error.code === 'flag_archived')) throw error;
      this.logger.warn({ canary: canary.id, flag: canary.flagKey }, 'flag archived: the canary ends without moving it');
      return undefined;
    }
  }

  /** Raises the notice's alert, and writes its event only when the alert is new (once per dedup key). */
  async notify(
    manager: EntityManager,
    canary: CanaryRef,
    notice: CanaryNotice,
    actor: string,
    at: Date,
  ): Promise<void> {
    if (await this.raiseAlert(manager, canary, notice.alert))
      await this.appendEvent(manager, canary, notice.event, actor, at);
  }

  async appendEvent(
    manager: EntityManager,
    canary: { id: string; state: CanaryState; stageIndex: number; phase: CanaryPhase },
    event: CanaryEventInput,
    actor: string,
    at: Date,
  ): Promise<void> {
    await this.events.append(manager, {
      canaryId: canary.id,
      at,
      type: event.type,
      state: canary.state,
      // The shadow stage comes before stage index 0: it has no index of its own.
      stage: canary.phase === 'shadow' ? null : canary.stageIndex,
      message: event.message,
      evidence: event.evidence ?? null,
      actor,
      instance: INSTANCE_ID,
    });
  }

  /**
   * The alert that a running canary's ticks have been failing for STALLED_AFTER_TICKS periods; once
   * per stall (its `since`). An alert only, no event: the event's foreign key would wait on the
   * canary row, which may be what the ticks fail to lock.
   */
  async alertStalled(
    manager: EntityManager,
    canary: CanaryRef,
    stall: { since: Date; missedTicks: number },
    failure: { reason: string; instance: string },
  ): Promise<void> {
    const since = stall.since.toISOString();
    await this.raiseAlert(manager, canary, {
      type: 'canary.stalled',
      dedupKey: `canary:${canary.id}:stalled:${since}`,
      message:
        `canary ${canary.flagKey}: no tick has judged it since ${since} (${stall.missedTicks} tick periods); ` +
        `the last failed on ${failure.instance}: ${failure.reason}. ` +
        'It neither rolls back nor advances until a tick succeeds.',
      evidence: { since, missedTicks: stall.missedTicks, ...failure },
    });
  }

  /** A canary alert in the caller's transaction; false when its dedup key was raised before. */
  private async raiseAlert(manager: EntityManager, canary: CanaryRef, alert: CanaryAlert): Promise<boolean> {
    // The shadow stage comes before stage 1: it has no stage number, and its share is of copied requests.
    const shadow = canary.phase === 'shadow' ? canary.shadow : null;
    const stage = shadow
      ? { phase: 'shadow', percentage: shadow.percentage }
      : { index: canary.stageIndex, percentage: canary.stages[canary.stageIndex].percentage };
    const result = await this.alerts.raise(
      {
        type: alert.type,
        dedupKey: alert.dedupKey,
        message: alert.message,
        flag: canary.flagKey,
        canaryId: canary.id,
        stage: shadow ? null : canary.stageIndex + 1,
        evidence: { state: canary.state, stage, ...(alert.evidence ?? {}) },
        targetUrl: canary.alertWebhookUrl,
      },
      manager,
    );
    return result.created;
  }
}

/** Where the canary stands, for the flag's history: "shadow stage", or "stage 2/4". */
function stageNameOf(canary: Pick<CanaryRef, 'phase' | 'shadow' | 'stages' | 'stageIndex'>): string {
  if (canary.phase === 'shadow' && canary.shadow) return 'shadow stage';
  return `stage ${canary.stageIndex + 1}/${canary.stages.length}`;
}
