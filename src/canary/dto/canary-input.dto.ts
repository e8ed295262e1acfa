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

export class ShadowStageDto {
  @ApiProperty({
    example: 10,
    description:
      "Share of the flag's users (sticky per user) whose requests are also sent to the candidate, after their answer",
  })
  @IsNumber({ maxDecimalPlaces: 2 }, { message: 'shadow.percentage must be a number with at most 2 decimals' })
  @Min(0.01, { message: 'shadow.percentage must be above 0' })
  @Max(100, { message: 'shadow.percentage must be at most 100' })
  percentage: number;

  @ApiProperty({ example: 3600, description: 'How long the shadow stage runs before it is judged' })
  @IsInt({ message: 'shadow.durationSeconds must be a whole number of seconds' })
  @Min(1, { message: 'shadow.durationSeconds must be at least 1' })
  @Max(30 * 86_400, { message: 'shadow.durationSeconds must be at most 30 days' })
  durationSeconds: number;

  @ApiProperty({
    example: 20,
    description: 'The most the shadow calls may cost (USD, across replicas); reaching it ends the stage early',
  })
  @IsNumber({ maxDecimalPlaces: 6 }, { message: 'shadow.maxSpendUsd must be a number of dollars' })
  @Min(0.000001, { message: 'shadow.maxSpendUsd must be above 0' })
  @Max(1_000_000, { message: 'shadow.maxSpendUsd must be at most 1000000' })
  maxSpendUsd: number;

  @ApiProperty({
    example: 16,
    description: 'Shadow calls in flight per replica; samples beyond it are skipped and counted, never queued',
  })
  @IsInt({ message: 'shadow.maxConcurrency must be an integer between 1 and 1000' })
  @Min(1, { message: 'shadow.maxConcurrency must be an integer between 1 and 1000' })
  @Max(1000, { message: 'shadow.maxConcurrency must be an integer between 1 and 1000' })
  maxConcurrency: number;

  @ApiPropertyOptional({ example: 50, default: 50, description: 'Pairs needed before the stage is judged' })
  @IsOptional()
  @IsInt({ message: 'shadow.minPairs must be an integer between 1 and 1000000' })
  @Min(1, { message: 'shadow.minPairs must be an integer between 1 and 1000000' })
  @Max(1_000_000, { message: 'shadow.minPairs must be an integer between 1 and 1000000' })
  minPairs?: number;

  @ApiPropertyOptional({
    example: 1.5,
    default: 1.5,
    description: "The candidate's median latency over the control's on the same prompts may be at most this",
  })
  @IsOptional()
  @IsNumber({}, { message: 'shadow.maxLatencyRatio must be a number from 1' })
  @Min(1, { message: 'shadow.maxLatencyRatio must be a number from 1' })
  @Max(100, { message: 'shadow.maxLatencyRatio must be at most 100' })
  maxLatencyRatio?: number;

  @ApiPropertyOptional({
    example: 1.5,
    default: 1.5,
    description: "The candidate's mean cost per pair over the control's may be at most this (cost as planned)",
  })
  @IsOptional()
  @IsNumber({}, { message: 'shadow.maxCostRatio must be a positive number' })
  @Min(0.01, { message: 'shadow.maxCostRatio must be a positive number' })
  @Max(1000, { message: 'shadow.maxCostRatio must be at most 1000' })
  maxCostRatio?: number;

  @ApiPropertyOptional({
    example: 0.9,
    nullable: true,
    type: Number,
    description:
      'Share of pairs whose answers must agree (exact after normalisation, or the same tools called); null: not judged',
  })
  @IsOptional()
  @IsNumber({}, { message: 'shadow.minAgreementRate must be a share between 0 and 1' })
  @Min(0, { message: 'shadow.minAgreementRate must be a share between 0 and 1' })
  @Max(1, { message: 'shadow.minAgreementRate must be a share between 0 and 1' })
  minAgreementRate?: number | null;
}

export class GuardrailMarginDto {
  @ApiPropertyOptional({
    example: 0.01,
    description:
      "How much worse than the control, in the metric's own unit: a rate's share (0.01 = 1 percentage point), ms, or $. Exactly one of absolute and relative.",
  })
  absolute?: number;
  @ApiPropertyOptional({
    example: 0.2,
    description: "How much worse than the control, as a share of the control's value (0.2: at most 1.2× for latency)",
  })
  relative?: number;
}

const MARGIN = (example: Record<string, number> | null, description: string) =>
  ApiPropertyOptional({ type: GuardrailMarginDto, nullable: true, example, description: `${description}; null: off` });

