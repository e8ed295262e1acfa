import { Injectable, Logger } from '@nestjs/common';
/** A `shadow_only` budget of a canary ran out: the canary is to pause. */
export interface CanaryBudgetExhausted {
  canaryId: string;
  budgetId: string;
  /** What the alert and the canary's event say. */
  reason: string;
}

/**
 * How budgets/ tells canaries that a canary's `shadow_only` budget ran out, without knowing the
 * canary module (which depends on budgets, never the reverse): the canary module subscribes at
 * start-up, and pauses the canary. (Which canaries are active, budgets learn from ActiveCanaries,
 * as the policy map does.)
 */
@Injectable()
export class BudgetCanaries {
  private readonly logger = new Logger(BudgetCanaries.name);
  private readonly listeners: Array<(event: CanaryBudgetExhausted) => Promise<void>> = [];

  onShadowOnlyExhausted(listener: (event: CanaryBudgetExhausted) => Promise<void>): void {
    this.listeners.push(listener);
  }

  /** Tells the listeners; a listener that fails is logged (the next exhaustion of a period tries again). */
  async exhausted(event: CanaryBudgetExhausted): Promise<void> {
    for (const listener of this.listeners) {
      await listener(event).catch((error: unknown) =>
        this.logger.error({ err: error, canary: event.canaryId, budget: event.budgetId }, 'could not pause the canary'),
      );
    }
  }
}
