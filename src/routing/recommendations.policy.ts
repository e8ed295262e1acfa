import { Injectable } from '@nestjs/common';
import { byCost, type PolicyInput, type RoutePlan, type RoutingPolicy } from './routing-policy';

/** Product recommendations: cost first. Falls back to the cheapest model of its chain that is healthy. */
@Injectable()
export class RecommendationsPolicy implements RoutingPolicy {
  readonly name = 'recommendations';

  plan({ chosen, fallbacks }: PolicyInput): RoutePlan {
    return {
      candidates: [chosen, ...[...fallbacks].sort(byCost)],
      totalTimeoutMs: 30_000,
      attemptTimeoutMs: 20_000,
      firstChunkTimeoutMs: 10_000,
      bodyOverrides: {},
      forwardMetadata: false,
    };
  }
}
