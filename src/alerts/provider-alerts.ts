import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Counter } from 'prom-client';
import { PrometheusMetrics } from '../metrics/prometheus-metrics';
import { ModelHealth, type ModelCircuitOpened } from '../providers/model-health';
import { ProviderKeyRing, type ProviderKeysRefused } from '../providers/provider-keys';
import type { NewAlert } from './alert.types';
import { AlertsService } from './alerts.service';

/**
 * Raises what providers report: `provider.circuit_opened` when a model's circuit opens, and
 * `provider.credentials_refused` when a provider refuses every key the gateway has for it. Subscribed
 * to ModelHealth and ProviderKeyRing rather than called by them, so providers know nothing of alerts
 * (alerts -> providers, never back).
 *
 * Both are reported from inside a request, so the raise is fire-and-forget: the request never waits
 * on the database, and a failed raise is logged and counted, not thrown.
 */
@Injectable()
export class ProviderAlerts implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ProviderAlerts.name);
  private readonly unsubscribe: Array<() => void> = [];
  private readonly pending = new Set<Promise<unknown>>();
  /** Raises that failed (database down...) since start; for metrics. */
  failedRaises = 0;

  constructor(
    private readonly health: ModelHealth,
    private readonly keys: ProviderKeyRing,
    private readonly alerts: AlertsService,
    prometheus: PrometheusMetrics,
  ) {
    const failedRaises = () => this.failedRaises;
    new Counter({
      name: 'switchyard_alerts_dropped_total',
      help: 'provider.circuit_opened and provider.credentials_refused alerts that could not be stored (database down) since start',
      registers: [prometheus.registry],
      collect() {
        this.reset();
        this.inc(failedRaises());
      },
    });
  }

  onModuleInit(): void {
    this.unsubscribe.push(
      this.health.onCircuitOpened((event) => this.circuitOpened(event)),
      this.keys.onAllKeysRefused((event) => this.keysRefused(event)),
    );
  }

  /** Waits for raises under way, so an event just before shutdown is not lost. */
  async onModuleDestroy(): Promise<void> {
    for (const stop of this.unsubscribe) stop();
    await Promise.allSettled([...this.pending]);
  }

  private circuitOpened(event: ModelCircuitOpened): void {
    this.raise({
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
    });
  }

  private keysRefused(event: ProviderKeysRefused): void {
    const tried = event.keys.length > 1 ? `its ${event.keys.join(' and ')} keys` : 'its only key';
    this.raise({
      type: 'provider.credentials_refused',
      // One alert per outage of the keys (and per replica): until a key works, or the keys change.
      dedupKey: `provider.credentials_refused:${event.provider}:${event.since}`,
      message:
        `Provider ${event.provider} refused every key the gateway has for it (401 with ${tried}): ` +
        'its requests fail with 502 upstream_auth_failed until a key works; check the keys in the catalog ' +
        '(then POST /api/catalog/reload).',
      evidence: { provider: event.provider, keys: event.keys, since: new Date(event.since).toISOString() },
    });
  }

  private raise(alert: NewAlert): void {
    const raised = this.alerts
      .raise(alert)
      .catch((error: unknown) => {
        this.failedRaises++;
        this.logger.error(
          { err: error, dedupKey: alert.dedupKey, failedRaises: this.failedRaises },
          `could not raise ${alert.type}`,
        );
      })
      .finally(() => this.pending.delete(raised));
    this.pending.add(raised);
  }
}

function whyOpened(event: ModelCircuitOpened): string {
  if (event.reason === 'consecutive_failures')
    return `${event.breaker.consecutiveFailures} calls in a row failed (GATEWAY_BREAKER_CONSECUTIVE_FAILURES)`;
  return (
    `${event.failures} of the last ${event.requests} calls failed, at or over its failure ratio of ` +
    `${event.breaker.failureRatio} (GATEWAY_BREAKER_FAILURE_RATIO)`
  );
}
