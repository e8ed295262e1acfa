import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthIndicatorResult, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../access/access.decorators';
import { HealthResultDto } from './health-result.dto';
import { hideAddresses } from './hide-addresses';
import { MetricsHealthIndicator } from '../metrics/metrics.health';
import { ProviderHealthIndicator } from './provider.health';

const DATABASE_PING_TIMEOUT_MS = 1500;

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly providers: ProviderHealthIndicator,
    private readonly metrics: MetricsHealthIndicator,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process is up and serving HTTP' })
  @ApiOkResponse({ type: HealthResultDto })
  @HealthCheck({ swaggerDocumentation: false })
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @ApiOperation({
    summary:
      'Readiness: the database answers and every provider in the catalog answers /models; `metrics` reports the row writer (queued, written, dropped)',
  })
  @ApiOkResponse({ type: HealthResultDto, description: 'Every dependency is up' })
  @ApiServiceUnavailableResponse({
    type: HealthResultDto,
    description: 'A dependency is down; `error` names it and why',
    example: {
      status: 'error',
      info: { 'provider:simulated': { status: 'up' } },
      error: { database: { status: 'down', message: 'connect ECONNREFUSED <address>' } },
      details: {
        database: { status: 'down', message: 'connect ECONNREFUSED <address>' },
        'provider:simulated': { status: 'up' },
      },
    },
  })
  @HealthCheck({ swaggerDocumentation: false })
  ready() {
    // Each of these is a function returning a result or a thenable of one (HealthCheckAttempt).
    const checks = [
      () => this.database.pingCheck('database', { timeout: DATABASE_PING_TIMEOUT_MS }),
      ...this.providers.checks(),
      () => this.metrics.check(),
    ] as unknown as Array<() => PromiseLike<HealthIndicatorResult> | HealthIndicatorResult>;
    return this.health.check(checks.map((check) => async () => hideAddresses(await check())));
  }
}
