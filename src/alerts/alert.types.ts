/** Every event Switchyard sends to a webhook. */
export const ALERT_TYPES = [
  'canary.started',
  'canary.resumed',
  'canary.stage_advanced',
  'canary.held',
  'canary.extended',
  'canary.paused',
  'canary.promoted',
  'canary.rolled_back',
  'canary.aborted',
  'canary.stalled',
  'flag.guardrail_tripped',
  'provider.circuit_opened',
  'provider.credentials_refused',
  'budget.threshold_crossed',
  'budget.burn_rate',
  'budget.exhausted',
] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/**
 * `pending`: waiting for its (next) attempt; `delivered`: a webhook answered 2xx; `failed`: every
 * attempt failed (ALERT_MAX_ATTEMPTS); `no_target`: neither the alert nor ALERT_WEBHOOK_URL names a
 * webhook, so nothing was sent (kept and listed, never dropped).
 */
export const ALERT_STATUSES = ['pending', 'delivered', 'failed', 'no_target'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/** The severity an event has unless the caller says otherwise. */
export const DEFAULT_SEVERITY: Readonly<Record<AlertType, AlertSeverity>> = {
  'canary.started': 'info',
  'canary.resumed': 'info',
  'canary.stage_advanced': 'info',
  'canary.held': 'warning',
  // The stage's time is up but a guardrail's estimate is past its margin, unproven: it judges on.
  'canary.extended': 'warning',
  'canary.paused': 'warning',
  'canary.promoted': 'info',
  'canary.rolled_back': 'critical',
  'canary.aborted': 'warning',
  // Its ticks fail: it can neither roll back nor advance while the treatment keeps its share.
  'canary.stalled': 'critical',
  'flag.guardrail_tripped': 'critical',
  'provider.circuit_opened': 'warning',
  // Every request to the provider fails until someone fixes its keys.
  'provider.credentials_refused': 'critical',
  'budget.threshold_crossed': 'info',
  'budget.burn_rate': 'warning',
  'budget.exhausted': 'critical',
};

/** What a caller raises. */
export interface NewAlert {
  type: AlertType;
  /** Defaults to DEFAULT_SEVERITY[type]. */
  severity?: AlertSeverity;
  /**
   * Names the event, not the attempt to report it: raising the same key twice (a retried canary
   * tick, two replicas seeing the same transition) stores and sends one alert. E.g.
   * `canary:<id>:rolled_back`, `provider.circuit_opened:<model>:<openedAt>`.
   */
  dedupKey: string;
  message: string;
  flag?: string | null;
  canaryId?: string | null;
  stage?: number | null;
  /** The numbers behind the event (counts, rates, thresholds); sent as they are. */
  evidence?: Record<string, unknown>;
  /** Overrides ALERT_WEBHOOK_URL for this alert (a canary's alertWebhookUrl). An http(s) URL. */
  targetUrl?: string | null;
}

export type RaiseResult = { created: true; id: string } | { created: false };

/** The body a JSON webhook receives (also what the Slack format summarises). */
export interface AlertPayload {
  id: string;
  type: AlertType;
  severity: AlertSeverity;
  flag: string | null;
  canary: string | null;
  stage: number | null;
  message: string;
  evidence: Record<string, unknown>;
  /** When the event happened (the alert row's creation), ISO 8601. */
  time: string;
}
