import { ApiExtraModels, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { SystemPromptDto } from '../../flags/dto/flag.dto';

export class PricingDto {
  @ApiProperty({ example: 0.28, description: 'USD per million input tokens' })
  inputPer1M: number;

  @ApiProperty({ example: 0.42, description: 'USD per million output tokens' })
  outputPer1M: number;
}

export class StrategyDto {
  @ApiProperty({ example: 'cost_first' })
  name: string;

  @ApiProperty({ example: 'Fallbacks cheapest first; patient budgets' })
  summary: string;
}

export class BudgetsDto {
  @ApiProperty({ example: 30000, description: 'The whole request, retries and fallbacks included' })
  totalTimeoutMs: number;

  @ApiProperty({ example: 20000, description: 'One upstream call' })
  attemptTimeoutMs: number;

  @ApiProperty({ example: 10000, nullable: true, type: Number, description: 'Streams: time to the first token' })
  firstTokenTimeoutMs: number | null;

  @ApiProperty({ example: 2, description: 'Retries per model after its first call' })
  maxRetriesPerModel: number;

  @ApiProperty({ enum: ['any', 'same_or_higher', 'none'], example: 'any' })
  fallbackTiers: string;
}

export class ModelRefDto {
  @ApiProperty({ example: 'deepseek-v3.2' })
  id: string;

  @ApiProperty({ type: PricingDto })
  pricing: PricingDto;
}

export class TrafficDto {
  @ApiProperty({ example: 1840 })
  requests: number;

  @ApiProperty({ example: 0.0311, description: 'USD at catalog prices' })
  costUsd: number;
}

export class VariantTrafficDto extends TrafficDto {
  @ApiProperty({ example: 0.95, description: "This variant's share of the policy's requests" })
  share: number;
}

export class PolicyVariantDto {
  @ApiProperty({ example: 'control' })
  name: string;

  @ApiProperty({ example: 'deepseek-v3.2' })
  model: string;

  @ApiProperty({ type: PricingDto, nullable: true, description: 'null: the model is not in this catalog' })
  pricing: PricingDto | null;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { temperature: 0.2 } })
  params?: Record<string, unknown>;

  @ApiPropertyOptional({ type: SystemPromptDto })
  systemPrompt?: SystemPromptDto;

  @ApiProperty({ example: true, description: "The flag's default variant (the control of its canaries)" })
  default: boolean;

  @ApiProperty({
    example: 95,
    description: 'Percentage of users the rollout gives it now (rules aside); a disabled flag gives the default 100',
  })
  weight: number;

  @ApiProperty({ type: VariantTrafficDto, description: 'The last hour' })
  lastHour: VariantTrafficDto;
}

export class PolicyFlagDto {
  @ApiProperty({ example: true, description: 'false: the kill switch is on; everyone gets the default variant' })
  enabled: boolean;

  @ApiProperty({ example: 3 })
  version: number;

  @ApiProperty({ example: 'control' })
  defaultVariant: string;

  @ApiProperty({ example: 0, description: 'Targeting rules, which decide before the rollout' })
  rules: number;
}

export class PolicyCanaryDto {
  @ApiProperty({ example: '7c1d2e3f-0000-4000-8000-000000000001' })
  id: string;

  @ApiProperty({ example: 'treatment' })
  variant: string;

  @ApiProperty({ enum: ['pending', 'running', 'paused'], example: 'running' })
  state: string;

  @ApiProperty({ example: 5, nullable: true, type: Number, description: "The current stage's percentage" })
  percentage: number | null;
}

@ApiExtraModels(SystemPromptDto)
export class PolicyDto {
  @ApiProperty({ example: 'recommendations' })
  name: string;

  @ApiProperty({ type: StrategyDto })
  strategy: StrategyDto;

  @ApiProperty({ type: BudgetsDto, description: "The strategy's defaults with the policy's overrides" })
  budgets: BudgetsDto;

  @ApiProperty({ type: ModelRefDto, description: 'Served when the flag does not exist or names no variant' })
  defaultModel: ModelRefDto;

  @ApiProperty({ type: [String], example: ['gemini-2.5-flash', 'gpt-4.1'], description: 'In the order tried' })
  fallback: string[];

  @ApiProperty({ example: 'recommendations-model' })
  flagKey: string;

  @ApiProperty({ type: PolicyFlagDto, nullable: true, description: 'null: no such flag (or archived)' })
  flag: PolicyFlagDto | null;

  @ApiProperty({ type: [PolicyVariantDto] })
  variants: PolicyVariantDto[];

  @ApiProperty({ type: PolicyCanaryDto, nullable: true })
  canary: PolicyCanaryDto | null;

  @ApiProperty({ type: TrafficDto, description: 'The last hour, every variant (and requests without one)' })
  lastHour: TrafficDto;
}

export class PolicyMapDto {
  @ApiProperty({ example: '2026-11-24T16:05:00.000Z', description: 'Start of the traffic window (one hour)' })
  from: string;

  @ApiProperty({ example: '2026-11-24T17:05:00.000Z' })
  to: string;

  @ApiProperty({ type: [PolicyDto] })
  policies: PolicyDto[];
}
