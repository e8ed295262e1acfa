import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthIndicatorResult } from '@nestjs/terminus';
import { Public } from '../access/access.decorators';
import { MetricsHealthIndicator } from '../metrics/metrics.health';
import { DatabaseHealthIndicator } from './database.health';
import { HealthResultDto } from './health-result.dto';
import { hideAddresses } from './hide-addresses';
import { ProviderHealthIndicator } from './provider.health';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
    private readonly providers: ProviderHealthIndicator,
    private readonly metrics: MetricsHealthIndicator,
  ) {}

  @Get('live')
  @ApiOperation({
    summary: 'Liveness: the process is up and serving HTTP (depends on no provider and not on the database)',
  })
  @ApiOkResponse({ type: HealthResultDto })
  @HealthCheck({ swaggerDocumentation: false })
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness: this replica can serve',
    description:
      'Ready (200) while every provider answers `/models` to its primary or its backup key (`key: "backup"` says the ' +
      'primary is refused) and the database answers. While the database is unreachable the replica still serves ' +
      'completions from flags in memory and queues metric rows: `status: "degraded"` with the database entry ' +
      '`degraded`, still 200; likewise a provider that answers to neither key while another provider answers. ' +
      'Unready (503) when no provider answers, or the database is unreachable ' +
      'and either the flags were never loaded or the metrics queue is at 90% of METRICS_QUEUE_LIMIT. `metrics` ' +
      'reports the row writer (queued, written, dropped): `degraded` while its writes fail or hang ' +
      '(`message`: "writes failing; 8 rows spooled"), `down` once they do with its queue at 90% of METRICS_QUEUE_LIMIT.',
  })
  @ApiOkResponse({
    type: HealthResultDto,
    description: 'This replica can serve: every part is up, or the database or a provider is degraded',
  })
  @ApiServiceUnavailableResponse({
    type: HealthResultDto,
    description: 'This replica cannot serve; `error` names the part and why',
    example: {
      status: 'error',
      info: { database: { status: 'up' } },
      error: {
        'provider:simulated': {
          status: 'down',
          message: 'primary key: GET /models answered 401; backup key: GET /models answered 401',
        },
      },
      details: {
        database: { status: 'up' },
        'provider:simulated': {
          status: 'down',
          message: 'primary key: GET /models answered 401; backup key: GET /models answered 401',
        },
      },
    },
  })
  @HealthCheck({ swaggerDocumentation: false })
  ready() {
    // Each of these is a function returning a result or a thenable of one (HealthCheckAttempt).
    const checks = [
      () => this.database.check(),
      ...this.providers.checks(),
      () => this.metrics.check(),
    ] as unknown as Array<() => PromiseLike<HealthIndicatorResult> | HealthIndicatorResult>;
    return this.health.check(checks.map((check) => async () => hideAddresses(await check())));
  }
}
