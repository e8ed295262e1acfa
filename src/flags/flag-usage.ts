import type { CatalogPolicy } from '../config/catalog.schema';
import { policiesSentence } from './flag.errors';

/** Which policy routes by a flag; a flag no policy names is `unused`: it serves no request. */
export interface FlagUsage {
  policy: string | null;
  unused: boolean;
}

export function usageOf(key: string, policies: readonly CatalogPolicy[]): FlagUsage {
  const policy = policies.find((candidate) => candidate.flag === key);
  return { policy: policy?.name ?? null, unused: policy === undefined };
}

/** The warning a create answer carries for a flag no policy uses yet. */
export function unusedWarning(key: string, policies: readonly CatalogPolicy[]): string {
  return `flag "${key}" is used by no policy yet, so it serves no request until a catalog policy names it; ${policiesSentence(policies)}`;
}
