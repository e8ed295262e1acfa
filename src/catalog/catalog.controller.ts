import { Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ScopeByMethod } from '../access/access.decorators';
import { Caller } from '../access/caller.decorator';
import type { AuthenticatedCaller } from '../access/scopes';
import { ApiDatabaseUnavailable, ApiNoBody, ApiOperatorError } from '../common/api-error-responses';
import { InvalidInput } from '../common/request-errors';
import { notAField } from '../common/validation';
import { CatalogReloadRefused } from './catalog-reload.errors';
import { CatalogReloader } from './catalog-reloader';
import {
  CatalogReloadDto,
  CatalogReloadPageDto,
  CatalogReloadsQueryDto,
  CatalogStateDto,
} from './dto/catalog-reload.dto';

const DEFAULT_RELOADS_LIMIT = 20;

@ApiTags('catalog')
@ScopeByMethod()
@Controller('api/catalog')
export class CatalogController {
  constructor(private readonly reloader: CatalogReloader) {}

  @Get()
  @ApiOperation({ summary: 'The catalog this replica serves: source, SHA-256, when it was loaded, its entries' })
  @ApiOkResponse({ type: CatalogStateDto })
  current(): CatalogStateDto {
    return this.reloader.state();
  }

  @Post('reload')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Reload the catalog file on every replica (as SIGHUP does on one); a bad catalog changes nothing',
    description:
      'Reads SWITCHYARD_CATALOG as start-up does, validates it, records the reload (who, when, what changed) and tells every replica through Postgres. Refused with every problem named; the catalog in force then stays.',
  })
  @ApiOkResponse({
    type: CatalogReloadDto,
    description: '`applied`, or `unchanged` when the file says what is in force',
  })
  @ApiDatabaseUnavailable()
  @ApiNoBody('None: the reload reads the file.')
  @ApiOperatorError(
    'The catalog file is invalid or names something this replica cannot serve (every problem is in details), or the request has a body with fields',
    new CatalogReloadRefused('/etc/switchyard/catalog.json', [
      'policies[3].strategy: unknown strategy "fastest" (strategies: cost_first, latency_first, quality_first)',
      'models: "gpt-4.1" is missing, but variant "control" of flag "chat-model" serves it; point the variant at another model (or archive the flag) first',
    ]),
    new InvalidInput([notAField('force')]),
  )
  reload(@Caller() caller: AuthenticatedCaller): Promise<CatalogReloadDto> {
    return this.reloader.reload(caller.actor, 'api');
  }

  @Get('reloads')
  @ApiOperation({ summary: 'Every reload, newest first: who, when, outcome, changes or problems, and each replica' })
  @ApiOkResponse({ type: CatalogReloadPageDto })
  @ApiDatabaseUnavailable()
  @ApiOperatorError('A bad limit or cursor', new InvalidInput(['limit must be an integer between 1 and 200']))
  reloads(@Query() query: CatalogReloadsQueryDto): Promise<CatalogReloadPageDto> {
    return this.reloader.history(query.limit ?? DEFAULT_RELOADS_LIMIT, query.before);
  }
}
