import type { CanaryAnalysis, WindowVerdict } from '@switchyard/stats';

export const CANARY_STATES = ['pending', 'running', 'paused', 'promoted', 'rolled_back', 'aborted'] as const;
export type CanaryState = (typeof CANARY_STATES)[number];
export const ACTIVE_STATES: readonly CanaryState[] = ['pending', 'running', 'paused'];

export interface CanaryStage {
  percentage: number;
  durationSeconds: number;
}

export const DEFAULT_STAGES: readonly CanaryStage[] = [
  { percentage: 5, durationSeconds: 3600 },
  { percentage: 15, durationSeconds: 3600 },
  { percentage: 35, durationSeconds: 7200 },
  { percentage: 65, durationSeconds: 7200 },
  { percentage: 100, durationSeconds: 0 },
];

/** What the executor decided on one tick, with the verdict it decided on. */
export type CanaryDecision = 'rollback' | 'advance' | 'promote' | 'hold' | 'wait' | 'pause';

export interface StoredVerdict {
  at: string;
  stage: number;
  decision: CanaryDecision;
  outcome: WindowVerdict['outcome'];
  severe: boolean;
  reasons: string[];
  failedChecks: number;
  atStageEnd: boolean;
  window: { from: string; to: string };
  checks: WindowVerdict['checks'];
  evidence: WindowVerdict['evidence'];
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
  | 'weight_reconciled';

export type { CanaryAnalysis };
