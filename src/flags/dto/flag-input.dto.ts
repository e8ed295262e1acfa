import { ApiExtraModels, ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { PatchType } from '../../common/patch-type';
import { IsIntegerBetween } from '../../common/range-validators';
import { OptionalDescription, OptionalReason } from '../../common/text-fields';
import { Optional } from '../../common/validation';
import { FLAG_ARCHIVED_FILTERS, type FlagArchivedFilter, type FlagVariant } from '../flag.types';
import { FlagRuleDto } from './flag-rule.dto';
import { VARIANTS_EXAMPLE, VARIANTS_SCHEMA, VariantConfigDto } from './flag.dto';

export const FLAG_KEY = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
/** Also the bound of the x-change-reason header: a reason is stored in every history row. */
export const MAX_REASON_LENGTH = 2000;
const REASON_DESCRIPTION = 'Why; also accepted as the x-change-reason header';

const VERSION_MESSAGE = 'version must be the flag version the change is based on (an integer from 1)';
const ROLLOUT_MESSAGE = 'rollout must be an object of variant -> percentage, e.g. { "treatment": 5 }';
const BEFORE_MESSAGE = 'before must be a history id (a positive integer: the nextBefore of the previous page)';
const SALT_NOT_EMPTY =
  'salt must not be empty; leave it out (a new flag is salted with its key, a change keeps the salt)';

const RULES_EXAMPLE = [
  {
    name: 'sg-enterprise',
    conditions: [
      { attribute: 'country', operator: 'in', values: ['SG', 'MY'] },
      { attribute: 'tier', operator: 'equals', values: ['enterprise'] },
    ],
    serve: { variant: 'treatment' },
  },
  {
    name: 'beta-half',
    conditions: [{ attribute: 'cohort', operator: 'starts_with', values: ['beta'] }],
    serve: { rollout: { treatment: 50 } },
  },
];

@ApiExtraModels(VariantConfigDto)
export class CreateFlagDto {
  @ApiProperty({
    example: 'recommendations-model',
    description: 'Lower-case slug (a-z, 0-9, single dashes); never reused, even once archived',
  })
  @Matches(FLAG_KEY, {
    message: 'key must be a lower-case slug (a-z, 0-9 and single dashes), e.g. recommendations-model',
  })
  @MaxLength(100, { message: 'key must be at most 100 characters' })
  key: string;

  @OptionalDescription(2000, { example: 'Move product recommendations to DeepSeek', default: '' })
  description?: string;

  @ApiPropertyOptional({
    example: true,
    default: true,
    description: 'The kill switch: false serves everyone the default variant',
  })
  @Optional()
  @IsBoolean({ message: 'enabled must be true or false' })
  enabled?: boolean;

  @ApiProperty({
    ...VARIANTS_SCHEMA,
    example: VARIANTS_EXAMPLE,
    description:
      "Variant name -> a catalog model id, or { model, params?, systemPrompt? } (params: OpenAI request fields set over the caller's; systemPrompt: { mode: prepend | replace, text })",
  })
  @IsObject({
    message: 'variants must be an object of variant name -> catalog model id, e.g. { "control": "gpt-4.1" }',
  })
  variants: Record<string, FlagVariant>;

  @ApiProperty({
    example: 'control',
    description: 'Served when disabled, when no rule matches and outside the rollout',
  })
  @IsString({ message: 'defaultVariant must be the name of one of the variants' })
  defaultVariant: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'number' },
    example: { treatment: 5 },
    default: {},
    description:
      'Variant -> percentage of users (0-100, up to two decimals, summing to at most 100); the rest gets the default variant',
  })
  @Optional()
  @IsObject({ message: ROLLOUT_MESSAGE })
  rollout?: Record<string, number>;

  @ApiPropertyOptional({
    type: [FlagRuleDto],
    example: RULES_EXAMPLE,
    default: [],
    description: 'Ordered; the first rule whose conditions all hold decides',
  })
  @Optional()
  @IsArray({ message: 'rules must be a list of { name, conditions, serve } (may be empty)' })
  @ValidateNested({ each: true })
  @Type(() => FlagRuleDto)
  rules?: FlagRuleDto[];

  @ApiPropertyOptional({
    example: 'recommendations-model',
    description: 'Bucketing salt; a new flag without one uses its key. Changing it reshuffles every user',
    minLength: 1,
    maxLength: 200,
  })
  @Optional()
  @IsString({ message: 'salt must be a string' })
  @IsNotEmpty({ message: SALT_NOT_EMPTY })
  @MaxLength(200, { message: 'salt must be at most 200 characters' })
  salt?: string;

  @OptionalReason(MAX_REASON_LENGTH, { example: 'Start the DeepSeek experiment', description: REASON_DESCRIPTION })
  reason?: string;
}

