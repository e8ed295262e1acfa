import { estimateBeyondMargin, outcomeWindowMs, type StageVerdict } from '@switchyard/stats';
import type {
  CanaryChange,
  CanaryDecision,
  CanaryNotice,
  CanarySnapshot,
  CanaryStage,
  StoredVerdict,
} from './canary.types';
import { verdictSentence } from './verdict-text';

/*
 * The canary's decisions as pure functions: given the canary's state, the stage's timing and the
 * engine's verdict on the stage's window (libs/stats judgeStage), what is decided and what
 * changes. No Nest, no database, no clock: the executor (and the Monte Carlo simulator) reads,
 * judges, calls these, and applies what they return.
 */

/** Where a running canary stands in its current stage at `now`. */
export interface StageTiming {
  index: number;
  stage: CanaryStage;
  isLast: boolean;
  durationMs: number;
  elapsedMs: number;
  /** The stage's time is up: a pass may advance. */
  atStageEnd: boolean;
  /** How long the stage may wait for data or stay extended: its duration plus every allowed extension. */
  limitMs: number;
  /** How long it may hold through a shared incident: its limit, but never less than MIN_HOLD_MS. */
  holdLimitMs: number;
  /**
   * A pass here may promote: this is the first look since the stage's end, or since the end of the
   * extension the last look decided. Between those checkpoints an extended stage is judged for harm
   * only: an estimate past its margin, looked at every tick, would dip under it by chance.
   */
  promotionDue: boolean;
  /** When (in the stage) an extension decided now would next judge the estimates. */
  nextCheckpointMs: number;
}

/**
 * A provider incident holds a stage until the control's last 5 minutes are healthy again (libs/stats
 * degradation.ts), which a stage of a few minutes cannot outlast: with its limit alone it would pause
 * for a person on every incident. Half an hour waits out most incidents whatever the stage's length.
 */
export const MIN_HOLD_MS = 30 * 60_000;

/** The canary's last look in its current stage, as far as the promotion checkpoints need it. */
export interface PreviousLook {
  at: Date;
  decision: CanaryDecision;
}

/**
 * The stored last verdict, if it was judged in the stage running since `stageStartedAt`; its time
 * is the start of its tick period, as the executor's timing counts (see stageTimingAt).
 */
export function previousLookIn(
  canary: Pick<CanarySnapshot, 'stageIndex'> & {
    lastVerdict: Pick<StoredVerdict, 'at' | 'slotStart' | 'stage' | 'decision'> | null;
  },
  stageStartedAt: Date,
): PreviousLook | null {
  const last = canary.lastVerdict;
  if (!last || last.stage !== canary.stageIndex) return null;
  // Before a resume restarted the stage: that window is not this one.
  if (new Date(last.at).getTime() < stageStartedAt.getTime()) return null;
  return { at: new Date(last.slotStart), decision: last.decision };
}

/**
 * stageTiming on tick periods: from the start of the period the stage began in to the start of the
 * period judged now. Ticks run a few milliseconds into their periods, and not always the same few: a
 * stage stamped 7 ms into one and looked at 2 ms into the period of its end would be 5 ms short of
 * it and end a tick late (more than half the stage ends of a live run at 5-s ticks).
 */
export function stageTimingAt(
  canary: Parameters<typeof stageTiming>[0] & Parameters<typeof previousLookIn>[0],
  stageStartedAt: Date,
  slotStart: Date,
  tickMs: number,
): StageTiming {
  const stageSlot = slotStartOf(stageStartedAt.getTime(), tickMs);
  return stageTiming(canary, stageSlot, slotStart, previousLookIn(canary, stageStartedAt));
}

export function stageTiming(
  canary: Pick<CanarySnapshot, 'stages' | 'stageIndex' | 'maxStageExtensions'> & {
    analysis?: Pick<CanarySnapshot['analysis'], 'outcomes'>;
  },
  stageStartedAt: Date,
  now: Date,
  previousLook: PreviousLook | null = null,
): StageTiming {
  const stage = canary.stages[canary.stageIndex];
  // A stage gating on outcome metrics cannot finish while its exposures' attribution windows are open.
  const windowMs = stage.durationSeconds > 0 && canary.analysis ? outcomeWindowMs(canary.analysis) : 0;
  const durationMs = stage.durationSeconds * 1000 + windowMs;
  const extensionMs = stage.durationSeconds * 1000;
  const limitMs = durationMs + extensionMs * canary.maxStageExtensions;
  const elapsedMs = now.getTime() - stageStartedAt.getTime();
  // The checkpoints are the stage's end and the end of each extension; the last one is the limit.
  const passed = extensionMs > 0 ? Math.floor(Math.max(0, elapsedMs - durationMs) / extensionMs) : 0;
  const checkpointMs = Math.min(durationMs + passed * extensionMs, limitMs);
  const extendedSinceCheckpoint =
    previousLook?.decision === 'extend' && previousLook.at.getTime() - stageStartedAt.getTime() >= checkpointMs;
  return {
    index: canary.stageIndex,
    stage,
    isLast: canary.stageIndex === canary.stages.length - 1,
    durationMs,
    elapsedMs,
    atStageEnd: elapsedMs >= durationMs,
    limitMs,
    holdLimitMs: Math.max(limitMs, MIN_HOLD_MS),
    promotionDue: !extendedSinceCheckpoint,
    nextCheckpointMs: Math.min(checkpointMs + extensionMs, limitMs),
  };
}

