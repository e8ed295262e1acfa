import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiExtraModels, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../access/access.decorators';
import { Caller } from '../access/caller.decorator';
import type { AuthenticatedCaller } from '../access/scopes';
import { ApiBodyExamples, ApiOpenAiError } from '../common/api-error-responses';
import { DatabaseNotAnswering } from '../common/database-unavailable';
import { UnsupportedContentType } from '../common/request-errors';
import { DEFAULT_OPERATOR_TIMEOUT_MS } from '../config/app.config';
import {
  OpenFeatureTrackingEventDto,
  OutcomeAcceptedDto,
  OutcomeBatchDto,
  OutcomeEventDto,
} from './dto/outcome-event.dto';
import { OutcomeIngestion, type IngestionAnswer } from './outcome-ingestion';
import { OutcomeEventRefused, OutcomeMetricUnverifiable } from './outcome.errors';

@ApiTags('outcomes')
@RequireScope('gateway')
@Controller('v1')
export class OutcomeIngestionController {
  constructor(private readonly ingestion: OutcomeIngestion) {}

  @Post('outcomes')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Report outcomes (conversions, thumbs-up, ratings): one event, or { events: [...] } of up to 1 000',
    description:
      'A request-unit event names the request (its x-switchyard-request-id); a user-unit event the user, and counts ' +
      "for the variant the user was assigned in the flag's canary: the user needs an exposure (a request Switchyard " +
      "routed through a flag with that user id) within the metric's attribution window before the event. The OpenFeature tracking shape " +
      '({ trackingEventName, context: { targetingKey }, details: { value } }) is accepted too. A single event answers ' +
      '202 with its id or its refusal; a batch answers 202 with a result per event, storing the good ones.',
  })
  @ApiExtraModels(OutcomeEventDto)
  @ApiBodyExamples([OutcomeEventDto, OutcomeBatchDto, OpenFeatureTrackingEventDto], {
    single: {
      summary: "A user's conversion, by the user id the flag was evaluated for",
      value: { metric: 'checkout_converted', value: true, userId: 'user-4821', idempotencyKey: 'order-77812' },
    },
    batch: {
      summary: 'A batch: each event is checked and answered on its own',
      value: {
        events: [
          { metric: 'checkout_converted', value: 1, userId: 'user-4821', idempotencyKey: 'order-77813' },
          { metric: 'checkout_converted', value: false, userId: 'user-5930' },
        ],
      },
    },
    openFeature: {
      summary: 'The OpenFeature tracking shape (track("checkout_converted", context, details))',
      value: { trackingEventName: 'checkout_converted', context: { targetingKey: 'user-4821' }, details: { value: 1 } },
    },
  })
  @ApiAcceptedResponse({ type: OutcomeAcceptedDto })
  @ApiOpenAiError(
    'A single event refused, naming the field (a batch answers refusals per event)',
    new OutcomeEventRefused(
      'invalid',
      'unknown_metric',
      'metric "chekout" is not an outcome metric (define it with POST /api/outcome-metrics)',
      'metric',
    ),
    new OutcomeEventRefused(
      'invalid',
      'no_exposure_in_window',
      'occurredAt 2026-11-26T10:15:00.000Z is past the 86400 s attribution window of checkout_converted: the last exposure of userId "user-4821" before it was at 2026-11-24T09:02:11.000Z (report outcomes within the window of the user\'s request, or lengthen the metric\'s attributionWindowSeconds)',
      'occurredAt',
    ),
  )
  @ApiOpenAiError(
    'A single request-unit event whose request Switchyard never answered',
    new OutcomeEventRefused(
      'not_found',
      'unknown_request',
      'requestId "5b0c6b1e-0000-4a83-9d1f-2f7f7f1f3c11" is not a request Switchyard answered (use the x-switchyard-request-id header of the answer)',
      'requestId',
    ),
  )
  @ApiOpenAiError(
    'The body is not declared Content-Type: application/json (in UTF-8)',
    new UnsupportedContentType('text/plain'),
  )
  @ApiOpenAiError(
    'The outcome queue is full (the database has been down a long while), the database did not answer within OPERATOR_TIMEOUT_MS, or it cannot be read to check a metric this replica has not read yet: retry',
    new OutcomeEventRefused('unavailable', 'outcome_queue_full', 'The outcome queue is full; retry shortly', null),
    new DatabaseNotAnswering(DEFAULT_OPERATOR_TIMEOUT_MS),
    new OutcomeMetricUnverifiable(['checkout_converted']),
  )
  report(@Body() body: unknown, @Caller() caller: AuthenticatedCaller): Promise<IngestionAnswer> {
    return this.ingestion.ingest(body, caller);
  }
}
