import { Injectable } from '@nestjs/common';
import type { PolicyInput, RoutePlan, RoutingPolicy } from './routing-policy';

/**
 * Interactive chat: latency first. Short budgets and at most one retry per model, so a slow or
 * failing model hands over to the next one quickly instead of making a person wait.
 */
@Injectable()
export class ChatPolicy implements RoutingPolicy {
  readonly name = 'chat';

  plan({ chosen, fallbacks }: PolicyInput): RoutePlan {
    return {
      candidates: [chosen, ...fallbacks],
      totalTimeoutMs: 20_000,
      attemptTimeoutMs: 8_000,
      firstChunkTimeoutMs: 3_000,
      maxRetriesPerModel: 1,
      bodyOverrides: {},
      forwardMetadata: false,
    };
  }
}
