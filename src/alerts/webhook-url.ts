import { isURL } from 'class-validator';
import { WEBHOOK_URL_OPTIONS } from '../config/alerts.config';

/**
 * What may be shown of a webhook URL: scheme and host (and port). The path and query of a Slack or
 * similar hook are its credential, and user:password@ is one too, so neither is ever logged,
 * returned or stored outside the row that needs it to send.
 */
export function urlOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

/** The same rule as ALERT_WEBHOOK_URL: an http(s) URL. */
export function isWebhookUrl(url: string): boolean {
  return isURL(url, WEBHOOK_URL_OPTIONS);
}
