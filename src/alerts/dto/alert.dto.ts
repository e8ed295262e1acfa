import { ApiProperty } from '@nestjs/swagger';
import { ALERT_SEVERITIES, ALERT_STATUSES, ALERT_TYPES } from '../alert.types';

export class AlertWebhookDto {
  @ApiProperty({
    example: 'https://hooks.slack.com',
    description: 'Scheme and host only: the rest of a webhook URL can be a secret',
  })
  origin: string;

  @ApiProperty({
    enum: ['alert', 'config'],
    example: 'config',
    description: 'alert: its own target (a canary webhook); config: ALERT_WEBHOOK_URL',
  })
  source: string;
}

export class AlertDto {
  @ApiProperty({ example: '0b6f3c1e-2f5d-4f7a-9d51-6f0e1c2a7b11' })
  id: string;

  @ApiProperty({ enum: ALERT_TYPES, example: 'canary.rolled_back' })
  type: string;

  @ApiProperty({ enum: ALERT_SEVERITIES, example: 'critical' })
  severity: string;

  @ApiProperty({
    enum: ALERT_STATUSES,
    example: 'delivered',
    description:
      'pending (waiting for its next attempt), delivered (a 2xx), failed (every attempt failed), no_target (no webhook configured; never sent)',
  })
  status: string;

  @ApiProperty({
    example: 'canary:7c1d2e3f-0000-4000-8000-000000000001:rolled_back',
    description: 'The event it reports; raised twice, stored and sent once',
  })
  dedupKey: string;

  @ApiProperty({ example: 'recommendations-model', nullable: true, type: String })
  flag: string | null;

  @ApiProperty({
    example: '7c1d2e3f-0000-4000-8000-000000000001',
    nullable: true,
    type: String,
    description: 'Canary id',
  })
  canary: string | null;

  @ApiProperty({
    example: 2,
    nullable: true,
    type: Number,
    description: "The canary's live stage, from 1; null in its shadow stage and for alerts about no canary",
  })
  stage: number | null;

  @ApiProperty({ example: 'Treatment error rate 4.1% exceeded 2% with 612 requests; rolled back to 0%' })
  message: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: {
      treatment: { requests: 612, errorRate: 0.041 },
      control: { requests: 5890, errorRate: 0.006 },
      threshold: 0.02,
    },
    description: 'The numbers behind the event, as sent',
  })
  evidence: Record<string, unknown>;

  @ApiProperty({
    type: AlertWebhookDto,
    nullable: true,
    description: 'Where it is sent; null when no webhook is configured',
  })
  webhook: AlertWebhookDto | null;

  @ApiProperty({ example: 1, description: 'Delivery attempts made' })
  attempts: number;

  @ApiProperty({
    example: null,
    nullable: true,
    type: String,
    description: 'When the next attempt is due (pending only)',
  })
  nextAttemptAt: string | null;

  @ApiProperty({ example: null, nullable: true, type: String, description: 'Why the last attempt failed' })
  lastError: string | null;

  @ApiProperty({ example: '2026-11-24T17:05:01.120Z', nullable: true, type: String })
  deliveredAt: string | null;

  @ApiProperty({ example: '2026-11-24T17:05:00.000Z', description: 'When the event happened (the payload `time`)' })
  createdAt: string;
}

export class AlertDeliveryDto {
  @ApiProperty({ example: 1 })
  attempt: number;

  @ApiProperty({ example: '2026-11-24T17:05:01.090Z' })
  attemptedAt: string;

  @ApiProperty({ example: 'https://hooks.slack.com' })
  targetOrigin: string;

  @ApiProperty({
    example: 200,
    nullable: true,
    type: Number,
    description: 'null when no answer came (refused, timed out)',
  })
  httpStatus: number | null;

  @ApiProperty({ example: null, nullable: true, type: String })
  error: string | null;

  @ApiProperty({ example: 31 })
  durationMs: number;
}

export class AlertDetailDto extends AlertDto {
  @ApiProperty({ type: [AlertDeliveryDto], description: 'Every attempt, oldest first' })
  deliveries: AlertDeliveryDto[];
}

export class AlertPageDto {
  @ApiProperty({ type: [AlertDto], description: 'Newest first' })
  items: AlertDto[];

  @ApiProperty({
    example: '0b6f3c1e-2f5d-4f7a-9d51-6f0e1c2a7b11',
    nullable: true,
    type: String,
    description: 'Pass as `before` for the next page; null on the last page',
  })
  nextBefore: string | null;
}
