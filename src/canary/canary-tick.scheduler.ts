import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { Clock, type ScheduledJob } from '../common/clock';
import { canaryConfig, type CanaryConfig } from '../config/canary.config';
import { CanaryExecutor } from './canary-executor';

/**
 * Every CANARY_TICK_SECONDS, asks the executor to judge the running canaries; nothing else. The job
 * runs through the Clock, so tests tick by moving their clock. Stops (and lets a tick in progress
 * finish) before the database closes.
 */
@Injectable()
export class CanaryTickScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private job?: ScheduledJob;

  constructor(
    private readonly clock: Clock,
    private readonly executor: CanaryExecutor,
    @Inject(canaryConfig.KEY) private readonly config: CanaryConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.job = this.clock.every('canary-tick', this.config.tickMs, () => this.executor.tick());
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.job?.stop();
  }
}
