import { createHmac } from 'node:crypto';
import type { AlertWebhookFormat } from '../config/alerts.config';
import type { AlertPayload, AlertSeverity, AlertType } from './alert.types';

/** What the sender reads from an alert row to build its payload. */
export interface AlertFields {
  id: string;
  type: AlertType;
  severity: AlertSeverity;
  flagKey: string | null;
  canaryId: string | null;
  stage: number | null;
  message: string;
  evidence: Record<string, unknown>;
  createdAt: Date;
}

export function toPayload(alert: AlertFields): AlertPayload {
  return {
    id: alert.id,
    type: alert.type,
    severity: alert.severity,
    flag: alert.flagKey,
    canary: alert.canaryId,
    stage: alert.stage,
    message: alert.message,
    evidence: alert.evidence,
    time: alert.createdAt.toISOString(),
  };
}

const SLACK_EMOJI: Record<AlertSeverity, string> = {
  info: ':information_source:',
  warning: ':warning:',
  critical: ':rotating_light:',
};
// Slack refuses a section text over 3000 characters.
const SLACK_EVIDENCE_LIMIT = 2800;

/** Slack's mrkdwn treats these three as markup. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A Slack incoming-webhook body: `text` is the one-line summary notifications show; `blocks` lay out
 * the event, where it happened and its evidence.
 */
export function slackBody(payload: AlertPayload): { text: string; blocks: object[] } {
  const where = [
    payload.flag && `flag ${payload.flag}`,
    payload.canary && `canary ${payload.canary}`,
    payload.stage !== null && `stage ${payload.stage}`,
  ]
    .filter(Boolean)
    .join(', ');
  const text = `${SLACK_EMOJI[payload.severity]} [${payload.severity}] ${payload.type}${where ? ` (${where})` : ''}: ${payload.message}`;
  const fields = [
    payload.flag && { type: 'mrkdwn', text: `*Flag*\n${slackEscape(payload.flag)}` },
    payload.canary && { type: 'mrkdwn', text: `*Canary*\n${slackEscape(payload.canary)}` },
    payload.stage !== null && { type: 'mrkdwn', text: `*Stage*\n${payload.stage}` },
  ].filter(Boolean);
  let evidence = JSON.stringify(payload.evidence, null, 2);
  if (evidence.length > SLACK_EVIDENCE_LIMIT) evidence = `${evidence.slice(0, SLACK_EVIDENCE_LIMIT)}\n…`;
  const blocks: object[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `${SLACK_EMOJI[payload.severity]} *${payload.severity.toUpperCase()}* \`${payload.type}\`\n${slackEscape(payload.message)}`,
      },
    },
  ];
  if (fields.length > 0) blocks.push({ type: 'section', fields });
  if (Object.keys(payload.evidence).length > 0)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${slackEscape(evidence)}\`\`\`` } });
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `Switchyard alert ${payload.id} · ${payload.time}` }],
  });
  return { text: slackEscape(text), blocks };
}

/** The exact bytes posted (and signed). */
export function renderBody(payload: AlertPayload, format: AlertWebhookFormat): Buffer {
  return Buffer.from(JSON.stringify(format === 'slack' ? slackBody(payload) : payload), 'utf8');
}

/** `x-switchyard-signature` value: HMAC-SHA256 of the exact body bytes, hex. */
export function signatureOf(body: Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
