import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class OutcomeEventDto {
  @ApiProperty({ example: 'checkout_converted', description: 'The key of a defined outcome metric' })
  metric: string;
  @ApiProperty({
    example: true,
    description: 'Binary metrics: true/false or 1/0; numeric metrics: a number from -1e12 to 1e12',
    oneOf: [{ type: 'boolean' }, { type: 'number' }],
  })
  value: boolean | number;
  @ApiPropertyOptional({
    example: '5b0c6b1e-6d5f-4a83-9d1f-2f7f7f1f3c11',
    description: "Request-unit metrics: the answer's x-switchyard-request-id",
  })
  requestId?: string;
  @ApiPropertyOptional({
    example: 'user-4821',
    description: 'User-unit metrics: the user id the flag was evaluated for (x-user-id or the body `user`)',
  })
  userId?: string;
  @ApiPropertyOptional({ example: '2026-12-01T09:30:00Z', description: 'When it happened; default now' })
  occurredAt?: string;
  @ApiPropertyOptional({
    example: 'order-77812',
    description:
      'Events with the same metric and key are stored once (the same id is answered): a retry repeats the value and ' +
      'the request or user. A reused key with a different value (or request or user) keeps the first value; the second ' +
      'is answered 202 all the same (ingestion does not read the table), then counted as dropped with reason ' +
      'idempotency_conflict (switchyard_outcome_events_dropped_total on /metrics) and logged with metric and key. ' +
      'occurredAt is not compared: a retry that leaves it out is given its own now.',
  })
  idempotencyKey?: string;
}

/** OpenFeature's tracking event, as its SDKs' track(name, context, details) send it. */
export class OpenFeatureTrackingEventDto {
  @ApiProperty({ example: 'checkout_converted', description: 'The key of a defined outcome metric' })
  trackingEventName: string;
  @ApiProperty({
    example: { targetingKey: 'user-4821' },
    description: 'The evaluation context: targetingKey is the user (user-unit metrics)',
  })
  context: Record<string, unknown>;
  @ApiPropertyOptional({ example: { value: 1 }, description: '`value` as for `value` above; binary without it: 1' })
  details?: Record<string, unknown>;
  @ApiPropertyOptional({ example: '2026-12-01T09:30:00Z', description: 'When it happened; default now' })
  timestamp?: string;
  @ApiPropertyOptional({ description: "Request-unit metrics: the answer's x-switchyard-request-id" })
  requestId?: string;
  @ApiPropertyOptional({
    description:
      'As `idempotencyKey` above: stored once; a reused key with a different value keeps the first value, and the ' +
      'second is counted as dropped with reason idempotency_conflict',
  })
  idempotencyKey?: string;
}

export class OutcomeBatchDto {
  @ApiProperty({ type: [OutcomeEventDto], description: 'Up to 1 000 events, each checked on its own' })
  events: OutcomeEventDto[];
}

export class OutcomeAcceptedDto {
  @ApiPropertyOptional({ example: '2f0d8c1e-5a43-5b7e-9c11-4e2a6b8d0f13', description: 'A single event: its id' })
  id?: string;
  @ApiPropertyOptional({ example: 2, description: 'A batch: events accepted' })
  accepted?: number;
  @ApiPropertyOptional({ example: 1, description: 'A batch: events refused (see results)' })
  refused?: number;
  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'object' },
    description: 'A batch: per event, in order: { index, status: 202, id } or { index, status, error }',
    example: [
      { index: 0, status: 202, id: '2f0d8c1e-5a43-5b7e-9c11-4e2a6b8d0f13' },
      {
        index: 1,
        status: 400,
        error: {
          code: 'unknown_metric',
          message: 'events[1].metric "chekout" is not an outcome metric (define it with POST /api/outcome-metrics)',
          param: 'events[1].metric',
        },
      },
    ],
  })
  results?: Array<Record<string, unknown>>;
}