/** Each guardrail: how much worse than the control the treatment may be before it is rolled back. */
export class GuardrailsDto {
  @MARGIN(
    { absolute: 0.01 },
    'Failures (5xx, timeouts, broken streams, answers a fallback had to give) per judged request',
  )
  errorRate?: GuardrailMarginDto | null;
  @MARGIN(
    { absolute: 0.01 },
    "Requests the client gave up on before the first byte, after waiting past the control's p95 time to first byte",
  )
  abandonmentRate?: GuardrailMarginDto | null;
  @MARGIN(
    { absolute: 0.01 },
    'Requests the provider refused as invalid (a model that 400s requests the control accepts)',
  )
  invalidRequestRate?: GuardrailMarginDto | null;
  @MARGIN({ relative: 0.2 }, 'Median latency of answers') latencyP50?: GuardrailMarginDto | null;
  @MARGIN({ relative: 0.2 }, 'p95 latency of answers') latencyP95?: GuardrailMarginDto | null;
  @MARGIN({ relative: 0.2 }, 'p99 latency of answers') latencyP99?: GuardrailMarginDto | null;
  @MARGIN({ relative: 0.2 }, 'Median time to first token of streamed answers') ttftP50?: GuardrailMarginDto | null;
  @MARGIN({ relative: 0.2 }, 'p95 time to first token of streamed answers') ttftP95?: GuardrailMarginDto | null;
  @MARGIN(null, 'Cost per judged request, e.g. { "relative": 0.5 } for at most 1.5× the control')
  costPerRequest?: GuardrailMarginDto | null;
}

/** Absolute limits on the treatment alone, off by default; a control past the same limit makes it a hold. */
export class HardGatesDto {
  @ApiPropertyOptional({
    example: null,
    nullable: true,
    type: Number,
    description: 'e.g. 0.05: roll back above a 5% error rate',
  })
  maxErrorRate?: number | null;
  @ApiPropertyOptional({
    example: null,
    nullable: true,
    type: Number,
    description: 'e.g. 5000: roll back when p99 latency is above 5 s',
  })
  maxP99LatencyMs?: number | null;
  @ApiPropertyOptional({ example: null, nullable: true, type: Number }) maxCostPerRequestUsd?: number | null;
}

/** An outcome metric the canary gates on, with how much worse than the control it may be. */
export class OutcomeGateDto {
  @ApiProperty({
    example: 'empty_answer',
    description:
      'A defined outcome metric (GET /api/outcome-metrics) or a built-in answer-quality signal (request-unit, binary: its rate over complete answers, lower is better)',
  })
  metric: string;
  @ApiProperty({
    type: GuardrailMarginDto,
    example: { absolute: 0.005 },
    description:
      'How much worse than the control: { "absolute": 0.005 } = 0.5 percentage points, or { "relative": 0.5 } = 1.5× the control\'s rate',
  })
  margin: GuardrailMarginDto;
}

/** Checked field by field by resolveCanaryAnalysis (libs/stats), which knows the ranges; see docs/statistics.md. */
export class CanaryAnalysisDto {
  @ApiPropertyOptional({
    example: 0.05,
    description:
      "The canary's whole false-rollback budget: the chance of rolling back a treatment within every margin, split over stages and guardrails",
  })
  alpha?: number;
  @ApiPropertyOptional({ example: 200, description: 'Requests each arm needs in a stage before anything is judged' })
  minRequests?: number;
  @ApiPropertyOptional({ type: GuardrailsDto, description: 'Any left out keeps its default' })
  guardrails?: GuardrailsDto;
  @ApiPropertyOptional({ type: HardGatesDto }) hardGates?: HardGatesDto;
  @ApiPropertyOptional({
    type: [OutcomeGateDto],
    example: [{ metric: 'empty_answer', margin: { absolute: 0.005 } }],
    description:
      'Outcome metrics judged like guardrails (anytime-valid, clustered by user, intention to treat); default none',
  })
  outcomes?: OutcomeGateDto[];
  @ApiPropertyOptional({
    example: 'checkout_converted',
    description:
      "One of `outcomes`: each verdict reports the treatment's effect on it with its confidence sequence, and the cost per outcome (e.g. per conversion) of both arms",
  })
  primaryOutcome?: string;
  @ApiPropertyOptional({
    example: 0.001,
    description:
      'A sample-ratio mismatch (users split off the weights in force) below this anytime p-value pauses the canary',
  })
  srmPValue?: number;
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

  @ApiPropertyOptional({
    type: ShadowStageDto,
    description:
      'A shadow stage before the stages: users all stay on the control while a sample of their requests is also sent to the candidate after their answer; the pairs are compared and gate the first stage',
  })
  @IsOptional()
  @IsObject({ message: 'shadow must be an object { percentage, durationSeconds, maxSpendUsd, maxConcurrency }' })
  @ValidateNested()
  @Type(() => ShadowStageDto)
  shadow?: ShadowStageDto;

  @ApiPropertyOptional({ type: CanaryAnalysisDto, description: 'Every field has a default' })
  @IsOptional()
  @IsObject({ message: 'analysis must be an object' })
  analysis?: Record<string, unknown>;

  @ApiPropertyOptional({
    example: 2,
    description:
      "Times a stage's duration may be added while it holds or an arm has too little traffic, before the canary pauses; default CANARY_MAX_STAGE_EXTENSIONS",
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

export class ShadowPairsQueryDto {
  @ApiPropertyOptional({
    enum: ['true', 'false'],
    example: 'true',
    description: 'true: only pairs whose answers, tools or outcomes disagree (the ones that keep their answers)',
  })
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'disagree must be true or false' })
  disagree?: 'true' | 'false';

  @ApiPropertyOptional({ type: 'integer', example: 20, default: 50, minimum: 1, maximum: 500 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer between 1 and 500' })
  @Min(1, { message: 'limit must be an integer between 1 and 500' })
  @Max(500, { message: 'limit must be an integer between 1 and 500' })
  limit?: number;
}
