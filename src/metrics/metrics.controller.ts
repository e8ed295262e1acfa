import { Controller, Get, Header, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../access/access.decorators';
import { ApiDatabaseUnavailable, ApiOperatorError } from '../common/api-error-responses';
import { InvalidInput } from '../common/request-errors';
import { CostQueryDto, SummaryQueryDto, TimeseriesQueryDto } from './dto/metrics-query.dto';
import { CostReportDto, SummaryDto, TimeseriesDto } from './dto/metrics-result.dto';
import {
  EmptyMetricsWindow,
  MetricsTimeOutOfRange,
  TooManyBuckets,
  UnknownReferenceModel,
} from './metrics-query.errors';
import { MetricsQueryService } from './metrics-query.service';
import { CostReportService } from './cost-report.service';

const badWindow = [
  new MetricsTimeOutOfRange('from', '-4714-01-01'),
  new EmptyMetricsWindow(new Date('2026-11-24T10:00:00Z'), new Date('2026-11-24T09:00:00Z')),
];
import { PrometheusMetrics } from './prometheus-metrics';

@ApiTags('metrics')
@RequireScope('read')
@ApiDatabaseUnavailable()
@Controller('api/metrics')
export class MetricsController {
  constructor(
    private readonly queries: MetricsQueryService,
    private readonly costs: CostReportService,
  ) {}

  @Get('summary')
  @ApiOperation({
    summary:
      'Requests, errors, exact latency percentiles, TTFT, tokens and cost per group over a window (default: the last hour)',
  })
  @ApiOkResponse({ type: SummaryDto })
  @ApiOperatorError(
    'Bad time, range or grouping (named in the message)',
    new InvalidInput(['groupBy must be one of: variant, model, policy, provider, apiKey']),
    ...badWindow,
  )
  summary(@Query() query: SummaryQueryDto): Promise<SummaryDto> {
    return this.queries.summary(query);
  }

  @Get('timeseries')
  @ApiOperation({ summary: 'The summary figures per time bucket and group, for charts' })
  @ApiOkResponse({ type: TimeseriesDto })
  @ApiOperatorError(
    'Bad time, range, grouping or bucket; or more than 2000 buckets',
    new InvalidInput(['bucket must be a width such as 30s, 1m, 15m, 1h or 1d']),
    new TooManyBuckets('1s', 86_400, 2000),
    ...badWindow,
  )
  timeseries(@Query() query: TimeseriesQueryDto): Promise<TimeseriesDto> {
    return this.queries.timeseries(query);
  }

  @Get('cost')
  @ApiOperation({
    summary:
      'Spend per model, policy or team (API key), or per team and policy at once, and what the same tokens would have cost on the reference model (default: the last 24 hours)',
  })
  @ApiOkResponse({ type: CostReportDto })
  @ApiOperatorError(
    'Bad time, range or grouping, or a reference model outside the catalog',
    new InvalidInput([
      'groupBy must be one of: model, policy, apiKey, or a comma-separated list of them such as apiKey,policy',
    ]),
    new UnknownReferenceModel('gpt-9', ['deepseek-v3.2', 'gemini-2.5-flash', 'claude-sonnet-4.5', 'gpt-4.1']),
    ...badWindow,
  )
  cost(@Query() query: CostQueryDto): Promise<CostReportDto> {
    return this.costs.cost(query);
  }
}

@ApiTags('metrics')
// Scrapers often cannot send a bearer token: PROMETHEUS_PUBLIC=true opens it (keep the port private then).
@RequireScope('read', { publicWhen: 'prometheusPublic' })
@Controller('metrics')
export class PrometheusController {
  constructor(private readonly prometheus: PrometheusMetrics) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({
    summary: 'Prometheus exposition: requests, latency, tokens, cost, writer queue and drops, circuits, process',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text format 0.0.4', schema: { type: 'string' } })
  scrape(): Promise<string> {
    return this.prometheus.exposition();
  }
}
