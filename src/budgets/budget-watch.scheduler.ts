import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { Clock, type ScheduledJob } from '../common/clock';
import { budgetsConfig, type BudgetsConfig } from '../config/budgets.config';
import { BudgetWatch } from './budget-watch';

/** Every BUDGET_WATCH_SECONDS, asks the watch to raise the budgets' alerts; nothing else. Runs on the Clock. */
@Injectable()
export class BudgetWatchScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private job?: ScheduledJob;

  constructor(
    private readonly clock: Clock,
    private readonly watch: BudgetWatch,
    @Inject(budgetsConfig.KEY) private readonly config: BudgetsConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.job = this.clock.every('budget-watch', this.config.watchMs, () => this.watch.watch());
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.job?.stop();
  }
}
