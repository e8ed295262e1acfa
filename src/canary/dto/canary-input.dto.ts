import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { CANARY_STATES, type CanaryState } from '../canary.types';

const AFTER_MESSAGE = 'after must be an event id (an integer from 0: the nextAfter of the previous page)';

export class CanaryStageDto {
  @ApiProperty({
    example: 5,
    description: 'Share of traffic (percent, up to 2 decimals) on the treatment during this stage',
  })
  @IsNumber({ maxDecimalPlaces: 2 }, { message: 'percentage must be a number with at most 2 decimals' })
  @Min(0.01, { message: 'percentage must be above 0' })
  @Max(100, { message: 'percentage must be at most 100' })
  percentage: number;

  @ApiProperty({
    example: 3600,
    description: 'How long the stage runs before it may advance; 0 only for the final 100% stage',
  })
  @IsInt({ message: 'durationSeconds must be a whole number of seconds' })
  @Min(0, { message: 'durationSeconds must not be negative' })
  @Max(30 * 86_400, { message: 'durationSeconds must be at most 30 days' })
  durationSeconds: number;
}

export class StageEndDto {
  @ApiPropertyOptional({ example: 0.01 }) maxErrorRate?: number;
  @ApiPropertyOptional({ example: 500 }) maxAvgLatencyMs?: number;
}

/** Checked field by field by resolveCanaryAnalysis (libs/stats), which knows the ranges. */
export class CanaryAnalysisDto {
  @ApiPropertyOptional({ example: 200, description: 'Requests each arm needs in the window before anything is judged' })
  minRequests?: number;
  @ApiPropertyOptional({
    example: 0.02,
    description: 'During a stage: treatment failure rate above this fails (fraction)',
  })
  maxErrorRate?: number;
  @ApiPropertyOptional({ example: 2000 }) maxP99LatencyMs?: number;
  @ApiPropertyOptional({ type: StageEndDto, description: 'Stricter gates a stage must pass to advance' })
  stageEnd?: StageEndDto;
  @ApiPropertyOptional({
    example: true,
    description: 'Fail error/latency gates only when the treatment is significantly worse than the control',
  })
  compareToControl?: boolean;
  @ApiPropertyOptional({ example: null, nullable: true, type: Number }) maxCostPerRequestUsd?: number | null;
  @ApiPropertyOptional({
    example: null,
    nullable: true,
    type: Number,
    description: "e.g. 1.5: at most 1.5x the control's cost per request",
  })
  maxCostRatioToControl?: number | null;
  @ApiPropertyOptional({ example: 2, description: 'Failed checks in a stage before rollback' })
  failureThreshold?: number;
  @ApiPropertyOptional({ example: 2, description: 'A gate failed by this factor rolls back at once' })
  severeFactor?: number;
  @ApiPropertyOptional({ example: 0.05, description: 'One-sided alpha of the comparisons with the control' })
  significance?: number;
}

export class CreateCanaryDto {
  @ApiProperty({ example: 'recommendations-model' })
  @IsString({ message: 'flagKey must be the key of a flag' })
  @MinLength(1, { message: 'flagKey must be the key of a flag' })
  flagKey: string;

  @ApiProperty({
    example: 'treatment',
    description: "The flag variant to roll out; the flag's default variant is the control",
  })
  @IsString({ message: 'variant must be the name of a variant of the flag' })
  @MinLength(1, { message: 'variant must be the name of a variant of the flag' })
  variant: string;

  @ApiPropertyOptional({
    type: [CanaryStageDto],
    description: 'Rising percentages ending at 100; default 5% 1h, 15% 1h, 35% 2h, 65% 2h, 100%',
  })
  @IsOptional()
  @IsArray({ message: 'stages must be a list of { percentage, durationSeconds }' })
  @ArrayMinSize(1, { message: 'stages must have at least one stage' })
  @ArrayMaxSize(20, { message: 'stages must have at most 20 stages' })
  @ValidateNested({ each: true })
  @Type(() => CanaryStageDto)
  stages?: CanaryStageDto[];

  @ApiPropertyOptional({ type: CanaryAnalysisDto, description: 'Every field has a default' })
  @IsOptional()
  @IsObject({ message: 'analysis must be an object' })
  analysis?: Record<string, unknown>;

  @ApiPropertyOptional({
    example: 2,
    description:
      "Times a stage's duration may be added while an arm has too little traffic, before the canary pauses; default CANARY_MAX_STAGE_EXTENSIONS",
  })
  @IsOptional()
  @IsInt({ message: 'maxStageExtensions must be an integer between 0 and 100' })
  @Min(0, { message: 'maxStageExtensions must be an integer between 0 and 100' })
  @Max(100, { message: 'maxStageExtensions must be an integer between 0 and 100' })
  maxStageExtensions?: number;

  @ApiPropertyOptional({
    example: 'https://hooks.example.internal/canary',
    description: "This canary's alerts go here instead of ALERT_WEBHOOK_URL",
  })
  @IsOptional()
  @IsUrl(
    { protocols: ['http', 'https'], require_protocol: true, require_tld: false },
    { message: 'alertWebhookUrl must be an http(s) URL' },
  )
  alertWebhookUrl?: string;

  @ApiPropertyOptional({
    example: true,
    default: true,
    description: 'false: created pending, started later with POST /api/canaries/:id/start',
  })
  @IsOptional()
  @IsBoolean({ message: 'start must be true or false' })
  start?: boolean;
}

export class CanaryActionDto {
  @ApiPropertyOptional({
    example: 'p99 regression seen on the dashboard',
    description: 'Recorded in the event and the flag history',
  })
  @IsOptional()
  @IsString({ message: 'reason must be a string' })
  @MaxLength(500, { message: 'reason must be at most 500 characters' })
  reason?: string;
}

export class ListCanariesQueryDto {
  @ApiPropertyOptional({ enum: CANARY_STATES })
  @IsOptional()
  @IsIn(CANARY_STATES, { message: `state must be one of: ${CANARY_STATES.join(', ')}` })
  state?: CanaryState;

  @ApiPropertyOptional({ example: 'recommendations-model', description: 'Only canaries of this flag' })
  @IsOptional()
  @IsString({ message: 'flagKey must be the key of a flag' })
  flagKey?: string;
}

export class CanaryEventsQueryDto {
  @ApiPropertyOptional({ type: 'integer', example: 100, default: 100, minimum: 1, maximum: 500 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer between 1 and 500' })
  @Min(1, { message: 'limit must be an integer between 1 and 500' })
  @Max(500, { message: 'limit must be an integer between 1 and 500' })
  limit?: number;

  @ApiPropertyOptional({
    type: 'integer',
    example: 0,
    minimum: 0,
    description: 'Events after this event id (the nextAfter of the previous page), oldest first',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: AFTER_MESSAGE })
  @Min(0, { message: AFTER_MESSAGE })
  // Event ids are bigints: a larger number would be a database error, not an empty page.
  @Max(Number.MAX_SAFE_INTEGER, { message: AFTER_MESSAGE })
  after?: number;
}
