import { Inject, Injectable, Logger } from '@nestjs/common';
import { Cron, CronExpression } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { metricsConfig, type MetricsConfig } from '../config/metrics.config';
import { applyRetention } from '../database/retention';

/**
 * Shadow pairs, with the disagreeing answers they hold (user data), are kept as long as the request
 * rows they pair (METRICS_RETENTION_DAYS), not forever. Hourly, one replica at a time.
 */
@Injectable()
export class ShadowPairRetention {
  private readonly logger = new Logger(ShadowPairRetention.name);

  constructor(
    private readonly dataSource: DataSource,
    @Inject(metricsConfig.KEY) private readonly config: MetricsConfig,
  ) {}

  @Cron(CronExpression.EVERY_HOUR, { name: 'shadow-pair-retention' })
  async scheduledRetention(): Promise<void> {
    await this.deleteExpired();
  }

  /** `now` is a parameter so retention can be exercised without waiting for days. */
  deleteExpired(now = new Date()): Promise<number | null> {
    return applyRetention(
      this.dataSource,
      this.logger,
      { table: 'shadow_pairs', keyColumn: 'canary_id', timeColumn: 'at', rows: 'shadow pairs' },
      this.config.retentionDays,
      now,
    );
  }
}
