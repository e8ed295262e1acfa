import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../access/access.decorators';
import { ApiDatabaseUnavailable, ApiOperatorError } from '../common/api-error-responses';
import { InvalidInput } from '../common/request-errors';
import { UuidParam } from '../common/uuid-param';
import { AlertNotFound, UnknownAlertCursor } from './alert.errors';
import { AlertsService } from './alerts.service';
import { AlertDetailDto, AlertPageDto } from './dto/alert.dto';
import { DEFAULT_ALERT_PAGE, ListAlertsQueryDto } from './dto/list-alerts-query.dto';

const EXAMPLE_ID = '0b6f3c1e-2f5d-4f7a-9d51-6f0e1c2a7b11';

@ApiTags('alerts')
@RequireScope('read')
@ApiDatabaseUnavailable()
@Controller('api/alerts')
export class AlertsController {
  constructor(private readonly alerts: AlertsService) {}

  @Get()
  @ApiOperation({ summary: 'Alerts and their delivery state, newest first, paged with `before`' })
  @ApiOkResponse({ type: AlertPageDto })
  @ApiOperatorError(
    'A bad query value, named in the message, or a `before` that names no alert',
    new InvalidInput(['status must be one of: pending, delivered, failed, no_target']),
    new UnknownAlertCursor(EXAMPLE_ID),
  )
  list(@Query() query: ListAlertsQueryDto) {
    return this.alerts.list(
      { status: query.status, type: query.type, flagKey: query.flag },
      query.limit ?? DEFAULT_ALERT_PAGE,
      query.before,
    );
  }

  @Get(':id')
  @ApiOperation({ summary: 'One alert with every delivery attempt' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: AlertDetailDto })
  @ApiOperatorError('The id is not a UUID', new InvalidInput(['id must be an alert id (a UUID)'], 'id'))
  @ApiOperatorError('No alert has this id', new AlertNotFound(EXAMPLE_ID))
  get(@UuidParam('id', 'an alert id') id: string) {
    return this.alerts.get(id);
  }
}
