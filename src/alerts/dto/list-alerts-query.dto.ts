import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsUUID, Matches, Max, Min } from 'class-validator';
import { Optional } from '../../common/validation';
import { ALERT_STATUSES, ALERT_TYPES, type AlertStatus, type AlertType } from '../alert.types';

export const DEFAULT_ALERT_PAGE = 50;
export const MAX_ALERT_PAGE = 200;

export class ListAlertsQueryDto {
  @ApiPropertyOptional({ enum: ALERT_STATUSES, example: 'failed' })
  @Optional()
  @IsIn(ALERT_STATUSES, { message: `status must be one of: ${ALERT_STATUSES.join(', ')}` })
  status?: AlertStatus;

  @ApiPropertyOptional({ enum: ALERT_TYPES, example: 'canary.rolled_back' })
  @Optional()
  @IsIn(ALERT_TYPES, { message: `type must be one of: ${ALERT_TYPES.join(', ')}` })
  type?: AlertType;

  @ApiPropertyOptional({ example: 'recommendations-model', description: 'Flag key' })
  @Optional()
  @Matches(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, { message: 'flag must be a flag key (a lower-case slug)' })
  flag?: string;

  @ApiPropertyOptional({
    type: 'integer',
    example: DEFAULT_ALERT_PAGE,
    default: DEFAULT_ALERT_PAGE,
    minimum: 1,
    maximum: MAX_ALERT_PAGE,
  })
  @Optional()
  @Type(() => Number)
  @IsInt({ message: `limit must be an integer between 1 and ${MAX_ALERT_PAGE}` })
  @Min(1, { message: `limit must be an integer between 1 and ${MAX_ALERT_PAGE}` })
  @Max(MAX_ALERT_PAGE, { message: `limit must be an integer between 1 and ${MAX_ALERT_PAGE}` })
  limit?: number;

  // No example: Swagger UI would pre-fill it, and an id from another installation names no alert here.
  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Alerts older than this one (the nextBefore of the previous page)',
  })
  @Optional()
  @IsUUID('all', { message: 'before must be an alert id (a UUID)' })
  before?: string;
}
