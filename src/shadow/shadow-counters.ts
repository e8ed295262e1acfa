import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { PrometheusMetrics } from '../metrics/prometheus-metrics';
import { ShadowStages } from './shadow-stages';

export type ShadowCallResult =
  'answered' | 'failed' | 'skipped_concurrency' | 'skipped_spend' | 'skipped_stage_ended' | 'not_recorded';

/**
 * Prometheus: requests sampled for a shadow call (counted before the user's answer is written), every
 * shadow call by what became of it, and the shadow stages this replica is running (a pause shows
 * here as 0 once the replica has stopped shadow calls).
 */
@Injectable()
export class ShadowCounters {
  private readonly calls: Counter<'flag' | 'result'>;
  private readonly sampledRequests: Counter<'flag'>;

  constructor(prometheus: PrometheusMetrics, stages: ShadowStages) {
    this.sampledRequests = new Counter({
      name: 'switchyard_shadow_sampled_total',
      help: 'Requests sampled for a shadow call (their user falls in a running shadow stage)',
      labelNames: ['flag'],
      registers: [prometheus.registry],
    });
    new Gauge({
      name: 'switchyard_shadow_stages',
      help: 'Shadow stages this replica is running (copying requests to a candidate)',
      registers: [prometheus.registry],
      collect() {
        this.set(stages.size);
      },
    });
    this.calls = new Counter({
      name: 'switchyard_shadow_calls_total',
      help: 'Shadow calls of canary candidates by result: answered, failed, skipped (concurrency, spend cap, stage ended), not recorded',
      labelNames: ['flag', 'result'],
      registers: [prometheus.registry],
    });
  }

  sampled(flag: string): void {
    this.sampledRequests.inc({ flag });
  }

  count(flag: string, result: ShadowCallResult): void {
    this.calls.inc({ flag, result });
  }
}
