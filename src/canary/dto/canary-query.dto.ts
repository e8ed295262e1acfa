import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsString, IsUUID, Matches, Max, Min } from 'class-validator';
import { Optional } from '../../common/validation';
import { IsIntegerBetween } from '../../common/range-validators';
import { FLAG_KEY } from '../../flags/dto/flag-input.dto';
import { CANARY_STATES } from '../canary.types';

const AFTER_MESSAGE = 'after must be an event id (an integer from 0: the nextAfter of the previous page)';

export const DEFAULT_CANARY_PAGE = 50;
export const MAX_CANARY_PAGE = 200;
const STATE_WORD = `(?:active|ended|${CANARY_STATES.join('|')})`;
const STATE_FILTER = new RegExp(`^${STATE_WORD}(?:,${STATE_WORD})*$`);

export class ListCanariesQueryDto {
  @ApiPropertyOptional({
    example: 'running,paused',
    description: `Only canaries in these states, separated by commas: ${CANARY_STATES.join(', ')}, or active (pending, running, paused) and ended (promoted, rolled_back, aborted)`,
  })
  @Optional()
  @Matches(STATE_FILTER, {
    message: `state must be active, ended or a state (${CANARY_STATES.join(', ')}), several separated by commas`,
  })
  state?: string;

  @ApiPropertyOptional({ example: 'recommendations-model', description: 'Only canaries of this flag' })
  @Optional()
  @IsString({ message: 'flagKey must be the key of a flag' })
  @IsNotEmpty({ message: 'flagKey must be the key of a flag; leave it out for every flag' })
  @Matches(FLAG_KEY, { message: 'flagKey must be the key of a flag (a lower-case slug)' })
  flagKey?: string;

  @ApiPropertyOptional({
    type: 'integer',
    example: DEFAULT_CANARY_PAGE,
    default: DEFAULT_CANARY_PAGE,
    minimum: 1,
    maximum: MAX_CANARY_PAGE,
  })
  @Optional()
  @Type(() => Number)
  @IsIntegerBetween(1, MAX_CANARY_PAGE)
  limit?: number;

  // No example: Swagger UI would pre-fill it, and an id from another installation names no canary here.
  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Canaries created before this one (the nextBefore of the previous page)',
  })
  @Optional()
  @IsUUID('all', { message: 'before must be a canary id (a UUID: the nextBefore of the previous page)' })
  before?: string;
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
      'Thins the quiet looks: of the verdicts that decided to wait (or to judge an extended stage on), only the first in each slice of this many seconds (of the clock, so pages and later polls agree). Every other event, transitions and decisive verdicts included, is always returned. Without it every look is returned: a day of looks every 10 s is 8 640 events',
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
