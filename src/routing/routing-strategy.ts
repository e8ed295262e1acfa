import type { CatalogModel, FallbackTiers } from '../config/catalog.schema';

/** A strategy's budgets when a policy does not override them. */
export interface StrategyDefaults {
  totalTimeoutMs: number;
  attemptTimeoutMs: number;
  /** Streams; unset: only the per-attempt budget applies. */
  firstTokenTimeoutMs?: number;
  /** Caps GATEWAY_MAX_RETRIES for this strategy (fast fallback for latency first); unset: no cap. */
  maxRetriesPerModel?: number;
  fallbackTiers: FallbackTiers;
}

/**
 * How a kind of use case is routed: the order its fallbacks are tried in, the fields it forces on
 * every upstream body, and its default budgets. A catalog policy names one by `strategy` and may
 * override its budgets; adding a strategy is adding a class that implements this and listing it
 * in STRATEGY_CLASSES (RoutingService finds it through the ROUTING_STRATEGIES token).
 */
export interface RoutingStrategy {
  /** What catalogs write in a policy's `strategy`. */
  readonly name: string;
  /** One line for operators (GET /api/policies). */
  readonly summary: string;
  readonly defaults: StrategyDefaults;
  /** Set on every upstream body, over the caller's fields and the variant's params. */
  readonly forcedParams: Readonly<Record<string, unknown>>;
  /** The policy's fallback chain in the order to try it (the catalog's order as given). */
  orderFallbacks(fallbacks: readonly CatalogModel[]): CatalogModel[];
}

export const ROUTING_STRATEGIES = Symbol('ROUTING_STRATEGIES');

/** Cheapest first, by the price of a typical request (input and output per 1M tokens). */
export function byCost(a: CatalogModel, b: CatalogModel): number {
  return a.pricing.inputPer1M + a.pricing.outputPer1M - (b.pricing.inputPer1M + b.pricing.outputPer1M);
}
