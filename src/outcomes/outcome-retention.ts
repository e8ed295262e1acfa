import { Inject, Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { metricsConfig, type MetricsConfig } from '../config/metrics.config';
import { applyRetention } from '../database/retention';

/**
 * Reported outcome events are kept as long as the request rows they are about
 * (METRICS_RETENTION_DAYS, by when the outcome occurred): an older event has no exposure left to be
 * attributed to. Hourly, one replica at a time.
 */
@Injectable()
export class OutcomeRetention {
  private readonly logger = new Logger(OutcomeRetention.name);

  constructor(
    private readonly dataSource: DataSource,
    @Inject(metricsConfig.KEY) private readonly config: MetricsConfig,
  ) {}

  @Cron(CronExpression.EVERY_HOUR, { name: 'outcome-retention' })
  async scheduledRetention(): Promise<void> {
    await this.deleteExpired();
  }

  /** `now` is a parameter so retention can be exercised without waiting for days. */
  deleteExpired(now = new Date()): Promise<number | null> {
    return applyRetention(
      this.dataSource,
      this.logger,
      { table: 'outcome_events', keyColumn: 'metric_key', timeColumn: 'occurred_at', rows: 'outcome events' },
      this.config.retentionDays,
      now,
    );
  }
}
