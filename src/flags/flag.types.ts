/**
 * The flag as the evaluator, the cache and the service see it. Weights are basis points here
 * (1% = 100); percentages exist only on the wire (see flag-mapper.ts).
 */
export type ConditionOperator = 'in' | 'not_in' | 'equals' | 'starts_with';
export const CONDITION_OPERATORS: readonly ConditionOperator[] = ['in', 'not_in', 'equals', 'starts_with'];

export interface FlagCondition {
  attribute: string;
  operator: ConditionOperator;
  /** Always a list: `equals` and `starts_with` match any of them. */
  values: string[];
}

/** A rule serves exactly one of: a fixed variant, or its own rollout (basis points). */
export interface FlagRuleServe {
  variant?: string;
  rollout?: Record<string, number>;
}

export interface FlagRule {
  name: string;
  conditions: FlagCondition[];
  serve: FlagRuleServe;
}

export interface FlagDefinition {
  key: string;
  description: string;
  enabled: boolean;
  variants: Record<string, string>;
  defaultVariant: string;
  /** Variant -> basis points; what is left up to 10000 goes to the default variant. */
  rollout: Record<string, number>;
  rules: FlagRule[];
  salt: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  archivedAt: Date | null;
}

export type FlagSource = 'api' | 'canary' | 'guardrail';
export const FLAG_SOURCES: readonly FlagSource[] = ['api', 'canary', 'guardrail'];

export type FlagAction = 'create' | 'update' | 'rollout' | 'kill' | 'enable' | 'archive';

/** Who changed a flag, from where and why: goes into the history row. */
export interface ChangeContext {
  actor: string;
  source: FlagSource;
  reason?: string | null;
}
