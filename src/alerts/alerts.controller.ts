import { BadRequestException, Controller, Get, Param, ParseUUIDPipe, Query } from '@nestjs/common';
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
import { AlertsService } from './alerts.service';
import { AlertDetailDto, AlertPageDto } from './dto/alert.dto';
import { DEFAULT_ALERT_PAGE, ListAlertsQueryDto } from './dto/list-alerts-query.dto';

const alertId = new ParseUUIDPipe({
  exceptionFactory: () => new BadRequestException('id must be an alert id (a UUID)'),
});

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
  get(@Param('id', alertId) id: string) {
    return this.alerts.get(id);
  }
}
