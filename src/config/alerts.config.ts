import { registerAs } from '@nestjs/config';
import { IsIn, IsOptional, IsString, IsUrl, MinLength } from 'class-validator';
import { ConfigurationError, IntegerBetween, readEnv, validateConfig } from './validate-config';

export const ALERT_WEBHOOK_FORMATS = ['json', 'slack'] as const;
export type AlertWebhookFormat = (typeof ALERT_WEBHOOK_FORMATS)[number];

/** Also used to check per-alert target URLs (a canary's alertWebhookUrl). */
export const WEBHOOK_URL_OPTIONS = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };

// Messages never repeat the value: webhook URLs (Slack's) and the secret are secrets.
class AlertsEnvironment {
  @IsOptional()
  @IsUrl(WEBHOOK_URL_OPTIONS, {
    message: 'ALERT_WEBHOOK_URL must be an http(s) URL such as https://hooks.example.internal/switchyard',
  })
  ALERT_WEBHOOK_URL?: string;

  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'ALERT_WEBHOOK_SECRET must be at least 16 characters long' })
  ALERT_WEBHOOK_SECRET?: string;

  @IsIn(ALERT_WEBHOOK_FORMATS, { message: `ALERT_WEBHOOK_FORMAT must be one of: ${ALERT_WEBHOOK_FORMATS.join(', ')}` })
  ALERT_WEBHOOK_FORMAT: AlertWebhookFormat = 'json';

  @IntegerBetween('ALERT_WEBHOOK_TIMEOUT_MS', 100, 60_000)
  ALERT_WEBHOOK_TIMEOUT_MS = 5_000;

  @IntegerBetween('ALERT_SEND_INTERVAL_MS', 10, 600_000)
  ALERT_SEND_INTERVAL_MS = 1_000;

  @IntegerBetween('ALERT_RETRY_BASE_MS', 1, 3_600_000)
  ALERT_RETRY_BASE_MS = 1_000;

  @IntegerBetween('ALERT_RETRY_MAX_MS', 1, 86_400_000)
  ALERT_RETRY_MAX_MS = 300_000;

  @IntegerBetween('ALERT_MAX_ATTEMPTS', 1, 100)
  ALERT_MAX_ATTEMPTS = 8;
}

export interface AlertsConfig {
  /** Secret (Slack hook URLs carry a token in the path): log and return only its origin. */
  webhookUrl?: string;
  /** Secret: signs bodies (HMAC-SHA256). Never log or return it. */
  webhookSecret?: string;
  format: AlertWebhookFormat;
  webhookTimeoutMs: number;
  sendIntervalMs: number;
  retry: { baseDelayMs: number; maxDelayMs: number; maxAttempts: number };
}

export const ALERTS_ENV = [
  'ALERT_WEBHOOK_URL',
  'ALERT_WEBHOOK_SECRET',
  'ALERT_WEBHOOK_FORMAT',
  'ALERT_WEBHOOK_TIMEOUT_MS',
  'ALERT_SEND_INTERVAL_MS',
  'ALERT_RETRY_BASE_MS',
  'ALERT_RETRY_MAX_MS',
  'ALERT_MAX_ATTEMPTS',
];

export const alertsConfig = registerAs('alerts', (): AlertsConfig => {
  const env = validateConfig(AlertsEnvironment, readEnv(ALERTS_ENV), 'environment');
  if (env.ALERT_RETRY_MAX_MS < env.ALERT_RETRY_BASE_MS) {
    throw new ConfigurationError('environment', ['ALERT_RETRY_MAX_MS must not be smaller than ALERT_RETRY_BASE_MS']);
  }
  return {
    webhookUrl: env.ALERT_WEBHOOK_URL,
    webhookSecret: env.ALERT_WEBHOOK_SECRET,
    format: env.ALERT_WEBHOOK_FORMAT,
    webhookTimeoutMs: env.ALERT_WEBHOOK_TIMEOUT_MS,
    sendIntervalMs: env.ALERT_SEND_INTERVAL_MS,
    retry: {
      baseDelayMs: env.ALERT_RETRY_BASE_MS,
      maxDelayMs: env.ALERT_RETRY_MAX_MS,
      maxAttempts: env.ALERT_MAX_ATTEMPTS,
    },
  };
});
