export const BUDGET_SCOPES = ['key', 'policy', 'canary'] as const;
export type BudgetScope = (typeof BUDGET_SCOPES)[number];

export const BUDGET_PERIODS = ['day', 'week', 'month', 'total'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

export const BUDGET_ACTIONS = ['reject', 'downgrade', 'shadow_only'] as const;
export type BudgetAction = (typeof BUDGET_ACTIONS)[number];

export const DEFAULT_ALERT_AT: readonly number[] = [0.5, 0.8, 1];

/** When several budgets are exhausted for one request, the strictest action decides. */
export const ACTION_STRICTNESS: Readonly<Record<BudgetAction, number>> = { reject: 3, downgrade: 2, shadow_only: 1 };

/** A budget as every part of the module reads it (the row, with its limit in picodollars). */
export interface BudgetDefinition {
  id: string;
  scope: BudgetScope;
  /** The key's id, the policy's name or the canary's id. */
  target: string;
  /**
   * What people know the target by, for messages and logs: the key's name, the policy's, the
   * canary's flag and variant (`flag/variant`); the target itself when unknown here.
   */
  targetName: string;
  limitPico: bigint;
  period: BudgetPeriod;
  timezone: string;
  onExhausted: BudgetAction;
  /** Ascending fractions of the limit. */
  alertAt: number[];
  createdAt: Date;
}

/** A canary as budgets see it: its treatment arm (flag + variant) and the control it falls back to. */
export interface CanaryArm {
  canaryId: string;
  flagKey: string;
  variant: string;
  controlVariant: string;
}

/** The budget of a period one request used, and what it did about an exhausted one. */
export type SpendMark = { budgetId: string; action: BudgetAction };
