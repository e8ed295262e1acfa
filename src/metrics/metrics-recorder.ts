import { Inject, Injectable } from '@nestjs/common';
import { metricsConfig, type MetricsConfig } from '../config/metrics.config';
import { MetricsWriter } from './metrics-writer';
import { PrometheusMetrics } from './prometheus-metrics';
import type { RequestMetric } from './request-metric';

/** The gateway's one call per finished request: counted for Prometheus, queued for Postgres. */
@Injectable()
export class MetricsRecorder {
  constructor(
    private readonly writer: MetricsWriter,
    private readonly prometheus: PrometheusMetrics,
    @Inject(metricsConfig.KEY) private readonly config: MetricsConfig,
  ) {}

  /** False with METRICS_ENABLED=false: callers can skip building the row at all. */
  get enabled(): boolean {
    return this.config.enabled;
  }

  record(metric: RequestMetric): void {
    if (!this.config.enabled) return;
    this.prometheus.observe(metric);
    this.writer.enqueue(metric);
  }

  /**
   * A shadow call's row: stored (marked `shadow`, linked to its primary request) for the canary's
   * pairs, never counted in the request series callers and dashboards read.
   */
  recordShadow(metric: RequestMetric): void {
    if (!this.config.enabled) return;
    this.writer.enqueue({ ...metric, shadow: true });
  }
}
