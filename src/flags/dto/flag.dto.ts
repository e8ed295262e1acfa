import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { FlagRuleDto } from './flag-rule.dto';

const RULES_EXAMPLE = [
  {
    name: 'sg-enterprise',
    conditions: [{ attribute: 'country', operator: 'in', values: ['SG', 'MY'] }],
    serve: { variant: 'treatment' },
  },
];

/** A flag on the wire: weights in percent. */
export class FlagDto {
  @ApiProperty({ example: 'recommendations-model' })
  key: string;

  @ApiProperty({ example: 'Move product recommendations to DeepSeek' })
  description: string;

  @ApiProperty({ example: true, description: 'The kill switch' })
  enabled: boolean;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { control: 'gpt-4.1', treatment: 'deepseek-v3.2' },
  })
  variants: Record<string, string>;

  @ApiProperty({ example: 'control' })
  defaultVariant: string;

  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' }, example: { treatment: 5 } })
  rollout: Record<string, number>;

  @ApiProperty({ type: [FlagRuleDto], example: RULES_EXAMPLE })
  rules: FlagRuleDto[];

  @ApiProperty({ example: 'recommendations-model' })
  salt: string;

  @ApiProperty({ example: 3, description: 'Starts at 1, +1 on every change; send it back with the next change' })
  version: number;

  @ApiProperty({ example: '2026-11-24T17:00:00.000Z' })
  createdAt: string;

  @ApiProperty({ example: '2026-11-24T17:05:00.000Z' })
  updatedAt: string;

  @ApiProperty({ example: null, nullable: true, type: String })
  archivedAt: string | null;
}

export class FlagHistoryEntryDto {
  @ApiProperty({ example: 42, description: 'Increasing; pass as `before` to page back' })
  id: number;

  @ApiProperty({ example: 'recommendations-model' })
  flagKey: string;

  @ApiProperty({ example: 3, description: 'The flag version this change produced' })
  version: number;

  @ApiProperty({ enum: ['create', 'update', 'rollout', 'kill', 'enable', 'archive'], example: 'rollout' })
  action: string;

  @ApiProperty({ type: FlagDto, nullable: true, description: 'The flag before the change (null for create)' })
  before: FlagDto | null;

  @ApiProperty({ type: FlagDto, description: 'The flag after the change' })
  after: FlagDto;

  @ApiProperty({ example: 'alice@example.com' })
  actor: string;

  @ApiProperty({ enum: ['api', 'canary', 'guardrail'], example: 'api' })
  source: string;

  @ApiProperty({ example: 'Canary stage 2', nullable: true, type: String })
  reason: string | null;

  @ApiProperty({ example: '2026-11-24T17:05:00.000Z' })
  at: string;
}

export class FlagHistoryPageDto {
  @ApiProperty({ type: [FlagHistoryEntryDto], description: 'Newest first' })
  items: FlagHistoryEntryDto[];

  @ApiProperty({
    example: 40,
    nullable: true,
    type: Number,
    description: 'Pass as `before` for the next page; null on the last page',
  })
  nextBefore: number | null;
}

export class FlagEvaluationDto {
  @ApiProperty({ example: 'recommendations-model' })
  flag: string;

  @ApiProperty({ example: 3, description: 'Version of the flag that was evaluated' })
  version: number;

  @ApiProperty({ example: 'treatment' })
  variant: string;

  @ApiProperty({ example: 'deepseek-v3.2' })
  model: string;

  @ApiProperty({ example: 412, description: 'murmur3_32(salt:userId) mod 10000' })
  bucket: number;

  @ApiProperty({
    example: 'rollout',
    description: 'disabled | rule:<name> | rollout | default; suffixed " (unsticky)" without a userId',
  })
  reason: string;

  @ApiPropertyOptional({ example: true, description: 'false when no userId was given (random bucket)' })
  sticky: boolean;
}
