import { Inject, Injectable, Logger } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { DataSource, type EntityManager } from 'typeorm';
import { Clock } from '../common/clock';
import { alertsConfig, type AlertsConfig } from '../config/alerts.config';
import { ALERT_SEVERITIES, ALERT_TYPES, DEFAULT_SEVERITY, type NewAlert, type RaiseResult } from './alert.types';
import { AlertNotFound, UnknownAlertCursor } from './alert.errors';
import { toAlertView, toDeliveryView, type AlertDetailView, type AlertPageView } from './alert-view';
import { AlertDeliveriesRepository } from './alert-deliveries.repository';
import { AlertsRepository, type AlertFilter } from './alerts.repository';
import { isWebhookUrl } from './webhook-url';

const MAX_DEDUP_KEY_LENGTH = 500;

/**
 * Raising alerts (into the outbox, in the caller's transaction when it has one) and reading them
 * back. Sending is the AlertSender's job; nothing here waits on a webhook.
 */
@Injectable()
export class AlertsService {
  private readonly logger = new Logger(AlertsService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly alerts: AlertsRepository,
    private readonly deliveries: AlertDeliveriesRepository,
    @Inject(alertsConfig.KEY) private readonly config: AlertsConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * Stores an alert for the sender. Give the transaction's `manager` to have the alert commit (or
   * roll back) with the change it reports. An alert whose dedup key was raised before is not stored
   * again (`created: false`), so repeating an event never sends it twice. Throws on a malformed
   * alert (a programming error, not an operator's).
   */
  async raise(alert: NewAlert, manager?: EntityManager): Promise<RaiseResult> {
    assertWellFormed(alert);
    const id = await this.alerts.insert(
      manager ?? this.dataSource.manager,
      {
        type: alert.type,
        severity: alert.severity ?? DEFAULT_SEVERITY[alert.type],
        dedupKey: alert.dedupKey,
        flagKey: alert.flag ?? null,
        canaryId: alert.canaryId ?? null,
        stage: alert.stage ?? null,
        message: alert.message,
        evidence: alert.evidence ?? {},
        targetUrl: alert.targetUrl ?? null,
      },
      this.clock.now(),
    );
    if (id === null) {
      this.logger.debug({ type: alert.type, dedupKey: alert.dedupKey }, 'alert already raised; not stored again');
      return { created: false };
    }
    this.logger.log(
      { alert: id, type: alert.type, flag: alert.flag ?? undefined, canary: alert.canaryId ?? undefined },
      'alert raised',
    );
    return { created: true, id };
  }

  async list(filter: AlertFilter, limit: number, before?: string): Promise<AlertPageView> {
    if (before !== undefined && !(await this.alerts.exists(before))) {
      throw new UnknownAlertCursor(before);
    }
    // One row more than the page tells whether another follows, without a count.
    const rows = await this.alerts.list(filter, limit + 1, before);
    const page = rows.slice(0, limit);
    return {
      items: page.map((row) => toAlertView(row, this.config.webhookUrl)),
      nextBefore: rows.length > limit ? page[page.length - 1].id : null,
    };
  }

  async get(id: string): Promise<AlertDetailView> {
    const alert = await this.alerts.findById(id);
    if (!alert) throw new AlertNotFound(id);
    const deliveries = await this.deliveries.listFor(id);
    return { ...toAlertView(alert, this.config.webhookUrl), deliveries: deliveries.map(toDeliveryView) };
  }
}

function assertWellFormed(alert: NewAlert): void {
  const problems: string[] = [];
  if (!(ALERT_TYPES as readonly string[]).includes(alert.type))
    problems.push(`type "${alert.type}" is not an alert type`);
  if (alert.severity !== undefined && !(ALERT_SEVERITIES as readonly string[]).includes(alert.severity)) {
    problems.push(`severity "${alert.severity}" is not one of ${ALERT_SEVERITIES.join(', ')}`);
  }
  if (alert.canaryId !== null && alert.canaryId !== undefined && !isUUID(alert.canaryId))
    problems.push('canaryId must be a UUID');
  if (!alert.dedupKey || alert.dedupKey.length > MAX_DEDUP_KEY_LENGTH)
    problems.push(`dedupKey must be 1-${MAX_DEDUP_KEY_LENGTH} characters`);
  if (!alert.message) problems.push('message must not be empty');
  if (alert.stage !== null && alert.stage !== undefined && !Number.isInteger(alert.stage))
    problems.push('stage must be an integer');
  // Not the URL itself in the message: it may be a secret.
  if (alert.targetUrl !== null && alert.targetUrl !== undefined && !isWebhookUrl(alert.targetUrl))
    problems.push('targetUrl must be an http(s) URL');
  if (problems.length > 0) throw new TypeError(`invalid alert: ${problems.join('; ')}`);
}
