import { Controller, Get, Header, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../access/access.decorators';
import { ApiErrorDto } from '../common/api-error.dto';
import { CostQueryDto, SummaryQueryDto, TimeseriesQueryDto } from './dto/metrics-query.dto';
import { CostReportDto, SummaryDto, TimeseriesDto } from './dto/metrics-result.dto';
import { MetricsQueryService } from './metrics-query.service';
import { PrometheusMetrics } from './prometheus-metrics';

@ApiTags('metrics')
@RequireScope('read')
@Controller('api/metrics')
export class MetricsController {
  constructor(private readonly queries: MetricsQueryService) {}

  @Get('summary')
  @ApiOperation({
    summary:
      'Requests, errors, exact latency percentiles, TTFT, tokens and cost per group over a window (default: the last hour)',
  })
  @ApiOkResponse({ type: SummaryDto })
  @ApiBadRequestResponse({ type: ApiErrorDto, description: 'Bad time, range or grouping (named in the message)' })
  summary(@Query() query: SummaryQueryDto): Promise<SummaryDto> {
    return this.queries.summary(query);
  }

  @Get('timeseries')
  @ApiOperation({ summary: 'The summary figures per time bucket and group, for charts' })
  @ApiOkResponse({ type: TimeseriesDto })
  @ApiBadRequestResponse({ type: ApiErrorDto })
  timeseries(@Query() query: TimeseriesQueryDto): Promise<TimeseriesDto> {
    return this.queries.timeseries(query);
  }

  @Get('cost')
  @ApiOperation({
    summary:
      'Spend per group, and what the same tokens would have cost on the reference model (default: the last 24 hours)',
  })
  @ApiOkResponse({ type: CostReportDto })
  @ApiBadRequestResponse({ type: ApiErrorDto })
  cost(@Query() query: CostQueryDto): Promise<CostReportDto> {
    return this.queries.cost(query);
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
    return this.prometheus.registry.metrics();
  }
}
