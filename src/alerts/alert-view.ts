import type { AlertSeverity, AlertStatus, AlertType } from './alert.types';
import type { AlertDeliveryEntity } from './entities/alert-delivery.entity';
import type { AlertEntity } from './entities/alert.entity';
import { urlOrigin } from './webhook-url';

/** An alert on the wire. Webhook URLs appear only as their origin. */
export interface AlertView {
  id: string;
  type: AlertType;
  severity: AlertSeverity;
  status: AlertStatus;
  dedupKey: string;
  flag: string | null;
  canary: string | null;
  stage: number | null;
  message: string;
  evidence: Record<string, unknown>;
  /** Where it goes: its own target (a canary's webhook) or ALERT_WEBHOOK_URL; null when neither. */
  webhook: { origin: string; source: 'alert' | 'config' } | null;
  attempts: number;
  /** Pending only. */
  nextAttemptAt: string | null;
  lastError: string | null;
  deliveredAt: string | null;
  createdAt: string;
}

export interface DeliveryView {
  attempt: number;
  attemptedAt: string;
  targetOrigin: string;
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
}

export type AlertDetailView = AlertView & { deliveries: DeliveryView[] };

export interface AlertPageView {
  items: AlertView[];
  nextBefore: string | null;
}

export function toAlertView(alert: AlertEntity, configuredWebhookUrl: string | undefined): AlertView {
  const webhook = alert.targetUrl
    ? { origin: urlOrigin(alert.targetUrl), source: 'alert' as const }
    : configuredWebhookUrl
      ? { origin: urlOrigin(configuredWebhookUrl), source: 'config' as const }
      : null;
  return {
    id: alert.id,
    type: alert.type,
    severity: alert.severity,
    status: alert.status,
    dedupKey: alert.dedupKey,
    flag: alert.flagKey,
    canary: alert.canaryId,
    stage: alert.stage,
    message: alert.message,
    evidence: alert.evidence,
    webhook,
    attempts: alert.attempts,
    nextAttemptAt: alert.status === 'pending' ? alert.nextAttemptAt.toISOString() : null,
    lastError: alert.lastError,
    deliveredAt: alert.deliveredAt ? alert.deliveredAt.toISOString() : null,
    createdAt: alert.createdAt.toISOString(),
  };
}

export function toDeliveryView(delivery: AlertDeliveryEntity): DeliveryView {
  return {
    attempt: delivery.attempt,
    attemptedAt: delivery.attemptedAt.toISOString(),
    targetOrigin: delivery.targetOrigin,
    httpStatus: delivery.httpStatus,
    error: delivery.error,
    durationMs: delivery.durationMs,
  };
}