/** The start of the tick period `nowMs` falls in: what replicas claim, so a period gets one verdict. */
export function slotStartOf(nowMs: number, tickMs: number): Date {
  return new Date(Math.floor(nowMs / tickMs) * tickMs);
}

/** Stages that are judged (those with a duration): the canary's alpha is split over them. */
export function judgedStageCount(stages: readonly CanaryStage[]): number {
  return Math.max(1, stages.filter((stage) => stage.durationSeconds > 0).length);
}

/*
 * The decision alone. A confidence sequence stays valid at every look, so one verdict beyond a
 * margin is enough to roll back: there is no count of failed checks. Harm is the only way to a
 * rollback; a stage that lacks data ends, once its time and every allowed extension are used, in a
 * pause, and so does one that keeps holding (the control unwell) past that or MIN_HOLD_MS, never in
 * a rollback at some later look. A stage
 * advances when its time is up and no harm is shown (the choice GrowthBook's safe rollouts and
 * LaunchDarkly's guarded rollouts make: the preview says beforehand what each stage can detect).
 * Each advance brings a larger, more telling sample; a promotion ends the judging. So a canary does
 * not promote while some guardrail's best estimate is past its margin, proven or not: its last stage
 * is extended and judged on: for harm at every look (a rollback once it shows), for the promotion at
 * the end of each extension (once the estimate is back within the margin there), and paused for a
 * person if its extensions run out first. With few requests no
 * stage can prove a moderate regression, and without this such a treatment would reach 100% about
 * as often as not. It only ever delays a move, so the chance of rolling back a treatment within its
 * margins stays at most alpha.
 */
export function decide(
  canary: Pick<CanarySnapshot, 'stages' | 'stageIndex'>,
  timing: StageTiming,
  verdict: Pick<StageVerdict, 'outcome' | 'metrics'>,
): CanaryDecision {
  const overdue = timing.atStageEnd && timing.elapsedMs >= timing.limitMs;
  switch (verdict.outcome) {
    case 'srm':
      return 'pause';
    case 'fail':
      return 'rollback';
    case 'hold':
      return timing.atStageEnd && timing.elapsedMs >= timing.holdLimitMs ? 'pause' : 'hold';
    case 'insufficient_data':
      return overdue ? 'pause' : 'wait';
    case 'pass': {
      if (!timing.atStageEnd) return 'wait';
      const next = canary.stages[canary.stageIndex + 1];
      // A final stage of 0 seconds is "everyone on the treatment": reaching it is the promotion.
      const promote =
        timing.isLast || (canary.stageIndex + 1 === canary.stages.length - 1 && next.durationSeconds === 0);
      if (!promote) return 'advance';
      if (!timing.promotionDue) return 'extend';
      return verdict.metrics.some(estimateBeyondMargin) ? (overdue ? 'pause' : 'extend') : 'promote';
    }
  }
}

export interface TickInput {
  canary: CanarySnapshot;
  timing: StageTiming;
  verdict: StageVerdict;
  /** When the tick judged (the clock's time), and the start of its tick period. */
  at: Date;
  slotStart: Date;
  window: { from: Date; to: Date };
}

export interface TickDecision {
  decision: CanaryDecision;
  /** The verdict as stored on the canary and in its `verdict` event. */
  verdict: StoredVerdict;
  /** What the decision changes (a rollback, an advance...); none for wait and hold. */
  change?: CanaryChange;
  /**
   * Said once per stage without a change: the treatment is held because the control is unwell too,
   * or its stage extended because an estimate is past its margin.
   */
  notice?: CanaryNotice;
}

