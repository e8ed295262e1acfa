/** What an outcome metric measures per exposure: a yes/no (conversion, thumbs-up) or a number (rating, revenue). */
export const OUTCOME_TYPES = ['binary', 'numeric'] as const;
export type OutcomeType = (typeof OUTCOME_TYPES)[number];

export const OUTCOME_DIRECTIONS = ['higher_is_better', 'lower_is_better'] as const;
export type OutcomeDirection = (typeof OUTCOME_DIRECTIONS)[number];

/**
 * What an outcome attaches to: one request (its `x-switchyard-request-id`), or a user's exposures to
 * a flag within the attribution window (the variant the user was assigned).
 */
export const OUTCOME_UNITS = ['request', 'user'] as const;
export type OutcomeUnit = (typeof OUTCOME_UNITS)[number];

export const OUTCOME_HISTORY_ACTIONS = ['created', 'updated', 'archived'] as const;
export type OutcomeHistoryAction = (typeof OUTCOME_HISTORY_ACTIONS)[number];

/** Lower-case words joined by underscores: the key events and canaries name the metric by. */
export const OUTCOME_KEY = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
export const MAX_OUTCOME_KEY_LENGTH = 64;
/** 30 days: beyond it an exposure's window never closes in a canary's lifetime. */
export const MAX_ATTRIBUTION_WINDOW_SECONDS = 30 * 86_400;
export const DEFAULT_ATTRIBUTION_WINDOW_SECONDS = 86_400;

/** An outcome metric as the API shows it. */
export interface OutcomeMetricView {
  key: string;
  description: string;
  type: OutcomeType;
  direction: OutcomeDirection;
  unit: OutcomeUnit;
  /** Null for the built-in signals: they are computed on the request itself. */
  attributionWindowSeconds: number | null;
  /** Computed by the gateway for every answer (answer-quality signals): read-only. */
  builtIn: boolean;
  version: number;
  archived: boolean;
  archivedAt: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}
