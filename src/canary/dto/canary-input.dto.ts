import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsObject,
  IsString,
  IsUrl,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { Optional } from '../../common/validation';
import { FLAG_KEY } from '../../flags/dto/flag-input.dto';
import { VARIANT_NAME } from '../../flags/flag-validation';
import { IsIntegerBetween } from '../../common/range-validators';
import { OptionalReason } from '../../common/text-fields';
import { CanaryAnalysisDto } from './canary-analysis.dto';
import { CanaryStageDto, ShadowStageDto } from './canary-stage.dto';

const FLAG_KEY_MESSAGE = 'flagKey must be the key of a flag (a lower-case slug of at most 100 characters)';
const VARIANT_MESSAGE =
  'variant must be the name of a variant of the flag (a lower-case slug of at most 64 characters)';

export class CreateCanaryDto {
  @ApiProperty({ example: 'recommendations-model' })
  @IsString({ message: FLAG_KEY_MESSAGE })
  @Matches(FLAG_KEY, { message: FLAG_KEY_MESSAGE })
  @MaxLength(100, { message: FLAG_KEY_MESSAGE })
  flagKey: string;

  @ApiProperty({
    example: 'treatment',
    description: "The flag variant to roll out; the flag's default variant is the control",
  })
  @IsString({ message: VARIANT_MESSAGE })
  @Matches(VARIANT_NAME, { message: VARIANT_MESSAGE })
  variant: string;

  @ApiPropertyOptional({
    type: [CanaryStageDto],
    description: 'Rising percentages ending at 100; default 5% 1h, 15% 1h, 35% 2h, 65% 2h, 100%',
  })
  @Optional()
  @IsArray({ message: 'stages must be a list of { percentage, durationSeconds }' })
  @ArrayMinSize(1, { message: 'stages must have at least one stage' })
  @ArrayMaxSize(20, { message: 'stages must have at most 20 stages' })
  @ValidateNested({ each: true })
  @Type(() => CanaryStageDto)
  stages?: CanaryStageDto[];

  @ApiPropertyOptional({
    type: ShadowStageDto,
    description:
      'A shadow stage before the stages: users all stay on the control while a sample of their requests is also sent to the candidate after their answer; the pairs are compared and gate the first stage',
  })
  @Optional()
  @IsObject({ message: 'shadow must be an object { percentage, durationSeconds, maxSpendUsd, maxConcurrency }' })
  @ValidateNested()
  @Type(() => ShadowStageDto)
  shadow?: ShadowStageDto;

  @ApiPropertyOptional({ type: CanaryAnalysisDto, description: 'Every field has a default' })
  @Optional()
  @IsObject({ message: 'analysis must be an object' })
  analysis?: Record<string, unknown>;

  @ApiPropertyOptional({
    example: 2,
    description:
      "Times a stage's duration may be added while it holds or an arm has too little traffic, before the canary pauses; default CANARY_MAX_STAGE_EXTENSIONS",
  })
  @Optional()
  @IsIntegerBetween(0, 100)
  maxStageExtensions?: number;

  @ApiPropertyOptional({
    example: 'https://hooks.example.internal/canary',
    description: "This canary's alerts go here instead of ALERT_WEBHOOK_URL",
  })
  @Optional()
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
  @Optional()
  @IsBoolean({ message: 'start must be true or false' })
  start?: boolean;
}

export class CanaryActionDto {
  @OptionalReason(500, {
    example: 'p99 regression seen on the dashboard',
    description: 'Recorded in the event and the flag history',
  })
  reason?: string;
}
