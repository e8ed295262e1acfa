import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Counter } from 'prom-client';
import { PrometheusMetrics } from '../metrics/prometheus-metrics';
import { ModelHealth, type ModelCircuitOpened } from '../providers/model-health';
import { AlertsService } from './alerts.service';

/**
 * Raises `provider.circuit_opened` when a model's circuit opens. Subscribed to ModelHealth rather
 * than called by it, so providers know nothing of alerts (alerts -> providers, never back).
 *
 * The breaker reports from inside a request, so the raise is fire-and-forget: the request never
 * waits on the database, and a failed raise is logged and counted, not thrown.
 */
@Injectable()
export class ProviderCircuitAlerts implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ProviderCircuitAlerts.name);
  private unsubscribe?: () => void;
  private readonly pending = new Set<Promise<unknown>>();
  /** Raises that failed (database down...) since start; for metrics. */
  failedRaises = 0;

  constructor(
    private readonly health: ModelHealth,
    private readonly alerts: AlertsService,
    prometheus: PrometheusMetrics,
  ) {
    const failedRaises = () => this.failedRaises;
    new Counter({
      name: 'switchyard_alerts_dropped_total',
      help: 'provider.circuit_opened alerts that could not be stored (database down) since start',
      registers: [prometheus.registry],
      collect() {
        this.reset();
        this.inc(failedRaises());
      },
    });
  }

  onModuleInit(): void {
    this.unsubscribe = this.health.onCircuitOpened((event) => this.circuitOpened(event));
  }

  /** Waits for raises under way, so an opening just before shutdown is not lost. */
  async onModuleDestroy(): Promise<void> {
    this.unsubscribe?.();
    await Promise.allSettled([...this.pending]);
  }

  private circuitOpened(event: ModelCircuitOpened): void {
    const raised = this.alerts
      .raise({
        type: 'provider.circuit_opened',
        severity: 'warning',
        // One alert per opening (and per replica: each has its own breakers).
        dedupKey: `provider.circuit_opened:${event.model}:${event.openedAt}`,
        message:
          `The circuit of model ${event.model} (provider ${event.provider}) opened: ${whyOpened(event)}; ` +
          `requests skip it for ${event.breaker.coolDownMs} ms, then one probe is let through.`,
        evidence: {
          model: event.model,
          provider: event.provider,
          reason: event.reason,
          failures: event.failures,
          requests: event.requests,
          failureRate: event.requests > 0 ? event.failures / event.requests : null,
          openedAt: new Date(event.openedAt).toISOString(),
          breaker: event.breaker,
        },
      })
      .catch((error: unknown) => {
        this.failedRaises++;
        this.logger.error(
          { err: error, model: event.model, failedRaises: this.failedRaises },
          'could not raise provider.circuit_opened',
        );
      })
      .finally(() => this.pending.delete(raised));
    this.pending.add(raised);
  }
}

/**
 * The rule that opened the circuit, in its own terms: after failures in a row, the window's ratio
 * (perhaps 3 of 20) is not why, and quoting it would send the reader looking for a storm.
 */
function whyOpened(event: ModelCircuitOpened): string {
  if (event.reason === 'consecutive_failures')
    return `${event.breaker.consecutiveFailures} calls in a row failed (GATEWAY_BREAKER_CONSECUTIVE_FAILURES)`;
  return (
    `${event.failures} of the last ${event.requests} calls failed, at or over its failure ratio of ` +
    `${event.breaker.failureRatio} (GATEWAY_BREAKER_FAILURE_RATIO)`
  );
}
