import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { BudgetCanaries, type CanaryBudgetExhausted } from '../budgets/budget-canaries';
import { CanaryStateConflict } from './canary.errors';
import { CanaryService } from './canary.service';

/**
 * Pauses a canary, with its `canary.paused` alert, when one of its spend budgets runs out (with a
 * `shadow_only` budget its treatment goes to 0% too: `budgetPause`).
 * Every replica that sees the budget run out asks; the first pauses it, the others find it paused.
 */
@Injectable()
export class CanaryBudgetLink implements OnModuleInit {
  private readonly logger = new Logger(CanaryBudgetLink.name);

  constructor(
    private readonly budgets: BudgetCanaries,
    private readonly service: CanaryService,
  ) {}

  onModuleInit(): void {
    this.budgets.onCanaryBudgetExhausted((event) => this.pause(event));
  }

  private async pause(event: CanaryBudgetExhausted): Promise<void> {
    try {
      await this.service.pauseForBudget(event.canaryId, event.budgetId, event.action, event.reason);
      this.logger.log({ canary: event.canaryId, budget: event.budgetId }, `canary paused: ${event.budgetName} ran out`);
    } catch (error) {
      // Paused already (by another replica, or by hand), or over: nothing to pause.
      if (!(error instanceof CanaryStateConflict)) throw error;
    }
  }
}
