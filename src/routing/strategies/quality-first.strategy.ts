import { Injectable } from '@nestjs/common';
import type { CatalogModel } from '../../config/catalog.schema';
import type { RoutingStrategy } from '../routing-strategy';

/**
 * Quality first (fraud scoring): deterministic answers (temperature 0, whatever the caller or a
 * variant asks), patient budgets, and never a weaker model: by default it falls back only to models
 * of equal or higher tier, and fails loudly (502) when none is healthy rather than let a cheap model
 * judge.
 */
@Injectable()
export class QualityFirstStrategy implements RoutingStrategy {
  readonly name = 'quality_first';
  readonly summary = 'Temperature 0, patient budgets, never a weaker fallback';
  readonly defaults = {
    totalTimeoutMs: 90_000,
    attemptTimeoutMs: 60_000,
    fallbackTiers: 'same_or_higher',
  } as const;
  readonly forcedParams = { temperature: 0 };

  orderFallbacks(fallbacks: readonly CatalogModel[]): CatalogModel[] {
    return [...fallbacks];
  }
}