export class UpdateFlagDto extends PatchType(OmitType(CreateFlagDto, ['key'] as const)) {
  @ApiProperty({ example: 3, description: 'The version this change is based on; a stale one gets 409' })
  @IsInt({ message: VERSION_MESSAGE })
  @Min(1, { message: VERSION_MESSAGE })
  version: number;
}

export class SetRolloutDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number' },
    example: { treatment: 15 },
    description: 'The whole new rollout: variant -> percentage (0-100, two decimals)',
  })
  @IsObject({ message: ROLLOUT_MESSAGE })
  rollout: Record<string, number>;

  @ApiProperty({ example: 3, description: 'The version this change is based on; a stale one gets 409' })
  @IsInt({ message: VERSION_MESSAGE })
  @Min(1, { message: VERSION_MESSAGE })
  version: number;

  @OptionalReason(MAX_REASON_LENGTH, { example: 'Canary stage 2', description: REASON_DESCRIPTION })
  reason?: string;
}

/** Body of kill/enable/archive. All optional: the kill switch must work without reading the flag first. */
export class FlagToggleDto {
  @ApiPropertyOptional({
    example: 3,
    description: 'When given, a stale version gets 409; when omitted, the switch applies to the current version',
  })
  @Optional()
  @IsInt({ message: VERSION_MESSAGE })
  @Min(1, { message: VERSION_MESSAGE })
  version?: number;

  @OptionalReason(MAX_REASON_LENGTH, { example: 'Error rate spike on deepseek-v3.2', description: REASON_DESCRIPTION })
  reason?: string;
}

export class EvaluateFlagDto {
  @ApiPropertyOptional({
    example: 'user-1234',
    description: 'Sticky identity; without it the bucket is random and the reason says unsticky',
  })
  @Optional()
  @IsString({ message: 'userId must be a string' })
  @IsNotEmpty({ message: 'userId must not be empty; leave it out for an unsticky evaluation' })
  @MaxLength(500, { message: 'userId must be at most 500 characters' })
  userId?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { country: 'SG', tier: 'enterprise' },
  })
  @Optional()
  @IsObject({ message: 'attributes must be an object of attribute name -> string, e.g. { "country": "SG" }' })
  attributes?: Record<string, string>;
}

export const DEFAULT_FLAG_PAGE = 50;
export const MAX_FLAG_PAGE = 200;
const SEARCH_MESSAGE = 'search must be 1 to 100 characters of a key or description';
const AFTER_MESSAGE = 'after must be a flag key (the nextAfter of the previous page)';

export class ListFlagsQueryDto {
  @ApiPropertyOptional({
    enum: FLAG_ARCHIVED_FILTERS,
    default: 'false',
    description: 'false: only active flags; true: only archived ones; all: both',
  })
  @Optional()
  @IsIn(FLAG_ARCHIVED_FILTERS, {
    message: 'archived must be true (only archived flags), false (only active ones) or all',
  })
  archived?: FlagArchivedFilter;

  @ApiPropertyOptional({
    example: 'recommend',
    description: 'Only flags whose key or description holds this text (any letter case)',
  })
  @Optional()
  @IsString({ message: SEARCH_MESSAGE })
  @Length(1, 100, { message: SEARCH_MESSAGE })
  search?: string;

  @ApiPropertyOptional({
    type: 'integer',
    example: DEFAULT_FLAG_PAGE,
    default: DEFAULT_FLAG_PAGE,
    minimum: 1,
    maximum: MAX_FLAG_PAGE,
  })
  @Optional()
  @Type(() => Number)
  @IsIntegerBetween(1, MAX_FLAG_PAGE)
  limit?: number;

  // No example: Swagger UI would pre-fill it, and skip the flags before it.
  @ApiPropertyOptional({ description: 'Flags after this key (the nextAfter of the previous page)' })
  @Optional()
  @Matches(FLAG_KEY, { message: AFTER_MESSAGE })
  @MaxLength(100, { message: AFTER_MESSAGE })
  after?: string;
}

export class HistoryQueryDto {
  @ApiPropertyOptional({ type: 'integer', example: 50, default: 50, minimum: 1, maximum: 200 })
  @Optional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer between 1 and 200' })
  @Min(1, { message: 'limit must be an integer between 1 and 200' })
  @Max(200, { message: 'limit must be an integer between 1 and 200' })
  limit?: number;

  @ApiPropertyOptional({
    type: 'integer',
    example: 120,
    minimum: 1,
    description: 'Entries older than this history id (the nextBefore of the previous page)',
  })
  @Optional()
  @Type(() => Number)
  @IsInt({ message: BEFORE_MESSAGE })
  @Min(1, { message: BEFORE_MESSAGE })
  // History ids are bigints: a larger number would be a database error, not an empty page.
  @Max(Number.MAX_SAFE_INTEGER, { message: BEFORE_MESSAGE })
  before?: number;
}
