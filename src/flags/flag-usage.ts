import type { CatalogPolicy } from '../config/catalog.schema';
import { policiesSentence } from './flag.errors';
import { toWire, type FlagWire } from './flag-mapper';
import type { FlagDefinition } from './flag.types';

/** Which policy routes by a flag; a flag no policy names is `unused`: it serves no request. */
export interface FlagUsage {
  policy: string | null;
  unused: boolean;
}

/** A flag as operators see it: its stored state and which policy routes by it. */
export type FlagView = FlagWire & FlagUsage;

export function usageOf(key: string, policies: readonly CatalogPolicy[]): FlagUsage {
  const policy = policies.find((candidate) => candidate.flag === key);
  return { policy: policy?.name ?? null, unused: policy === undefined };
}

export function viewOf(flag: FlagDefinition, policies: readonly CatalogPolicy[]): FlagView {
  return { ...toWire(flag), ...usageOf(flag.key, policies) };
}

/** The warning a create answer carries for a flag no policy uses yet. */
export function unusedWarning(key: string, policies: readonly CatalogPolicy[]): string {
  return `flag "${key}" is used by no policy yet, so it serves no request until a catalog policy names it; ${policiesSentence(policies)}`;
}
