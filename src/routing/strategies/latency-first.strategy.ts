import { Injectable } from '@nestjs/common';
import type { CatalogModel } from '../../config/catalog.schema';
import type { RoutingStrategy } from '../routing-strategy';

/**
 * Latency first (interactive chat): short budgets and at most one retry per model, so a slow or
 * failing model hands over to the next one quickly instead of making a person wait.
 */
@Injectable()
export class LatencyFirstStrategy implements RoutingStrategy {
  readonly name = 'latency_first';
  readonly summary = 'Short budgets, at most one retry per model, fallbacks in catalog order';
  readonly defaults = {
    totalTimeoutMs: 20_000,
    attemptTimeoutMs: 8_000,
    firstTokenTimeoutMs: 3_000,
    maxRetriesPerModel: 1,
    fallbackTiers: 'any',
  } as const;
  readonly forcedParams = {};

  orderFallbacks(fallbacks: readonly CatalogModel[]): CatalogModel[] {
    return [...fallbacks];
  }
}
