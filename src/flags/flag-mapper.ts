import { assertValidRollout } from '@switchyard/bucketing';
import type { FlagHistoryEntity } from './entities/flag-history.entity';
import type { FlagEntity } from './entities/flag.entity';
import { toSlices } from './flag-evaluator';
import type { FlagDefinition, FlagRule, FlagVariant } from './flag.types';

/** Wire form of a flag: like FlagDefinition, but weights are percentages and dates ISO strings. */
export interface FlagWire {
  key: string;
  description: string;
  enabled: boolean;
  variants: Record<string, FlagVariant>;
  defaultVariant: string;
  rollout: Record<string, number>;
  rules: Array<Omit<FlagRule, 'serve'> & { serve: { variant?: string; rollout?: Record<string, number> } }>;
  salt: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  archivedAt: string | null;
}

export function basisPointsToPercents(rollout: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(rollout).map(([variant, bp]) => [variant, bp / 100]));
}

export function toDefinition(entity: FlagEntity): FlagDefinition {
  return {
    key: entity.key,
    description: entity.description,
    enabled: entity.enabled,
    variants: entity.variants,
    defaultVariant: entity.defaultVariant,
    rollout: entity.rollout,
    rules: entity.rules,
    salt: entity.salt,
    version: entity.version,
    createdAt: entity.createdAt,
    updatedAt: entity.updatedAt,
    archivedAt: entity.archivedAt,
  };
}

/**
 * Checks what pickVariant trusts, once, when a flag is loaded into the cache: a row edited by hand
 * with a bad weight must not silently reshape who gets what.
 */
export function assertServable(flag: FlagDefinition): void {
  assertValidRollout(toSlices(flag.rollout));
  for (const rule of flag.rules) if (rule.serve.rollout) assertValidRollout(toSlices(rule.serve.rollout));
  for (const variant of [flag.defaultVariant, ...Object.keys(flag.rollout)]) {
    if (!Object.hasOwn(flag.variants, variant)) throw new RangeError(`variant "${variant}" is not declared`);
  }
  for (const [name, variant] of Object.entries(flag.variants)) {
    const model = typeof variant === 'string' ? variant : (variant as { model?: unknown } | null)?.model;
    if (typeof model !== 'string') throw new RangeError(`variant "${name}" names no model`);
  }
}

export function toWire(flag: FlagDefinition): FlagWire {
  return {
    key: flag.key,
    description: flag.description,
    enabled: flag.enabled,
    variants: flag.variants,
    defaultVariant: flag.defaultVariant,
    rollout: basisPointsToPercents(flag.rollout),
    rules: flag.rules.map((rule) => ({
      name: rule.name,
      conditions: rule.conditions,
      serve: rule.serve.rollout
        ? { rollout: basisPointsToPercents(rule.serve.rollout) }
        : { variant: rule.serve.variant },
    })),
    salt: flag.salt,
    version: flag.version,
    createdAt: flag.createdAt.toISOString(),
    updatedAt: flag.updatedAt.toISOString(),
    archivedAt: flag.archivedAt ? flag.archivedAt.toISOString() : null,
  };
}

export interface HistoryEntry {
  id: number;
  flagKey: string;
  version: number;
  action: string;
  before: unknown;
  after: unknown;
  actor: string;
  source: string;
  reason: string | null;
  at: string;
}

export interface HistoryPage {
  items: HistoryEntry[];
  nextBefore: number | null;
}

export function toHistoryEntry(row: FlagHistoryEntity): HistoryEntry {
  return {
    id: Number(row.id),
    flagKey: row.flagKey,
    version: row.version,
    action: row.action,
    before: row.before,
    after: row.after,
    actor: row.actor,
    source: row.source,
    reason: row.reason,
    at: row.at.toISOString(),
  };
}
