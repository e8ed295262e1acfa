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

export type SystemPromptMode = 'prepend' | 'replace';
export const SYSTEM_PROMPT_MODES: readonly SystemPromptMode[] = ['prepend', 'replace'];

/**
 * A variant's system prompt: `prepend` puts it before the caller's messages (the caller's own system
 * messages stay); `replace` drops the caller's system and developer messages and puts it first.
 */
export interface SystemPrompt {
  mode: SystemPromptMode;
  text: string;
}

/** What a variant changes in a request besides the model. */
export interface VariantSettings {
  /**
   * OpenAI request fields set over the caller's (a policy's forced fields still win). JSON values;
   * typed without `unknown` so TypeORM's partial-entity types accept the flags row.
   */
  params?: Record<string, string | number | boolean | object | null>;
  systemPrompt?: SystemPrompt;
}

export interface VariantConfig extends VariantSettings {
  model: string;
}

/** A variant as stored and on the wire: a catalog model id, or a model with its configuration. */
export type FlagVariant = string | VariantConfig;

export function modelOfVariant(variant: FlagVariant): string {
  return typeof variant === 'string' ? variant : variant.model;
}

export interface FlagDefinition {
  key: string;
  description: string;
  enabled: boolean;
  variants: Record<string, FlagVariant>;
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

/**
 * `note`: nothing about the flag changed (same version, before = after); a canary on it changed state
 * without moving weights (paused, resumed), recorded so the flag's history tells its whole story.
 */
export type FlagAction = 'create' | 'update' | 'rollout' | 'kill' | 'enable' | 'archive' | 'note';

/** Who changed a flag, from where and why: goes into the history row. */
export interface ChangeContext {
  actor: string;
  source: FlagSource;
  reason?: string | null;
}

/** Which flags a list holds: false (the default) the active ones, true the archived ones, all both. */
export const FLAG_ARCHIVED_FILTERS = ['false', 'true', 'all'] as const;
export type FlagArchivedFilter = (typeof FLAG_ARCHIVED_FILTERS)[number];
