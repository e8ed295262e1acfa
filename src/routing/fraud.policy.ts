import { Injectable } from '@nestjs/common';
import type { PolicyInput, RoutePlan, RoutingPolicy } from './routing-policy';

/**
 * Fraud scoring: quality first. Deterministic answers (temperature 0), patient budgets, and never a
 * weaker model: it falls back only to models of equal or higher tier, and fails loudly (502) when none
 * is healthy rather than letting a cheap model judge fraud.
 */
@Injectable()
export class FraudPolicy implements RoutingPolicy {
  readonly name = 'fraud';

  plan({ chosen, fallbacks }: PolicyInput): RoutePlan {
    return {
      candidates: [chosen, ...fallbacks.filter((model) => model.tier >= chosen.tier)],
      totalTimeoutMs: 90_000,
      attemptTimeoutMs: 60_000,
      bodyOverrides: { temperature: 0 },
      forwardMetadata: false,
    };
  }
}
