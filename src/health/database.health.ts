import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { metricsConfig, type MetricsConfig } from '../config/metrics.config';
import { FlagsService } from '../flags/flags.service';
import { MetricsHealthIndicator, QUEUE_NEAR_BOUND_RATIO } from '../metrics/metrics.health';

const PING_TIMEOUT_MS = 1500;

/**
 * The database as readiness sees it: "can this replica serve?". An unreachable database does not
 * stop the gateway path — flags are served from memory and metric rows wait in the writer's queue —
 * so it is `degraded` (still ready) while both hold, and `down` (unready) once the flags were never
 * loaded or the queue is near its bound. Taking every replica out because the shared database is
 * down would turn a degraded service into an outage.
 */
@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly ping: TypeOrmHealthIndicator,
    private readonly flags: FlagsService,
    private readonly metrics: MetricsHealthIndicator,
    private readonly health: HealthIndicatorService,
    @Inject(metricsConfig.KEY) private readonly metricsSettings: MetricsConfig,
  ) {}

  async check(): Promise<HealthIndicatorResult> {
    const result = (await this.ping.pingCheck('database', { timeout: PING_TIMEOUT_MS })) as HealthIndicatorResult;
    if (result.database?.status === 'up') return result;
    const reason = String(result.database?.message ?? 'no answer');
    const indicator = this.health.check('database');
    if (!this.flags.flagsLoaded) {
      return indicator.down({
        message: reason,
        servable: 'no: the flags were never loaded, so requests cannot be routed',
      });
    }
    const queued = Number(this.metrics.check().metrics.queued);
    const queueLimit = this.metricsSettings.queueLimit;
    const metricsQueue = { queued, limit: queueLimit };
    if (this.metricsSettings.enabled && queued >= queueLimit * QUEUE_NEAR_BOUND_RATIO) {
      return indicator.down({
        message: reason,
        metricsQueue,
        servable: `no: the metrics queue is at ${Math.round((queued / queueLimit) * 100)}% of METRICS_QUEUE_LIMIT; further rows would be dropped`,
      });
    }
    return indicator.degraded({
      message: reason,
      metricsQueue,
      servable:
        'yes: completions are routed with the flags in memory and their metric rows are queued; operator writes fail until the database is back',
    });
  }
}
