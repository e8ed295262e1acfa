import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsNumber, IsOptional, Max, Min } from 'class-validator';
import { Optional } from '../../common/validation';
import { IsIntegerBetween, IsNumberWithDecimals } from '../../common/range-validators';

// Messages start with `$property` (the field's name); the operator ValidationPipe widens it to the
// field's path, so `stages[0].percentage` and `shadow.percentage` share one rule and its wording.

/** A share of traffic or users in percent: above 0, at most 100, in steps of 0.01 (a basis point). */
function Percentage(): PropertyDecorator {
  return applyDecorators(
    IsNumberWithDecimals(2, '$property must be a number with at most 2 decimals'),
    Min(0.01, { message: '$property must be above 0' }),
    Max(100, { message: '$property must be at most 100' }),
  );
}

/** Whole seconds from `min` up to 30 days. */
function DurationSeconds(min: 0 | 1): PropertyDecorator {
  return applyDecorators(
    IsInt({ message: '$property must be a whole number of seconds' }),
    Min(min, { message: min === 0 ? '$property must not be negative' : `$property must be at least ${min}` }),
    Max(30 * 86_400, { message: '$property must be at most 30 days' }),
  );
}

const SHARE = { message: '$property must be a share between 0 and 1' };

export class CanaryStageDto {
  @ApiProperty({
    example: 5,
    description: 'Share of traffic (percent, up to 2 decimals) on the treatment during this stage',
  })
  @Percentage()
  percentage: number;

  @ApiProperty({
    example: 3600,
    description: 'How long the stage runs before it may advance; 0 only for the final 100% stage',
  })
  @DurationSeconds(0)
  durationSeconds: number;
}

export class ShadowStageDto {
  @ApiProperty({
    example: 10,
    description:
      "Share of the flag's users (sticky per user) whose requests are also sent to the candidate, after their answer",
  })
  @Percentage()
  percentage: number;

  @ApiProperty({ example: 3600, description: 'How long the shadow stage runs before it is judged' })
  @DurationSeconds(1)
  durationSeconds: number;

  @ApiProperty({
    example: 20,
    description: 'The most the shadow calls may cost (USD, across replicas); reaching it ends the stage early',
  })
  @IsNumberWithDecimals(6, '$property must be a number of dollars')
  @Min(0.000001, { message: '$property must be above 0' })
  @Max(1_000_000, { message: '$property must be at most 1000000' })
  maxSpendUsd: number;

  @ApiProperty({
    example: 16,
    description: 'Shadow calls in flight per replica; samples beyond it are skipped and counted, never queued',
  })
  @IsIntegerBetween(1, 1000)
  maxConcurrency: number;

  @ApiPropertyOptional({ example: 50, default: 50, description: 'Pairs needed before the stage is judged' })
  @Optional()
  @IsIntegerBetween(1, 1_000_000)
  minPairs?: number;

  @ApiPropertyOptional({
    example: 1.5,
    default: 1.5,
    description: "The candidate's median latency over the control's on the same prompts may be at most this",
  })
  @Optional()
  @IsNumber({}, { message: '$property must be a number from 1' })
  @Min(1, { message: '$property must be a number from 1' })
  @Max(100, { message: '$property must be at most 100' })
  maxLatencyRatio?: number;

  @ApiPropertyOptional({
    example: 1.5,
    default: 1.5,
    description: "The candidate's mean cost per pair over the control's may be at most this (cost as planned)",
  })
  @Optional()
  @IsNumber({}, { message: '$property must be a positive number' })
  @Min(0.01, { message: '$property must be a positive number' })
  @Max(1000, { message: '$property must be at most 1000' })
  maxCostRatio?: number;

  @ApiPropertyOptional({
    example: 0.9,
    nullable: true,
    type: Number,
    description:
      'Share of pairs whose answers must agree (exact after normalisation, or the same tools called); null: not judged',
  })
  @IsOptional()
  @IsNumber({}, SHARE)
  @Min(0, SHARE)
  @Max(1, SHARE)
  minAgreementRate?: number | null;
}