export function decideTick(input: TickInput): TickDecision {
  const { canary, timing, verdict } = input;
  const decision = decide(canary, timing, verdict);
  const stored: StoredVerdict = {
    ...verdict,
    at: input.at.toISOString(),
    slotStart: input.slotStart.toISOString(),
    stage: canary.stageIndex,
    percentage: timing.stage.percentage,
    decision,
    atStageEnd: timing.atStageEnd,
    window: { from: input.window.from.toISOString(), to: input.window.to.toISOString() },
    sentence: verdictSentence(verdict, {
      decision,
      stageName: stageNameOf(canary, canary.stageIndex),
      nextStageName: canary.stages[canary.stageIndex + 1] ? stageNameOf(canary, canary.stageIndex + 1) : undefined,
      elapsedSeconds: timing.elapsedMs / 1000,
      durationSeconds: timing.durationMs / 1000,
      limitSeconds: timing.limitMs / 1000,
      holdLimitSeconds: timing.holdLimitMs / 1000,
      maxStageExtensions: canary.maxStageExtensions,
      promotionDue: timing.promotionDue,
      nextCheckpointSeconds: timing.nextCheckpointMs / 1000,
    }),
  };
  return { decision, verdict: stored, ...consequences(canary, decision, stored) };
}

/** "stage 2 (15%)" */
export function stageNameOf(canary: Pick<CanarySnapshot, 'stages'>, index: number): string {
  return `stage ${index + 1} (${canary.stages[index].percentage}%)`;
}

function consequences(
  canary: CanarySnapshot,
  decision: CanaryDecision,
  verdict: StoredVerdict,
): Pick<TickDecision, 'change' | 'notice'> {
  const { id, stages, stageIndex, flagKey } = canary;
  const evidence = { verdict };
  const sentence = verdict.sentence;
  const stageStart = canary.stageStartedAt?.toISOString();
  switch (decision) {
    case 'rollback':
      return {
        change: {
          state: 'rolled_back',
          weight: 0,
          event: { type: 'rolled_back', message: sentence, evidence },
          alert: {
            type: 'canary.rolled_back',
            dedupKey: `canary:${id}:rolled_back`,
            message: `Canary on ${flagKey} ${sentence}`,
            evidence,
          },
        },
      };
    case 'advance':
      return {
        change: {
          stageIndex: stageIndex + 1,
          weight: stages[stageIndex + 1].percentage,
          event: { type: 'stage_advanced', message: sentence, evidence },
          alert: {
            type: 'canary.stage_advanced',
            dedupKey: `canary:${id}:stage:${stageIndex + 1}`,
            message: `Canary on ${flagKey}: ${sentence}`,
            evidence,
          },
        },
      };
    case 'promote':
      return {
        change: {
          state: 'promoted',
          stageIndex: stages.length - 1,
          weight: 100,
          event: { type: 'promoted', message: sentence, evidence },
          alert: {
            type: 'canary.promoted',
            dedupKey: `canary:${id}:promoted`,
            message: `Canary on ${flagKey} promoted: ${canary.variant} serves 100%. ${sentence}`,
            evidence,
          },
        },
      };
    case 'pause':
      return {
        change: {
          state: 'paused',
          event: { type: 'paused', message: sentence, evidence },
          alert: {
            type: 'canary.paused',
            dedupKey: `canary:${id}:paused:${stageIndex}:${stageStart}`,
            message: `Canary on ${flagKey} ${sentence}`,
            evidence,
          },
        },
      };
    case 'extend':
      return {
        notice: {
          alert: {
            type: 'canary.extended',
            dedupKey: `canary:${id}:extended:${stageIndex}:${stageStart}`,
            message: `Canary on ${flagKey} ${sentence}`,
            evidence,
          },
          event: { type: 'stage_extended', message: sentence, evidence },
        },
      };
    case 'hold':
      return {
        notice: {
          alert: {
            type: 'canary.held',
            dedupKey: `canary:${id}:held:${stageIndex}:${stageStart}`,
            message: `Canary on ${flagKey} ${sentence}`,
            evidence,
          },
          event: { type: 'held', message: sentence, evidence },
        },
      };
    case 'wait':
      return {};
  }
}

/**
 * The flag refused the weight a decision needed (archived, or other variants' weights leave no
 * room): retrying every tick would fail the same way, so the canary pauses and a person is told.
 */
export function pauseOnRefusal(canary: CanarySnapshot, verdict: StoredVerdict, refusal: string): CanaryChange {
  const message = `could not ${verdict.decision} (${verdict.outcome}): the flag refused the weight change: ${refusal}; paused until the flag is fixed`;
  return {
    state: 'paused',
    event: { type: 'paused', message, evidence: { verdict, refusal } },
    alert: {
      type: 'canary.paused',
      dedupKey: `canary:${canary.id}:flag-refused:${canary.stageIndex}:${canary.stageStartedAt?.toISOString()}`,
      message: `Canary on ${canary.flagKey} ${message}`,
      evidence: { refusal, decision: verdict.decision },
    },
  };
}

/** The `verdict` event's message, e.g. "fail -> rollback: rolled back in stage 2 (15%): error rate ...". */
export function verdictMessage(verdict: StoredVerdict): string {
  return `${verdict.outcome} -> ${verdict.decision}: ${verdict.sentence}`;
}
