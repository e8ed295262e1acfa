import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { Clock, type ScheduledJob } from '../common/clock';
import { canaryConfig, type CanaryConfig } from '../config/canary.config';
import { Guardrail } from './guardrail';

/**
 * Every CANARY_TICK_SECONDS (the guardrail reacts as fast as a canary would), asks the guardrail to
 * watch; nothing else. Off with GUARDRAIL_ENABLED=false. Stops before the database closes.
 */
@Injectable()
export class GuardrailScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private job?: ScheduledJob;

  constructor(
    private readonly clock: Clock,
    private readonly guardrail: Guardrail,
    @Inject(canaryConfig.KEY) private readonly config: CanaryConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.guardrail.enabled)
      this.job = this.clock.every('guardrail', this.config.tickMs, () => this.guardrail.watch());
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.job?.stop();
  }
}
