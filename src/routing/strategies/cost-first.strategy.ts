import { Injectable } from '@nestjs/common';
import type { CatalogModel } from '../../config/catalog.schema';
import { byCost, type RoutingStrategy } from '../routing-strategy';

/** Cost first (product recommendations): falls back to the cheapest model of its chain that is healthy. */
@Injectable()
export class CostFirstStrategy implements RoutingStrategy {
  readonly name = 'cost_first';
  readonly summary = 'Fallbacks cheapest first; patient budgets';
  readonly defaults = {
    totalTimeoutMs: 30_000,
    attemptTimeoutMs: 20_000,
    firstTokenTimeoutMs: 10_000,
    fallbackTiers: 'any',
  } as const;
  readonly forcedParams = {};

  orderFallbacks(fallbacks: readonly CatalogModel[]): CatalogModel[] {
    return [...fallbacks].sort(byCost);
  }
}
