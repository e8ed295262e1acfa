import { Body, Controller, Delete, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ScopeByMethod } from '../access/access.decorators';
import { Caller } from '../access/caller.decorator';
import type { AuthenticatedCaller } from '../access/scopes';
import {
  ApiBodyExamples,
  ApiDatabaseUnavailable,
  ApiInvalidBody,
  ApiOperatorError,
} from '../common/api-error-responses';
import { blankReason } from '../common/text-fields';
import { InvalidInput } from '../common/request-errors';
import {
  ArchiveOutcomeMetricDto,
  CreateOutcomeMetricDto,
  OutcomeHistoryQueryDto,
  UpdateOutcomeMetricDto,
} from './dto/outcome-metric-input.dto';
import { OutcomeMetricDto, OutcomeMetricHistoryPageDto } from './dto/outcome-metric.dto';
import { OutcomeMetricsService } from './outcome-metrics.service';
import {
  OutcomeMetricConflict,
  OutcomeMetricExists,
  OutcomeMetricInUse,
  OutcomeMetricInvalid,
  OutcomeMetricNotFound,
} from './outcome.errors';

const ApiKeyParam = () =>
  ApiParam({ name: 'key', description: 'The `key` of an outcome metric', example: 'checkout_converted' });
const ApiMetricNotFound = () =>
  ApiOperatorError('No outcome metric has this key', new OutcomeMetricNotFound('checkout_convertd'));

@ApiTags('outcome-metrics')
@ScopeByMethod()
@ApiDatabaseUnavailable()
@Controller('api/outcome-metrics')
export class OutcomeMetricsController {
  constructor(private readonly metrics: OutcomeMetricsService) {}

  @Post()
  @ApiOperation({
    summary: 'Define an outcome metric (a conversion, a thumbs-up, a rating) that services report and canaries judge',
  })
  @ApiBodyExamples(CreateOutcomeMetricDto, {
    conversion: {
      summary: 'Checkout conversion: binary, higher is better, per user, within 24 h of the exposure',
      value: {
        key: 'checkout_converted',
        description: 'The user bought what the recommendations suggested',
        type: 'binary',
        direction: 'higher_is_better',
        unit: 'user',
        attributionWindowSeconds: 86400,
      },
    },
  })
  @ApiCreatedResponse({ type: OutcomeMetricDto })
  @ApiInvalidBody('Invalid field (each named in the message)', new InvalidInput(['unit must be one of: request, user']))
  @ApiOperatorError(
    'The key is taken (archived keys too), or is a built-in signal',
    new OutcomeMetricExists('checkout_converted', false),
    new OutcomeMetricConflict('"empty_answer" is a built-in answer-quality signal: choose another key'),
  )
  create(@Body() dto: CreateOutcomeMetricDto, @Caller() caller: AuthenticatedCaller): Promise<OutcomeMetricDto> {
    return this.metrics.create(dto, caller);
  }

  @Get()
  @ApiOperation({
    summary:
      'Every outcome metric: the defined ones (archived too), then the built-in answer-quality signals (read-only)',
  })
  @ApiOkResponse({ type: [OutcomeMetricDto] })
  list(): Promise<OutcomeMetricDto[]> {
    return this.metrics.list();
  }

  @Get(':key')
  @ApiOperation({ summary: 'One outcome metric (built-in, defined or archived)' })
  @ApiKeyParam()
  @ApiOkResponse({ type: OutcomeMetricDto })
  @ApiMetricNotFound()
  get(@Param('key') key: string): Promise<OutcomeMetricDto> {
    return this.metrics.get(key);
  }

  @Patch(':key')
  @ApiOperation({ summary: 'Change the description, direction or attribution window, based on `version`' })
  @ApiKeyParam()
  @ApiBodyExamples(UpdateOutcomeMetricDto, {
    window: {
      summary: 'Attribute conversions up to 48 h after the exposure',
      value: { version: 1, attributionWindowSeconds: 172800, reason: 'Conversions arrive later than we thought' },
    },
  })
  @ApiOkResponse({ type: OutcomeMetricDto })
  @ApiInvalidBody(
    'Invalid field, or a change of type or unit (fixed at creation)',
    new InvalidInput(['version must be the current version of the metric (an integer from 1)']),
    new OutcomeMetricInvalid(['unit is fixed at creation (user): define a new metric attached to request']),
  )
  @ApiMetricNotFound()
  @ApiOperatorError(
    'Stale version, an archived metric, or a built-in signal; nothing written',
    new OutcomeMetricConflict('outcome metric "checkout_converted" is at version 2, not 1: read it again and retry'),
  )
  update(
    @Param('key') key: string,
    @Body() dto: UpdateOutcomeMetricDto,
    @Caller() caller: AuthenticatedCaller,
  ): Promise<OutcomeMetricDto> {
    return this.metrics.update(key, dto, caller);
  }

  @Delete(':key')
  @ApiOperation({
    summary: 'Archive: takes no more events or changes, keeps its events and history; the key is never reused',
  })
  @ApiKeyParam()
  @ApiOkResponse({ type: OutcomeMetricDto })
  @ApiInvalidBody('A bad reason', new InvalidInput([blankReason('reason')]))
  @ApiMetricNotFound()
  @ApiOperatorError(
    'Already archived, a built-in signal, or a gate of an active canary (end the canary first)',
    new OutcomeMetricConflict('outcome metric "checkout_converted" is archived: it takes no more changes'),
    new OutcomeMetricInUse('checkout_converted', ['canary 0b6f5a3e-3c1d-4f5e-9a8b-7c6d5e4f3a2b (running)']),
  )
  archive(
    @Param('key') key: string,
    @Caller() caller: AuthenticatedCaller,
    @Body() dto: ArchiveOutcomeMetricDto = {},
  ): Promise<OutcomeMetricDto> {
    return this.metrics.archive(key, caller, dto?.reason ?? null);
  }

  @Get(':key/history')
  @ApiOperation({ summary: 'Change history, newest first, paged with `before`' })
  @ApiKeyParam()
  @ApiOkResponse({ type: OutcomeMetricHistoryPageDto })
  @ApiOperatorError('A bad query value', new InvalidInput(['limit must be an integer between 1 and 200']))
  @ApiMetricNotFound()
  history(@Param('key') key: string, @Query() query: OutcomeHistoryQueryDto): Promise<OutcomeMetricHistoryPageDto> {
    return this.metrics.historyOf(key, query.limit ?? 50, query.before);
  }
}
