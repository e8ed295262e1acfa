import { Inject, Injectable, Logger } from '@nestjs/common';
import { retryDelayMs } from '@switchyard/retry';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { alertsConfig, type AlertsConfig } from '../config/alerts.config';
import { renderBody, signatureOf, toPayload } from './alert-body';
import { AlertDeliveriesRepository } from './alert-deliveries.repository';
import { AlertsRepository, type AttemptOutcome } from './alerts.repository';
import type { AlertEntity } from './entities/alert.entity';
import { WebhookClient } from './webhook-client';
import { urlOrigin } from './webhook-url';

/** Alerts claimed (and posted concurrently) per round; a tick keeps going while rounds are full. */
const BATCH_SIZE = 20;
/** How long past its webhook timeout a claimed alert stays out of other replicas' reach. */
const LEASE_MARGIN_MS = 30_000;

export const SIGNATURE_HEADER = 'x-switchyard-signature';
export const ALERT_ID_HEADER = 'x-switchyard-alert-id';
export const ALERT_TYPE_HEADER = 'x-switchyard-alert-type';

/**
 * Delivers the outbox: claims due alerts, posts each to its webhook (signed when a secret is set)
 * and records the attempt with the alert's new state, in one transaction. One round at a time per
 * process; several replicas claim disjoint alerts. After `stop()` nothing more is claimed and the
 * posts already under way are finished and recorded.
 */
@Injectable()
export class AlertSender {
  private readonly logger = new Logger(AlertSender.name);
  private running?: Promise<number>;
  private stopped = false;
  /** Set while rounds fail (database down), so the outage is logged once, not on every tick. */
  private failingSince?: number;

  constructor(
    @Inject(alertsConfig.KEY) private readonly config: AlertsConfig,
    private readonly dataSource: DataSource,
    private readonly alerts: AlertsRepository,
    private readonly deliveries: AlertDeliveriesRepository,
    private readonly webhook: WebhookClient,
    private readonly clock: Clock,
  ) {}

  /**
   * Sends what is due; returns how many alerts it attempted. A call while a round is running joins
   * that round instead of starting another (ticks never overlap).
   */
  sendDue(): Promise<number> {
    if (this.stopped) return Promise.resolve(0);
    this.running ??= this.drain().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Stops claiming and waits for the round under way (its posts are bounded by the webhook timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => undefined);
  }

  private async drain(): Promise<number> {
    let attempted = 0;
    try {
      while (!this.stopped) {
        const claimed = await this.alerts.claimDue(
          BATCH_SIZE,
          this.config.webhookTimeoutMs + LEASE_MARGIN_MS,
          this.clock.now(),
        );
        // allSettled: one alert's database error must not end the round while its siblings still post.
        const results = await Promise.allSettled(claimed.map((alert) => this.deliver(alert)));
        for (const result of results) {
          if (result.status === 'rejected')
            this.logger.error({ err: result.reason }, 'alert delivery round hit an error');
        }
        attempted += claimed.length;
        if (claimed.length < BATCH_SIZE) break;
      }
      if (this.failingSince !== undefined) {
        this.logger.log({ downMs: this.clock.nowMs() - this.failingSince }, 'alert sender works again');
        this.failingSince = undefined;
      }
    } catch (error) {
      // The database is down or the claim failed: the next tick tries again.
      if (this.failingSince === undefined) {
        this.failingSince = this.clock.nowMs();
        this.logger.warn({ err: error }, 'alert sender cannot claim alerts; retrying on every tick');
      } else {
        this.logger.debug({ err: error }, 'alert sender still cannot claim alerts');
      }
    }
    return attempted;
  }

  private async deliver(alert: AlertEntity): Promise<void> {
    const target = alert.targetUrl ?? this.config.webhookUrl;
    if (!target) {
      await this.alerts.markNoTarget(
        alert.id,
        alert.attempts,
        'no webhook: set ALERT_WEBHOOK_URL (or give the alert a target URL)',
      );
      this.logger.warn({ alert: alert.id, type: alert.type }, 'alert has no webhook to go to; marked no_target');
      return;
    }
    const origin = urlOrigin(target);
    const attempt = alert.attempts + 1;
    const body = renderBody(toPayload(alert), this.config.format);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'switchyard-alerts',
      [ALERT_ID_HEADER]: alert.id,
      [ALERT_TYPE_HEADER]: alert.type,
    };
    if (this.config.webhookSecret) headers[SIGNATURE_HEADER] = signatureOf(body, this.config.webhookSecret);

    const result = await this.webhook.post(target, body, headers, this.config.webhookTimeoutMs);
    const { maxAttempts } = this.config.retry;
    const outcome: AttemptOutcome = result.ok
      ? { status: 'delivered' }
      : attempt >= maxAttempts
        ? { status: 'failed', error: `${result.error} (attempt ${attempt} of ${maxAttempts})` }
        : {
            status: 'pending',
            error: result.error ?? 'failed',
            retryInMs: nextAttemptDelayMs(attempt, this.config.retry, result.retryAfterMs),
          };
    try {
      const recorded = await this.dataSource.transaction(async (manager) => {
        await this.deliveries.append(manager, {
          alertId: alert.id,
          attempt,
          targetOrigin: origin,
          httpStatus: result.status ?? null,
          error: result.error,
          durationMs: result.durationMs,
        });
        return this.alerts.recordOutcome(manager, alert.id, alert.attempts, outcome, this.clock.now());
      });
      const fields = {
        alert: alert.id,
        type: alert.type,
        webhook: origin,
        attempt,
        httpStatus: result.status,
        durationMs: result.durationMs,
      };
      if (!recorded) this.logger.warn(fields, 'alert was taken over by another sender while this one posted it');
      else if (outcome.status === 'delivered') this.logger.log(fields, 'alert delivered');
      else if (outcome.status === 'failed')
        this.logger.error(
          { ...fields, error: result.error },
          `alert delivery failed for good after ${attempt} attempts`,
        );
      else
        this.logger.warn(
          { ...fields, error: result.error, retryInMs: outcome.retryInMs },
          'alert delivery failed; will retry',
        );
    } catch (error) {
      // The post happened but its record did not: the alert is retried when its lease ends.
      this.logger.error({ err: error, alert: alert.id }, 'could not record an alert delivery attempt');
    }
  }
}

/**
 * The wait after failed attempt number `attempt` (1 for the first): the shared full-jitter backoff
 * of @switchyard/retry, or the webhook's Retry-After when it sent one, capped at ALERT_RETRY_MAX_MS
 * either way (an outbox has no request deadline; the cap is what bounds a delivery's total time).
 */
export function nextAttemptDelayMs(
  attempt: number,
  policy: AlertsConfig['retry'],
  retryAfterMs?: number,
  random?: () => number,
): number {
  const delay = retryDelayMs({ attempt: attempt - 1, policy, retryAfterMs, remainingMs: Infinity, random }) ?? 0;
  return Math.round(Math.min(policy.maxDelayMs, delay));
}
