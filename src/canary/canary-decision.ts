import type { CanaryAnalysis, WindowVerdict } from '@switchyard/stats';
import type {
  CanaryChange,
  CanaryDecision,
  CanaryNotice,
  CanarySnapshot,
  CanaryStage,
  StoredVerdict,
} from './canary.types';

/*
 * The canary's decisions as pure functions: given the canary's state, the stage's timing and the
 * window's verdict (libs/stats), what is decided and what changes. No Nest, no database, no clock:
 * the executor reads, judges, calls these, and applies what they return in one transaction.
 */

/** Where a running canary stands in its current stage at `now`. */
export interface StageTiming {
  index: number;
  stage: CanaryStage;
  isLast: boolean;
  durationMs: number;
  elapsedMs: number;
  /** The stage's time is up: the stricter stage-end gates apply, and a pass may advance. */
  atStageEnd: boolean;
  /** How long the stage may wait for enough data: its duration plus every allowed extension. */
  limitMs: number;
}

export function stageTiming(canary: CanarySnapshot, stageStartedAt: Date, now: Date): StageTiming {
  const stage = canary.stages[canary.stageIndex];
  const durationMs = stage.durationSeconds * 1000;
  const elapsedMs = now.getTime() - stageStartedAt.getTime();
  return {
    index: canary.stageIndex,
    stage,
    isLast: canary.stageIndex === canary.stages.length - 1,
    durationMs,
    elapsedMs,
    atStageEnd: elapsedMs >= durationMs,
    limitMs: durationMs * (1 + canary.maxStageExtensions),
  };
}

/** The start of the tick period `nowMs` falls in: what replicas claim, so a period gets one verdict. */
export function slotStartOf(nowMs: number, tickMs: number): Date {
  return new Date(Math.floor(nowMs / tickMs) * tickMs);
}

/** At 100% there is no control traffic left to compare with: the treatment is judged on its own. */
export function analysisForStage(analysis: CanaryAnalysis, stage: CanaryStage): CanaryAnalysis {
  return stage.percentage >= 100 ? { ...analysis, compareToControl: false, maxCostRatioToControl: null } : analysis;
}

export interface TickInput {
  canary: CanarySnapshot;
  timing: StageTiming;
  verdict: WindowVerdict;
  /** When the tick judged (the clock's time), and the start of its tick period. */
  at: Date;
  slotStart: Date;
  window: { from: Date; to: Date };
}

export interface TickDecision {
  decision: CanaryDecision;
  /** Failed checks in the stage after this verdict. */
  failedChecks: number;
  /** The verdict as stored on the canary and in its `verdict` event. */
  verdict: StoredVerdict;
  /** What the decision changes (a rollback, an advance...); none for wait and hold. */
  change?: CanaryChange;
  /** Said once per stage without a change: the treatment is held because the control is unwell too. */
  notice?: CanaryNotice;
}

export function decideTick(input: TickInput): TickDecision {
  const { canary, timing, verdict } = input;
  const { decision, failedChecks } = decide(canary, timing, verdict);
  const stored: StoredVerdict = {
    at: input.at.toISOString(),
    slotStart: input.slotStart.toISOString(),
    stage: canary.stageIndex,
    decision,
    outcome: verdict.outcome,
    severe: verdict.severe,
    reasons: verdict.reasons,
    failedChecks,
    atStageEnd: timing.atStageEnd,
    window: { from: input.window.from.toISOString(), to: input.window.to.toISOString() },
    checks: verdict.checks,
    evidence: verdict.evidence,
  };
  return { decision, failedChecks, verdict: stored, ...consequences(canary, decision, stored) };
}

/** The decision alone: count a failed check, roll back, advance, promote, hold, wait, or pause. */
export function decide(
  canary: Pick<CanarySnapshot, 'stages' | 'stageIndex' | 'failedChecks' | 'analysis'>,
  timing: StageTiming,
  verdict: Pick<WindowVerdict, 'outcome' | 'severe'>,
): { decision: CanaryDecision; failedChecks: number } {
  const failedChecks = canary.failedChecks;
  switch (verdict.outcome) {
    case 'fail': {
      const failed = failedChecks + 1;
      const rollback = verdict.severe || failed >= canary.analysis.failureThreshold;
      return { decision: rollback ? 'rollback' : 'hold', failedChecks: failed };
    }
    case 'hold':
      return { decision: 'hold', failedChecks };
    case 'insufficient_data':
      return { decision: timing.atStageEnd && timing.elapsedMs >= timing.limitMs ? 'pause' : 'wait', failedChecks };
    case 'pass': {
      if (!timing.atStageEnd) return { decision: 'wait', failedChecks };
      const next = canary.stages[canary.stageIndex + 1];
      // A final stage of 0 seconds is "everyone on the treatment": reaching it is the promotion.
      const promote =
        timing.isLast || (canary.stageIndex + 1 === canary.stages.length - 1 && next.durationSeconds === 0);
      return { decision: promote ? 'promote' : 'advance', failedChecks };
    }
  }
}

