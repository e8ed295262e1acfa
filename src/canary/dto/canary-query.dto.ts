import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsString, Max, Min } from 'class-validator';
import { Optional } from '../../common/validation';
import { IsIntegerBetween } from '../../common/range-validators';
import { CANARY_STATES, type CanaryState } from '../canary.types';

const AFTER_MESSAGE = 'after must be an event id (an integer from 0: the nextAfter of the previous page)';

export class ListCanariesQueryDto {
  @ApiPropertyOptional({ enum: CANARY_STATES })
  @Optional()
  @IsIn(CANARY_STATES, { message: `state must be one of: ${CANARY_STATES.join(', ')}` })
  state?: CanaryState;

  @ApiPropertyOptional({ example: 'recommendations-model', description: 'Only canaries of this flag' })
  @Optional()
  @IsString({ message: 'flagKey must be the key of a flag' })
  @IsNotEmpty({ message: 'flagKey must be the key of a flag; leave it out for every flag' })
  flagKey?: string;
}

export class CanaryEventsQueryDto {
  @ApiPropertyOptional({ type: 'integer', example: 100, default: 100, minimum: 1, maximum: 500 })
  @Optional()
  @Type(() => Number)
  @IsIntegerBetween(1, 500)
  limit?: number;

  @ApiPropertyOptional({
    type: 'integer',
    example: 0,
    minimum: 0,
    description: 'Events after this event id (the nextAfter of the previous page), oldest first',
  })
  @Optional()
  @Type(() => Number)
  @IsInt({ message: AFTER_MESSAGE })
  @Min(0, { message: AFTER_MESSAGE })
  // Event ids are bigints: a larger number would be a database error, not an empty page.
  @Max(Number.MAX_SAFE_INTEGER, { message: AFTER_MESSAGE })
  after?: number;

  @ApiPropertyOptional({
    type: 'integer',
    example: 300,
    minimum: 1,
    maximum: 86_400,
    description:
      'Thins the quiet looks: of the verdicts that decided to wait, only the first in each slice of this many seconds (of the clock, so pages and later polls agree). Every other event, transitions and decisive verdicts included, is always returned. Without it every look is returned: a day of looks every 10 s is 8 640 events',
  })
  @Optional()
  @Type(() => Number)
  @IsIntegerBetween(1, 86_400)
  quietEvery?: number;
}

export class ShadowPairsQueryDto {
  @ApiPropertyOptional({
    enum: ['true', 'false'],
    example: 'true',
    description: 'true: only pairs whose answers, tools or outcomes disagree (the ones that keep their answers)',
  })
  @Optional()
  @IsIn(['true', 'false'], { message: 'disagree must be true or false' })
  disagree?: 'true' | 'false';

  @ApiPropertyOptional({ type: 'integer', example: 20, default: 50, minimum: 1, maximum: 500 })
  @Optional()
  @Type(() => Number)
  @IsIntegerBetween(1, 500)
  limit?: number;
}
