import { percentToBasisPoints } from '@switchyard/bucketing';
import type { FlagRule } from './flag.types';
import { variantProblems } from './variant-validation';

/** Wire-form inputs the validator checks against each other and the catalog. */
export interface FlagInput {
  variants: Record<string, unknown>;
  defaultVariant: string;
  /** Percentages, as sent. */
  rollout: Record<string, unknown>;
  rules: Array<{
    name: string;
    conditions: FlagRule['conditions'];
    serve: { variant?: unknown; rollout?: Record<string, unknown> };
  }>;
}

export const VARIANT_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** A name as messages show it: a megabyte of one would come back in every message that lists it. */
export function shown(name: string): string {
  return name.length > 64 ? `${name.slice(0, 64)}…` : name;
}
const listed = (variants: Record<string, unknown>) => Object.keys(variants).map(shown).join(', ');

/**
 * Converts a wire rollout (percentages) to basis points, collecting one message per bad field, each
 * naming the field (`rollout.treatment ...`).
 */
export function rolloutToBasisPoints(
  field: string,
  rollout: Record<string, unknown>,
  variants: Record<string, unknown>,
  errors: string[],
): Record<string, number> {
  const result: Record<string, number> = {};
  let total = 0;
  for (const [variant, percent] of Object.entries(rollout)) {
    if (!Object.hasOwn(variants, variant)) {
      errors.push(`${field}.${shown(variant)} names a variant that is not in variants (${listed(variants)})`);
      continue;
    }
    if (typeof percent !== 'number' || !Number.isFinite(percent)) {
      errors.push(`${field}.${shown(variant)} must be a number (a percentage 0-100)`);
      continue;
    }
    try {
      result[variant] = percentToBasisPoints(percent);
      total += result[variant];
    } catch (error) {
      errors.push(`${field}.${shown(variant)}: ${(error as Error).message}`);
    }
  }
  if (total > 10000) errors.push(`${field} adds up to ${total / 100}%, more than 100`);
  return result;
}

/**
 * Validates a whole flag (after merging a partial update) and returns its rollouts in basis points.
 * `modelExists` is the catalog lookup. Throws nothing: the caller turns `errors` into one 400.
 */
export function validateFlag(
  input: FlagInput,
  modelExists: (id: string) => boolean,
): { errors: string[]; rollout: Record<string, number>; rules: FlagRule[] } {
  const errors: string[] = [];
  const variantNames = Object.keys(input.variants);
  if (variantNames.length === 0) errors.push('variants must declare at least one variant');
  for (const [variant, value] of Object.entries(input.variants)) {
    if (!VARIANT_NAME.test(variant))
      errors.push(
        `variants.${shown(variant)}: a variant name must be a lower-case slug (a-z, 0-9, - and _) of at most 64 characters`,
      );
    errors.push(...variantProblems(`variants.${shown(variant)}`, value, modelExists));
  }
  if (!Object.hasOwn(input.variants, input.defaultVariant)) {
    errors.push(`defaultVariant "${shown(input.defaultVariant)}" is not in variants (${listed(input.variants)})`);
  }
  const rollout = rolloutToBasisPoints('rollout', input.rollout, input.variants, errors);
  const names = new Set<string>();
  const rules: FlagRule[] = input.rules.map((rule, index) => {
    const field = `rules[${index}]`;
    if (names.has(rule.name)) errors.push(`${field}.name "${shown(rule.name)}" is used by an earlier rule`);
    names.add(rule.name);
    const { variant, rollout: ruleRollout } = rule.serve;
    if ((variant === undefined) === (ruleRollout === undefined)) {
      errors.push(`${field}.serve must have exactly one of variant or rollout`);
      return { name: rule.name, conditions: rule.conditions, serve: {} };
    }
    if (variant !== undefined) {
      if (typeof variant !== 'string' || !Object.hasOwn(input.variants, variant)) {
        errors.push(
          `${field}.serve.variant "${shown(String(variant))}" is not in variants (${listed(input.variants)})`,
        );
      }
      return { name: rule.name, conditions: rule.conditions, serve: { variant: variant as string } };
    }
    return {
      name: rule.name,
      conditions: rule.conditions,
      serve: { rollout: rolloutToBasisPoints(`${field}.serve.rollout`, ruleRollout ?? {}, input.variants, errors) },
    };
  });
  return { errors, rollout, rules };
}