function stageNameOf(canary: Pick<CanarySnapshot, 'stages'>, index: number): string {
  return `stage ${index + 1}/${canary.stages.length} (${canary.stages[index].percentage}%)`;
}

function consequences(
  canary: CanarySnapshot,
  decision: CanaryDecision,
  verdict: StoredVerdict,
): Pick<TickDecision, 'change' | 'notice'> {
  const { id, stages, stageIndex, flagKey } = canary;
  const stageName = stageNameOf(canary, stageIndex);
  const evidence = { verdict };
  const reasons = verdict.reasons.join('; ');
  const stageStart = canary.stageStartedAt?.toISOString();
  switch (decision) {
    case 'rollback': {
      const how = verdict.severe ? ' at once (severe)' : ` after ${verdict.failedChecks} failed checks`;
      return {
        change: {
          state: 'rolled_back',
          weight: 0,
          event: { type: 'rolled_back', message: `rolled back in ${stageName}${how}: ${reasons}`, evidence },
          alert: {
            type: 'canary.rolled_back',
            dedupKey: `canary:${id}:rolled_back`,
            message: `Canary on ${flagKey} rolled back in ${stageName}: ${reasons}`,
            evidence,
          },
        },
      };
    }
    case 'advance': {
      const nextName = stageNameOf(canary, stageIndex + 1);
      return {
        change: {
          stageIndex: stageIndex + 1,
          weight: stages[stageIndex + 1].percentage,
          event: { type: 'stage_advanced', message: `${stageName} healthy; advanced to ${nextName}`, evidence },
          alert: {
            type: 'canary.stage_advanced',
            dedupKey: `canary:${id}:stage:${stageIndex + 1}`,
            message: `Canary on ${flagKey} advanced to ${nextName}`,
            evidence,
          },
        },
      };
    }
    case 'promote':
      return {
        change: {
          state: 'promoted',
          stageIndex: stages.length - 1,
          weight: 100,
          event: { type: 'promoted', message: `${stageName} healthy; promoted: treatment at 100%`, evidence },
          alert: {
            type: 'canary.promoted',
            dedupKey: `canary:${id}:promoted`,
            message: `Canary on ${flagKey} promoted: ${canary.variant} serves 100%`,
            evidence,
          },
        },
      };
    case 'pause':
      return {
        change: {
          state: 'paused',
          event: {
            type: 'paused',
            message: `${stageName} still lacks traffic after ${canary.maxStageExtensions} extensions; paused: ${reasons}`,
            evidence,
          },
          alert: {
            type: 'canary.paused',
            dedupKey: `canary:${id}:paused:${stageIndex}:${stageStart}`,
            message: `Canary on ${flagKey} paused in ${stageName}: not enough traffic to judge (${reasons})`,
            evidence,
          },
        },
      };
    case 'hold':
      // A hold after a failed check below the threshold is said by the verdict; this is the control being unwell.
      if (verdict.outcome !== 'hold') return {};
      return {
        notice: {
          alert: {
            type: 'canary.held',
            dedupKey: `canary:${id}:held:${stageIndex}:${stageStart}`,
            message: `Canary on ${flagKey} holding in ${stageName}: ${reasons}`,
            evidence,
          },
          event: { type: 'held', message: `holding in ${stageName}: ${reasons}`, evidence },
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

/** The `verdict` event's message, e.g. "fail -> rollback: error rate 0.52 > 0.02". */
export function verdictMessage(verdict: StoredVerdict): string {
  const why = verdict.reasons.length > 0 ? `: ${verdict.reasons.join('; ')}` : '';
  return `${verdict.outcome} -> ${verdict.decision}${why}`;
}
