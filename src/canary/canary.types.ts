import type { CanaryAnalysis, StageOutcome, StageVerdict } from '@switchyard/stats';
import type { AlertType } from '../alerts/alert.types';

export const CANARY_STATES = ['pending', 'running', 'paused', 'promoted', 'rolled_back', 'aborted'] as const;
export type CanaryState = (typeof CANARY_STATES)[number];
export const ACTIVE_STATES: readonly CanaryState[] = ['pending', 'running', 'paused'];
export const ENDED_STATES: readonly CanaryState[] = ['promoted', 'rolled_back', 'aborted'];

/**
 * A list's `state` filter: states or the words `active` and `ended`, separated by commas (checked
 * by the query DTO), as the states they stand for.
 */
export function statesOf(filter: string): CanaryState[] {
  const states = filter
    .split(',')
    .flatMap((word) => (word === 'active' ? ACTIVE_STATES : word === 'ended' ? ENDED_STATES : [word as CanaryState]));
  return [...new Set(states)];
}

export interface CanaryStage {
  percentage: number;
  durationSeconds: number;
}

/**
 * The shadow stage a plan may start with: during it every user stays on the control, and for
 * `percentage` of the flag's users (sticky) the candidate is asked the same request after the user's
 * answer completed, within `maxSpendUsd` and `maxConcurrency` calls in flight per replica.
 * The verdict compares the pairs (shadow/shadow-verdict.ts); the thresholds have defaults.
 */
export interface ShadowPlan {
  percentage: number;
  durationSeconds: number;
  maxSpendUsd: number;
  maxConcurrency: number;
  /** Pairs needed before anything is judged. */
  minPairs: number;
  /** Candidate's median latency over the control's on the same prompts: at most this. */
  maxLatencyRatio: number;
  /** Candidate's mean cost per answered pair over the control's: at most this ("cost as planned"). */
  maxCostRatio: number;
  /** Share of pairs whose answers agree (exact after normalisation, or the same tools): at least this; null: not judged. */
  minAgreementRate: number | null;
}

export const SHADOW_DEFAULTS = { minPairs: 50, maxLatencyRatio: 1.5, maxCostRatio: 1.5, minAgreementRate: null };

/** `shadow`: the shadow stage runs (users all on the control); `live`: the stages with users on the treatment. */
export type CanaryPhase = 'shadow' | 'live';

export const DEFAULT_STAGES: readonly CanaryStage[] = [
  { percentage: 5, durationSeconds: 3600 },
  { percentage: 15, durationSeconds: 3600 },
  { percentage: 35, durationSeconds: 7200 },
  { percentage: 65, durationSeconds: 7200 },
  { percentage: 100, durationSeconds: 0 },
];

/** What the executor decided on one tick, with the verdict it decided on. */
export type CanaryDecision = 'rollback' | 'advance' | 'promote' | 'hold' | 'extend' | 'wait' | 'pause';

/**
 * A verdict as stored on the canary (lastVerdict) and in its `verdict` event: the engine's judgement
 * of the stage's window (libs/stats StageVerdict: per metric both arms' estimates, the difference,
 * the confidence sequence, the margin, the alpha, n per arm; the SRM test) with what was decided.
 */
export interface StoredVerdict extends StageVerdict {
  at: string;
  /** The tick period this verdict was judged in (its start): one verdict per canary per period. */
  slotStart: string;
  stage: number;
  percentage: number;
  decision: CanaryDecision;
  outcome: StageOutcome;
  atStageEnd: boolean;
  window: { from: string; to: string };
  /** The verdict in one plain sentence with its numbers. */
  sentence: string;
}

export type CanaryEventType =
  | 'created'
  | 'started'
  | 'verdict'
  | 'stage_advanced'
  | 'stage_extended'
  | 'held'
  | 'paused'
  | 'resumed'
  | 'promoted'
  | 'rolled_back'
  | 'aborted'
  | 'weight_reconciled'
  | 'shadow_passed';

/** What the decision functions read of a canary (a CanaryEntity is one). */
export interface CanarySnapshot {
  id: string;
  flagKey: string;
  variant: string;
  state: CanaryState;
  stages: CanaryStage[];
  stageIndex: number;
  stageStartedAt: Date | null;
  analysis: CanaryAnalysis;
  maxStageExtensions: number;
  shadow: ShadowPlan | null;
  phase: CanaryPhase;
}

export interface CanaryAlert {
  type: AlertType;
  message: string;
  /** Raised once per key: a retried tick or action never sends it twice. */
  dedupKey: string;
  evidence?: Record<string, unknown>;
}

export interface CanaryEventInput {
  type: CanaryEventType;
  message: string;
  evidence?: Record<string, unknown> | null;
}

/** One change of a canary, applied in one transaction: its row, the flag's weight, the event and the alert. */
export interface CanaryChange {
  state?: CanaryState;
  /** Move to this stage (it starts now). */
  stageIndex?: number;
  /** Leave the shadow stage: the live stages begin (with stageIndex 0). */
  phase?: CanaryPhase;
  /** Restart the current stage's window (resume after a pause). */
  restartStage?: boolean;
  /** The treatment's weight to set on the flag (percent). */
  weight?: number;
  /**
   * Resume: the weight the stage runs at, put back if an operator moved it while the canary was
   * paused (a pause hands the flag back to people); the resume's note is written either way.
   */
  restoreWeight?: number;
  event: CanaryEventInput;
  alert?: CanaryAlert;
}

/** Said once (per dedup key) without changing the canary: the event is written only with a new alert. */
export interface CanaryNotice {
  alert: CanaryAlert;
  event: CanaryEventInput;
}

export type { CanaryAnalysis };
