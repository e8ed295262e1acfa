import { BUCKET_COUNT, bucketFor, pickVariant, type RolloutSlice } from '@switchyard/bucketing';
import {
  type FlagCondition,
  type FlagDefinition,
  type FlagRule,
  modelOfVariant,
  type VariantSettings,
} from './flag.types';

export interface EvaluationContext {
  /** The sticky identity. Without it the bucket is random and the result is marked unsticky. */
  userId?: string | null;
  attributes?: Readonly<Record<string, string | undefined>>;
}

export interface EvaluationResult {
  variant: string;
  model: string;
  /** The variant's params and system prompt; undefined for a variant that is only a model id. */
  settings?: VariantSettings;
  bucket: number;
  /**
   * `disabled`, `rule:<name>`, `rollout` or `default`; with no user id the same reason followed by
   * ` (unsticky)`, e.g. `rollout (unsticky)`, so a support engineer sees at once that the answer
   * would differ on the next call.
   */
  reason: string;
  /** false when there was no user id and the bucket was drawn at random. */
  sticky: boolean;
}

interface CompiledRule {
  name: string;
  conditions: FlagCondition[];
  variant?: string;
  slices?: RolloutSlice[];
}

interface CompiledFlag {
  slices: RolloutSlice[];
  /** Buckets below this are in the rollout; the rest get the default variant. */
  rolloutTotal: number;
  rules: CompiledRule[];
}

// Flags are immutable snapshots (the cache replaces them on change), so the sorted slices are
// worked out once per snapshot instead of on every evaluation.
const compiled = new WeakMap<FlagDefinition, CompiledFlag>();

/**
 * pickVariant lays slices out in the order given, and Postgres jsonb does not keep object key order:
 * sorting by variant name is the one order that depends on neither (see libs/bucketing rollout.ts).
 */
export function toSlices(rollout: Readonly<Record<string, number>>): RolloutSlice[] {
  return Object.keys(rollout)
    .sort()
    .map((variant) => ({ variant, basisPoints: rollout[variant] }));
}

function compile(flag: FlagDefinition): CompiledFlag {
  let result = compiled.get(flag);
  if (!result) {
    const slices = toSlices(flag.rollout);
    result = {
      slices,
      rolloutTotal: slices.reduce((sum, slice) => sum + slice.basisPoints, 0),
      rules: flag.rules.map((rule: FlagRule) => ({
        name: rule.name,
        conditions: rule.conditions,
        variant: rule.serve.variant,
        slices: rule.serve.rollout ? toSlices(rule.serve.rollout) : undefined,
      })),
    };
    compiled.set(flag, result);
  }
  return result;
}

function holds(condition: FlagCondition, attributes: Readonly<Record<string, string | undefined>>): boolean {
  const value = attributes[condition.attribute];
  const { values } = condition;
  switch (condition.operator) {
    case 'in':
    case 'equals':
      return value !== undefined && values.includes(value);
    // An absent attribute is not in the list.
    case 'not_in':
      return value === undefined || !values.includes(value);
    case 'starts_with':
      if (value === undefined) return false;
      for (let i = 0; i < values.length; i++) if (value.startsWith(values[i])) return true;
      return false;
    default:
      return false;
  }
}

function matches(rule: CompiledRule, attributes: Readonly<Record<string, string | undefined>>): boolean {
  for (let i = 0; i < rule.conditions.length; i++) if (!holds(rule.conditions[i], attributes)) return false;
  return true;
}

const NO_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({});

/**
 * What a user gets from a flag. Pure and synchronous: it runs on every gateway request, from the
 * in-memory cache. Order: kill switch, then rules (first match wins), then the flag's rollout, then
 * the default variant.
 */
export function evaluate(flag: FlagDefinition, context: EvaluationContext): EvaluationResult {
  const sticky = typeof context.userId === 'string' && context.userId.length > 0;
  const bucket = sticky ? bucketFor(flag.salt, context.userId as string) : Math.floor(Math.random() * BUCKET_COUNT);
  const suffix = sticky ? '' : ' (unsticky)';
  const result = (variant: string, reason: string): EvaluationResult => ({
    variant,
    model: modelOfVariant(flag.variants[variant]),
    settings: typeof flag.variants[variant] === 'string' ? undefined : (flag.variants[variant] as VariantSettings),
    bucket,
    reason: reason + suffix,
    sticky,
  });

  if (!flag.enabled) return result(flag.defaultVariant, 'disabled');
  const { slices, rolloutTotal, rules } = compile(flag);
  const attributes = context.attributes ?? NO_ATTRIBUTES;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    if (!matches(rule, attributes)) continue;
    const variant = rule.variant ?? pickVariant(bucket, rule.slices ?? [], flag.defaultVariant);
    return result(variant, `rule:${rule.name}`);
  }
  const variant = pickVariant(bucket, slices, flag.defaultVariant);
  // A bucket past the rollout's slices lands on the default: say so rather than "rollout".
  return result(variant, bucket < rolloutTotal ? 'rollout' : 'default');
}
