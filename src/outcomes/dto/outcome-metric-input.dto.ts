import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { OptionalDescription, OptionalReason } from '../../common/text-fields';
import { Optional } from '../../common/validation';
import {
  MAX_ATTRIBUTION_WINDOW_SECONDS,
  MAX_OUTCOME_KEY_LENGTH,
  OUTCOME_DIRECTIONS,
  OUTCOME_KEY,
  OUTCOME_TYPES,
  OUTCOME_UNITS,
  type OutcomeDirection,
  type OutcomeType,
  type OutcomeUnit,
} from '../outcome.types';

const KEY_MESSAGE = `key must be lower-case words joined by underscores (a-z, 0-9, _), at most ${MAX_OUTCOME_KEY_LENGTH} characters, e.g. checkout_converted`;
const WINDOW_MESSAGE = `attributionWindowSeconds must be a whole number of seconds from 1 to ${MAX_ATTRIBUTION_WINDOW_SECONDS} (30 days)`;
const TYPE_MESSAGE = `type must be one of: ${OUTCOME_TYPES.join(', ')}`;
const MAX_REASON_LENGTH = 500;
const UNIT_MESSAGE = `unit must be one of: ${OUTCOME_UNITS.join(', ')}`;
const VERSION_MESSAGE = 'version must be the current version of the metric (an integer from 1)';

export class CreateOutcomeMetricDto {
  @ApiProperty({ example: 'checkout_converted', description: 'How events and canaries name the metric' })
  @IsString({ message: KEY_MESSAGE })
  @MaxLength(MAX_OUTCOME_KEY_LENGTH, { message: KEY_MESSAGE })
  @Matches(OUTCOME_KEY, { message: KEY_MESSAGE })
  key: string;

  @OptionalDescription(500, { example: 'The user bought what the recommendations suggested', default: '' })
  description?: string;

  @ApiProperty({
    enum: OUTCOME_TYPES,
    example: 'binary',
    description: 'binary: true/false (or 1/0); numeric: a number',
  })
  @IsIn(OUTCOME_TYPES, { message: TYPE_MESSAGE })
  type: OutcomeType;

  @ApiProperty({ enum: OUTCOME_DIRECTIONS, example: 'higher_is_better' })
  @IsIn(OUTCOME_DIRECTIONS, { message: `direction must be one of: ${OUTCOME_DIRECTIONS.join(', ')}` })
  direction: OutcomeDirection;

  @ApiProperty({
    enum: OUTCOME_UNITS,
    example: 'user',
    description:
      "request: attaches to one request (its x-switchyard-request-id); user: to the user's exposures to the flag within the attribution window",
  })
  @IsIn(OUTCOME_UNITS, { message: UNIT_MESSAGE })
  unit: OutcomeUnit;

  @ApiPropertyOptional({
    example: 86400,
    default: 86400,
    description: 'How long after an exposure an outcome still counts for it (24 h by default)',
  })
  @Optional()
  @IsInt({ message: WINDOW_MESSAGE })
  @Min(1, { message: WINDOW_MESSAGE })
  @Max(MAX_ATTRIBUTION_WINDOW_SECONDS, { message: WINDOW_MESSAGE })
  attributionWindowSeconds?: number;

  @OptionalReason(MAX_REASON_LENGTH, { example: 'Q4 checkout experiment', description: 'Recorded in the history' })
  reason?: string;
}

export class UpdateOutcomeMetricDto {
  @ApiProperty({ example: 1, description: 'The version read (optimistic concurrency): a stale one is refused' })
  @IsInt({ message: VERSION_MESSAGE })
  @Min(1, { message: VERSION_MESSAGE })
  version: number;

  @OptionalDescription(500, { example: 'Bought within a day of the recommendation' })
  description?: string;

  @ApiPropertyOptional({ enum: OUTCOME_DIRECTIONS, example: 'higher_is_better' })
  @Optional()
  @IsIn(OUTCOME_DIRECTIONS, { message: `direction must be one of: ${OUTCOME_DIRECTIONS.join(', ')}` })
  direction?: OutcomeDirection;

  @ApiPropertyOptional({ example: 172800, description: 'Applies to exposures judged from now on' })
  @Optional()
  @IsInt({ message: WINDOW_MESSAGE })
  @Min(1, { message: WINDOW_MESSAGE })
  @Max(MAX_ATTRIBUTION_WINDOW_SECONDS, { message: WINDOW_MESSAGE })
  attributionWindowSeconds?: number;

  @ApiPropertyOptional({
    enum: OUTCOME_TYPES,
    description: 'Fixed at creation: sending a different one is refused, naming it',
  })
  @Optional()
  @IsIn(OUTCOME_TYPES, { message: TYPE_MESSAGE })
  type?: OutcomeType;

  @ApiPropertyOptional({
    enum: OUTCOME_UNITS,
    description: 'Fixed at creation: sending a different one is refused, naming it',
  })
  @Optional()
  @IsIn(OUTCOME_UNITS, { message: UNIT_MESSAGE })
  unit?: OutcomeUnit;

  @OptionalReason(MAX_REASON_LENGTH, { example: 'Conversions arrive later than we thought' })
  reason?: string;
}

export class ArchiveOutcomeMetricDto {
  @OptionalReason(MAX_REASON_LENGTH, { example: 'Experiment over' })
  reason?: string;
}

const BEFORE_MESSAGE = 'before must be a history id (an integer from 1: the nextBefore of the previous page)';

export class OutcomeHistoryQueryDto {
  @ApiPropertyOptional({ type: 'integer', example: 50, default: 50, minimum: 1, maximum: 200 })
  @Optional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer between 1 and 200' })
  @Min(1, { message: 'limit must be an integer between 1 and 200' })
  @Max(200, { message: 'limit must be an integer between 1 and 200' })
  limit?: number;

  @ApiPropertyOptional({ type: 'integer', example: 120, minimum: 1, description: 'Entries older than this history id' })
  @Optional()
  @Type(() => Number)
  @IsInt({ message: BEFORE_MESSAGE })
  @Min(1, { message: BEFORE_MESSAGE })
  @Max(Number.MAX_SAFE_INTEGER, { message: BEFORE_MESSAGE })
  before?: number;
}
