import { Injectable, Logger } from '@nestjs/common';
import type { CanaryArm } from './budget.types';

/** Answers the canaries that are pending, running or paused. */
export type CanaryArmSource = () => Promise<CanaryArm[]>;

/** A `shadow_only` budget of a canary ran out: the canary is to pause. */
export interface CanaryBudgetExhausted {
  canaryId: string;
  budgetId: string;
  /** What the alert and the canary's event say. */
  reason: string;
}

/**
 * The meeting point of budgets and canaries, so that budgets/ knows nothing of canary/ (which
 * depends on budgets, never the reverse): the canary module registers where its active canaries
 * come from (a canary budget applies to its treatment arm), and listens for its budgets running
 * out, to pause itself.
 */
@Injectable()
export class BudgetCanaries {
  private readonly logger = new Logger(BudgetCanaries.name);
  private readonly sources: CanaryArmSource[] = [];
  private readonly listeners: Array<(event: CanaryBudgetExhausted) => Promise<void>> = [];

  registerSource(source: CanaryArmSource): void {
    this.sources.push(source);
  }

  onShadowOnlyExhausted(listener: (event: CanaryBudgetExhausted) => Promise<void>): void {
    this.listeners.push(listener);
  }

  async activeArms(): Promise<CanaryArm[]> {
    const arms: CanaryArm[] = [];
    for (const source of this.sources) arms.push(...(await source()));
    return arms;
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
