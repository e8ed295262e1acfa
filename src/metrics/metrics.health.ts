import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { metricsConfig, type MetricsConfig } from '../config/metrics.config';
import { MetricsWriter } from './metrics-writer';

/** From this share of METRICS_QUEUE_LIMIT on, rows are about to be dropped: time to take the replica out. */
export const QUEUE_NEAR_BOUND_RATIO = 0.9;

/**
 * The writer's state in /health/ready: `up` while its writes succeed. While they fail (an error, or
 * an INSERT the database leaves unanswered) it is `degraded`, still ready: the rows wait in the queue
 * and on disk, and pulling a replica out of service would not bring the database back. Failing with
 * its queue at 90% of METRICS_QUEUE_LIMIT, where rows are about to be dropped or are being dropped,
 * it is `down`: the bound at which the database entry takes the replica out, here reached also when
 * the database answers its ping but not the writes.
 */
@Injectable()
export class MetricsHealthIndicator {
  constructor(
    private readonly writer: MetricsWriter,
    private readonly health: HealthIndicatorService,
    @Inject(metricsConfig.KEY) private readonly config: MetricsConfig,
  ) {}

  check() {
    const { queued, spooled, failing, written, dropped, lastError } = this.writer.snapshot();
    const details = { queued, written, dropped, lastError };
    const indicator = this.health.check('metrics');
    if (!failing) return indicator.up(details);
    const lost = dropped > 0 ? `, ${dropped} dropped so far` : '';
    const message = `writes failing; ${spooled} ${spooled === 1 ? 'row' : 'rows'} spooled${lost}`;
    if (queued >= this.config.queueLimit * QUEUE_NEAR_BOUND_RATIO) return indicator.down({ message, ...details });
    return indicator.degraded({ message, ...details });
  }
}
