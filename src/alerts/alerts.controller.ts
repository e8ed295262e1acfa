import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { RequireScope } from '../access/access.decorators';
import { ApiErrorDto } from '../common/api-error.dto';
import { UuidParam } from '../common/uuid-param';
import { AlertsService } from './alerts.service';
import { AlertDetailDto, AlertPageDto } from './dto/alert.dto';
import { DEFAULT_ALERT_PAGE, ListAlertsQueryDto } from './dto/list-alerts-query.dto';

@ApiTags('alerts')
@RequireScope('read')
@Controller('api/alerts')
export class AlertsController {
  constructor(private readonly alerts: AlertsService) {}

  @Get()
  @ApiOperation({ summary: 'Alerts and their delivery state, newest first, paged with `before`' })
  @ApiOkResponse({ type: AlertPageDto })
  @ApiBadRequestResponse({ type: ApiErrorDto, description: 'A bad query value, named in the message' })
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
  @ApiBadRequestResponse({ type: ApiErrorDto })
  @ApiNotFoundResponse({ type: ApiErrorDto })
  get(@UuidParam('id', 'an alert id') id: string) {
    return this.alerts.get(id);
  }
}
