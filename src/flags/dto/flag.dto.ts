import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import type { FlagVariant } from '../flag.types';
import { FlagRuleDto } from './flag-rule.dto';

export class SystemPromptDto {
  @ApiProperty({
    enum: ['prepend', 'replace'],
    example: 'prepend',
    description:
      "prepend: before the caller's messages (its own system messages stay); replace: instead of the caller's system and developer messages",
  })
  mode: 'prepend' | 'replace';

  @ApiProperty({
    example: 'You recommend books. Answer with three titles and one line each.',
    description: 'At most 20000 characters',
  })
  text: string;
}

export class VariantConfigDto {
  @ApiProperty({ example: 'gpt-4.1', description: 'A catalog model id' })
  model: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { temperature: 0.2, max_tokens: 300 },
    description:
      "OpenAI request fields set over the caller's: temperature, top_p, max_tokens, max_completion_tokens, presence_penalty, frequency_penalty, seed, stop, reasoning_effort, verbosity, logit_bias, logprobs, top_logprobs, response_format, service_tier, parallel_tool_calls. Fields the policy forces (quality_first: temperature 0) still win",
  })
  params?: Record<string, unknown>;

  @ApiPropertyOptional({ type: SystemPromptDto })
  systemPrompt?: SystemPromptDto;
}

/** The schema of a flag's `variants`: each a model id or a VariantConfigDto. */
export const VARIANTS_SCHEMA = {
  type: 'object' as const,
  additionalProperties: { oneOf: [{ type: 'string' }, { $ref: getSchemaPath(VariantConfigDto) }] },
};

export const VARIANTS_EXAMPLE = {
  control: 'gpt-4.1',
  treatment: 'deepseek-v3.2',
  'short-prompt': {
    model: 'gpt-4.1',
    params: { temperature: 0.2 },
    systemPrompt: { mode: 'prepend', text: 'Answer in at most three sentences.' },
  },
};

const RULES_EXAMPLE = [
  {
    name: 'sg-enterprise',
    conditions: [{ attribute: 'country', operator: 'in', values: ['SG', 'MY'] }],
    serve: { variant: 'treatment' },
  },
];

/** A flag's stored state on the wire (weights in percent), as history keeps it. */
@ApiExtraModels(VariantConfigDto)
export class FlagSnapshotDto {
  @ApiProperty({ example: 'recommendations-model' })
  key: string;

  @ApiProperty({ example: 'Move product recommendations to DeepSeek' })
  description: string;

  @ApiProperty({ example: true, description: 'The kill switch' })
  enabled: boolean;

  @ApiProperty({
    ...VARIANTS_SCHEMA,
    example: VARIANTS_EXAMPLE,
    description: 'Variant name -> a catalog model id, or { model, params?, systemPrompt? }',
  })
  variants: Record<string, FlagVariant>;

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

/** A flag as the API answers it: its state and the catalog policy that routes by it. */
export class FlagDto extends FlagSnapshotDto {
  @ApiProperty({
    example: 'recommendations',
    nullable: true,
    type: String,
    description: 'The catalog policy whose `flag` this is; null when none is (then it serves no request)',
  })
  policy: string | null;

  @ApiProperty({ example: false, description: 'true: no catalog policy routes by this flag, so it serves no request' })
  unused: boolean;
}

export class CreatedFlagDto extends FlagDto {
  @ApiPropertyOptional({
    type: [String],
    example: [
      'flag "search-model" is used by no policy yet, so it serves no request until a catalog policy names it; the catalog\'s policies and their flags: recommendations → recommendations-model, chat → chat-model, fraud → fraud-model (a policy\'s "flag" in the catalog names the flag it routes by)',
    ],
    description: 'Only when there is something to know, e.g. that no catalog policy routes by the flag yet',
  })
  warnings?: string[];
}

export class FlagHistoryEntryDto {
  @ApiProperty({ example: 42, description: 'Increasing; pass as `before` to page back' })
  id: number;

  @ApiProperty({ example: 'recommendations-model' })
  flagKey: string;

  @ApiProperty({ example: 3, description: 'The flag version this change produced' })
  version: number;

  @ApiProperty({
    enum: ['create', 'update', 'rollout', 'kill', 'enable', 'archive', 'note'],
    example: 'rollout',
    description:
      'note: the flag did not change (same version, before = after); a canary on it was paused or resumed, said in `reason`',
  })
  action: string;

  @ApiProperty({ type: FlagSnapshotDto, nullable: true, description: 'The flag before the change (null for create)' })
  before: FlagSnapshotDto | null;

  @ApiProperty({ type: FlagSnapshotDto, description: 'The flag after the change' })
  after: FlagSnapshotDto;

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

export class FlagPageDto {
  @ApiProperty({ type: [FlagDto], description: 'By key' })
  items: FlagDto[];

  @ApiProperty({
    example: 'recommendations-model',
    nullable: true,
    type: String,
    description: 'Pass as `after` for the next page; null on the last page',
  })
  nextAfter: string | null;
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

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { temperature: 0.2 },
    description: "The variant's params, when it has any",
  })
  params?: Record<string, unknown>;

  @ApiPropertyOptional({ type: SystemPromptDto, description: "The variant's system prompt, when it has one" })
  systemPrompt?: SystemPromptDto;

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
