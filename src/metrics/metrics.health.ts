import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { MetricsWriter } from './metrics-writer';

/**
 * The writer's state in /health/ready. It stays "up" while rows are queued or even dropped: pulling a
 * replica out of service would not bring the database back, and traffic matters more than its rows.
 * The details say how many rows wait and how many were lost, and why.
 */
@Injectable()
export class MetricsHealthIndicator {
  constructor(
    private readonly writer: MetricsWriter,
    private readonly health: HealthIndicatorService,
  ) {}

  check() {
    const { queued, written, dropped, lastError } = this.writer.snapshot();
    return this.health.check('metrics').up({ queued, written, dropped, lastError });
  }
}
